"""What every importer shares: its options, its report, the Protocol."""


from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol


@dataclass
class ImportReport:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (exercise, why)


@dataclass(frozen=True)
class ImportOptions:
    hide_tests: bool = False  # hold the tests back where the source shows them to the student


class Importer(Protocol):
    name: ClassVar[str]

    def convert(self, source: Path, out: Path, options: ImportOptions, report: ImportReport) -> None:
        """Write one task folder per usable exercise under `out`, recording each skip and its reason."""
        ...

