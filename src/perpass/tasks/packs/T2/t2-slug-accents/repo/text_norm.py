"""Text normalisation helpers."""

import unicodedata


def strip_accents(text: str) -> str:
    """'Crème' -> 'Creme': decompose, then drop the combining marks."""
    decomposed = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
