set -e
sed -i 's/unicodedata.normalize("NFC", text)/unicodedata.normalize("NFD", text)/' text_norm.py
cat > slug.py <<'PY'
"""URL slugs for page titles."""

import re

from text_norm import strip_accents


def slugify(title: str) -> str:
    lowered = strip_accents(title).lower()
    return re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")
PY
python -m pytest -q tests
