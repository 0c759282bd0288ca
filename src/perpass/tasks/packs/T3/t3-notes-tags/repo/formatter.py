"""Text output."""

from model import Note


def format_note(note: Note) -> str:
    return f"{note.id}: {note.text}"


def format_notes(notes: list[Note]) -> str:
    return "\n".join(format_note(n) for n in notes)
