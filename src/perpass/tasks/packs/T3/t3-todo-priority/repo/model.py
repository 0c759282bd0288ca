"""The todo item."""

from dataclasses import dataclass


@dataclass
class Todo:
    id: int
    title: str
    done: bool = False

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("a todo needs a title")
