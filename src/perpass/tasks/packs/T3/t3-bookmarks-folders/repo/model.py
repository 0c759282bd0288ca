"""A bookmark."""

from dataclasses import dataclass


@dataclass
class Bookmark:
    url: str
    title: str
