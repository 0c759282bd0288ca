"""Parse human durations into seconds."""

from tokens import tokenize

SECONDS_PER_UNIT = {"h": 3600, "m": 1, "s": 1}


def parse_duration(text: str) -> int:
    return sum(amount * SECONDS_PER_UNIT[unit] for amount, unit in tokenize(text))
