set -e
python - <<'PY'
from pathlib import Path
path = Path("blog.py")
text = path.read_text()
old = 'def make_post(title: str, tags: list[str] = []) -> dict:\n    return {"title": title, "tags": tags}'
new = ('def make_post(title: str, tags: list[str] | None = None) -> dict:\n'
       '    return {"title": title, "tags": list(tags) if tags else []}')
assert old in text
path.write_text(text.replace(old, new))
PY
