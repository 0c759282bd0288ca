"""Notes are stored as a JSON object: {"next_id": N, "notes": [...]}."""

import json
from pathlib import Path

from model import Note


class NoteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.next_id = 1
        self.notes: list[Note] = []
        if path.exists():
            data = json.loads(path.read_text())
            self.next_id = data["next_id"]
            self.notes = [Note(id=n["id"], text=n["text"]) for n in data["notes"]]

    def add(self, text: str) -> Note:
        note = Note(id=self.next_id, text=text)
        self.next_id += 1
        self.notes.append(note)
        return note

    def delete(self, note_id: int) -> bool:
        before = len(self.notes)
        self.notes = [n for n in self.notes if n.id != note_id]
        return len(self.notes) != before

    def save(self) -> None:
        data = {"next_id": self.next_id, "notes": [{"id": n.id, "text": n.text} for n in self.notes]}
        self.path.write_text(json.dumps(data, indent=2))
