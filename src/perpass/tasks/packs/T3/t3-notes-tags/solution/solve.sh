set -e
cat > model.py <<'PY'
"""A note."""

from dataclasses import dataclass, field


def clean_tags(tags: list[str]) -> list[str]:
    return sorted({t.strip().lower() for t in tags if t.strip()})


@dataclass
class Note:
    id: int
    text: str
    tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tags = clean_tags(self.tags)
PY
python - <<'PY'
from pathlib import Path
path = Path("storage.py")
text = path.read_text()
text = text.replace('Note(id=n["id"], text=n["text"])', 'Note(id=n["id"], text=n["text"], tags=n.get("tags", []))')
text = text.replace("    def add(self, text: str) -> Note:\n        note = Note(id=self.next_id, text=text)",
                    "    def add(self, text: str, tags: list[str] | None = None) -> Note:\n"
                    "        note = Note(id=self.next_id, text=text, tags=tags or [])")
text = text.replace('[{"id": n.id, "text": n.text} for n in self.notes]',
                    '[{"id": n.id, "text": n.text, "tags": n.tags} for n in self.notes]')
path.write_text(text)
PY
cat > formatter.py <<'PY'
"""Text output."""

from collections import Counter

from model import Note


def format_note(note: Note) -> str:
    tags = "".join(f" #{t}" for t in note.tags)
    return f"{note.id}: {note.text}{tags}"


def format_notes(notes: list[Note]) -> str:
    return "\n".join(format_note(n) for n in notes)


def format_tag_counts(notes: list[Note]) -> str:
    counts = Counter(t for n in notes for t in n.tags)
    return "\n".join(f"{tag}: {count}" for tag, count in sorted(counts.items()))
PY
python - <<'PY'
from pathlib import Path
path = Path("cli.py")
text = path.read_text()
text = text.replace("from formatter import format_notes", "from formatter import format_notes, format_tag_counts")
text = text.replace('    commands.add_parser("add").add_argument("text")\n    commands.add_parser("list")\n',
                    '    add = commands.add_parser("add")\n'
                    '    add.add_argument("text")\n'
                    '    add.add_argument("--tag", action="append", default=[])\n'
                    '    commands.add_parser("list").add_argument("--tag")\n'
                    '    commands.add_parser("tags")\n')
text = text.replace("note = store.add(args.text)", "note = store.add(args.text, args.tag)")
text = text.replace("        output = format_notes(store.notes)\n",
                    "        notes = store.notes\n"
                    "        if args.tag:\n"
                    "            notes = [n for n in notes if args.tag.lower() in n.tags]\n"
                    "        output = format_notes(notes)\n")
text = text.replace('    elif args.command == "delete":\n',
                    '    elif args.command == "tags":\n'
                    '        output = format_tag_counts(store.notes)\n'
                    '        if output:\n'
                    '            print(output)\n'
                    '    elif args.command == "delete":\n')
path.write_text(text)
PY
cat > tests/test_tags.py <<'PY'
from pathlib import Path

import pytest

from cli import main


def test_tags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "n.json")
    main(["--db", db, "add", "a", "--tag", "X"])
    capsys.readouterr()
    main(["--db", db, "tags"])
    assert capsys.readouterr().out == "x: 1\n"
PY
python -m pytest -q tests
