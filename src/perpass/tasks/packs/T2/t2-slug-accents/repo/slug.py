"""URL slugs for page titles."""

import re


def slugify(title: str) -> str:
    lowered = title.lower()
    kept = re.sub(r"[^a-z0-9 ]", "", lowered)
    return kept.strip().replace(" ", "-")
