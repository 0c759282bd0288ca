"""Split a duration like '1h30m' into (amount, unit) pairs."""

import re

TOKEN = re.compile(r"(\d)\s*([hms])")


def tokenize(text: str) -> list[tuple[int, str]]:
    cleaned = text.strip().lower()
    pairs = [(int(amount), unit) for amount, unit in TOKEN.findall(cleaned)]
    if not pairs or TOKEN.sub("", cleaned).strip():
        raise ValueError(f"not a duration: {text!r}")
    return pairs
