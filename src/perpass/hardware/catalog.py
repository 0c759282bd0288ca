"""The catalog: hardware profiles, models and task tiers, loaded from YAML data files.

The built-in files live in `perpass/hardware/catalog/`; a user file (same shape, any subset of
`profiles:`, `models:`, `tiers:`) adds entries or replaces built-in ones by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perpass.config import load_yaml, validation_error
from perpass.errors import UserError

GIB = 1 << 30
USER_CATALOG_NAME = "perpass-catalog.yaml"  # picked up from the current folder when present
_T = TypeVar("_T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GpuSpec(_Strict):
    name: str
    memory_gb: float = Field(gt=0)


class HardwareProfile(_Strict):
    name: str = ""
    description: str = ""
    memory_gb: float = Field(gt=0)
    memory_kind: Literal["vram", "unified", "apple_unified", "ram"] = "unified"
    usable_fraction: float = Field(0.9, gt=0, le=1)
    bandwidth_gbs: float = Field(gt=0)
    power_w: float | None = Field(None, ge=0)
    price_usd: float | None = Field(None, ge=0)
    gpus: list[GpuSpec] = []
    match: list[str] = []

    @property
    def usable_bytes(self) -> int:
        return int(self.memory_gb * self.usable_fraction * GIB)


class QuantSpec(_Strict):
    bpw: float | None = Field(None, gt=0, le=32)
    file_gib: float | None = Field(None, gt=0)
    active_bpw: float | None = Field(None, gt=0, le=32)


class ModelEntry(_Strict):
    name: str = ""
    hf: str = ""
    license: str = ""
    total_params_b: float = Field(gt=0)
    active_params_b: float = Field(gt=0)
    n_layers: int = Field(gt=0)
    n_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    head_dim_v: int | None = Field(None, gt=0)
    sliding_window: int | None = Field(None, gt=0)
    sliding_layers: int = Field(0, ge=0)
    n_embd: int = Field(gt=0)
    n_vocab: int = Field(gt=0)
    native_context: int = Field(gt=0)
    quants: dict[str, QuantSpec] = Field(min_length=1)

    @property
    def default_quant(self) -> str:
        return next(iter(self.quants))


class Tier(_Strict):
    description: str = ""
    min_total_params_b: float = Field(0, ge=0)


class CatalogFile(_Strict):
    profiles: dict[str, HardwareProfile] = {}
    models: dict[str, ModelEntry] = {}
    tiers: dict[str, Tier] = {}
    default_bpw: dict[str, float] = {}
    architectures: dict[str, dict[str, Any]] = {}


@dataclass
class Catalog:
    profiles: dict[str, HardwareProfile] = field(default_factory=dict)
    models: dict[str, ModelEntry] = field(default_factory=dict)
    tiers: dict[str, Tier] = field(default_factory=dict)
    default_bpw: dict[str, float] = field(default_factory=dict)
    architectures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def merge(self, other: CatalogFile) -> None:
        for name, profile in other.profiles.items():
            self.profiles[name] = profile.model_copy(update={"name": name})
        for name, model in other.models.items():
            self.models[name] = model.model_copy(update={"name": name})
        self.tiers.update(other.tiers)
        self.default_bpw.update(other.default_bpw)
        self.architectures.update(other.architectures)

    def profile(self, name: str) -> HardwareProfile:
        return _lookup(self.profiles, name, "hardware profile", f" (add your own under 'profiles:' in "
                       f"{USER_CATALOG_NAME})")

    def model(self, name: str) -> ModelEntry:
        return _lookup(self.models, name, "model", f" (or pass a GGUF file path; add models under 'models:' in "
                       f"{USER_CATALOG_NAME})")

    def tier(self, name: str) -> Tier:
        return _lookup(self.tiers, name, "tier")

    def bpw(self, model: ModelEntry, quant: str) -> float:
        """Bits per weight of `quant` for `model`: the model's own figure, else the default table."""
        spec = model.quants.get(quant, QuantSpec())
        if spec.bpw:
            return spec.bpw
        if spec.file_gib:
            return spec.file_gib * GIB * 8 / (model.total_params_b * 1e9)
        if quant.upper() in self.default_bpw:
            return self.default_bpw[quant.upper()]
        known = ", ".join(self.default_bpw)
        raise UserError(f"unknown quant '{quant}'; known quants: {known}")


def _lookup(table: dict[str, _T], name: str, what: str, hint: str = "") -> _T:
    """table[name], or a UserError naming every known entry (and where to add one)."""
    if name not in table:
        known = ", ".join(sorted(table))
        raise UserError(f"unknown {what} '{name}'; known {what.rsplit(' ', 1)[-1]}s: {known}{hint}")
    return table[name]


def _parse(path: Path, data: Any) -> CatalogFile:
    if data is None:
        return CatalogFile()
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping with profiles:, models: and/or tiers:")
    try:
        return CatalogFile(**data)
    except ValidationError as err:
        raise validation_error(path, err) from None
    except TypeError as err:  # e.g. a key that is not a string
        raise UserError(f"{path}: {err}") from None


@cache
def _builtin() -> tuple[CatalogFile, ...]:
    folder = resources.files("perpass.hardware") / "catalog"
    files = []
    for name in ("hardware.yaml", "models.yaml", "tiers.yaml", "architectures.yaml"):
        with resources.as_file(folder / name) as path:
            files.append(_parse(path, load_yaml(path)))
    return tuple(files)


def load_catalog(user_file: Path | None = None) -> Catalog:
    """Built-in catalog, plus `user_file` (or ./perpass-catalog.yaml when it exists)."""
    catalog = Catalog()
    for part in _builtin():
        catalog.merge(part)
    if user_file is None and Path(USER_CATALOG_NAME).is_file():
        user_file = Path(USER_CATALOG_NAME)
    if user_file is not None:
        catalog.merge(_parse(user_file, load_yaml(user_file)))
    return catalog
