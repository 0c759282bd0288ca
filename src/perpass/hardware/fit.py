"""Fit and speed estimates for a model x quant x context x KV type x parallel slots on a machine.

Fits when weights + KV cache + compute buffers + a 1 GiB margin <= usable memory; "tight" when
that leaves less than 10 % of usable memory free. Models are served by llama-server with flash
attention (llama.cpp's default) for catalog fits; a GGUF path uses its real metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from perpass.errors import UserError
from perpass.hardware.catalog import GIB, Catalog, ModelEntry
from perpass.hardware.gguf_meta import read_gguf
from perpass.hardware.memory import (
    CTX_PAD,
    MemoryEstimate,
    ModelShape,
    check_context,
    check_kv_type,
    estimate_memory,
    shape_of_gguf,
    sliding_layer_ids,
)
from perpass.hardware.roofline import decode_tok_s

MARGIN_BYTES = 1 * GIB
TIGHT_FREE_FRACTION = 0.10
Status = Literal["fits", "tight", "does not fit"]


@dataclass(frozen=True)
class ModelSpec:
    """A model ready for estimates: its shape, weight bytes and bytes read per decoded token."""

    name: str
    quant: str
    shape: ModelShape
    weights_bytes: int
    active_bytes_per_token: int
    active_params_b: float
    total_params_b: float
    native_context: int


@dataclass(frozen=True)
class FitResult:
    model: str
    quant: str
    profile: str
    context: int
    kv_type: str
    n_parallel: int
    status: Status
    memory: MemoryEstimate
    usable_bytes: int
    max_context: int
    decode_tok_s_est: float | None

    @property
    def fits(self) -> bool:
        return self.status != "does not fit"

    def to_dict(self) -> dict[str, object]:
        m = self.memory
        return {
            "model": self.model,
            "quant": self.quant,
            "profile": self.profile,
            "context": self.context,
            "kv_type": self.kv_type,
            "n_parallel": self.n_parallel,
            "fits": self.fits,
            "status": self.status,
            "weights_gb": round(m.weights_bytes / GIB, 2),
            "kv_gb": round(m.kv_bytes / GIB, 2),
            "overhead_gb": round((m.overhead_bytes + MARGIN_BYTES) / GIB, 2),
            "needed_gb": round(needed_bytes(m) / GIB, 2),
            "usable_gb": round(self.usable_bytes / GIB, 2),
            "max_context": self.max_context,
            "decode_tok_s_est": None if self.decode_tok_s_est is None else round(self.decode_tok_s_est, 1),
        }


def spec_from_catalog(catalog: Catalog, name: str, quant: str | None = None) -> ModelSpec:
    model: ModelEntry = catalog.model(name)
    quant = quant or model.default_quant
    bpw = catalog.bpw(model, quant)
    qspec = model.quants.get(quant)
    weights = (
        int(qspec.file_gib * GIB) if qspec and qspec.file_gib else int(model.total_params_b * 1e9 * bpw / 8)
    )
    active_bpw = qspec.active_bpw if qspec and qspec.active_bpw else bpw
    shape = ModelShape(
        n_layers=model.n_layers,
        n_kv_heads=[model.n_kv_heads],
        head_dim_k=model.head_dim,
        head_dim_v=model.head_dim_v or model.head_dim,
        n_head=model.n_kv_heads,
        n_embd=model.n_embd,
        n_vocab=model.n_vocab,
        sliding_window=model.sliding_window,
        sliding_layer_ids=sliding_layer_ids(model.n_layers, None, model.sliding_layers),
    )
    return ModelSpec(
        name,
        quant,
        shape,
        weights,
        int(model.active_params_b * 1e9 * active_bpw / 8),
        model.active_params_b,
        model.total_params_b,
        model.native_context,
    )


def spec_from_gguf(path: Path, catalog: Catalog) -> ModelSpec:
    info = read_gguf(path)
    return ModelSpec(
        path.name,
        info.file_type,
        shape_of_gguf(info, catalog.architectures),
        info.weights_bytes,
        info.active_bytes_per_token,
        info.active_params / 1e9,
        info.params / 1e9,
        info.context_length or 0,
    )


def resolve_spec(catalog: Catalog, model: str, quant: str | None = None) -> ModelSpec:
    """A catalog name, or a path to a GGUF file (anything ending in .gguf or an existing file)."""
    if model in catalog.models:
        return spec_from_catalog(catalog, model, quant)
    path = Path(model).expanduser()
    if model.lower().endswith(".gguf") or path.is_file():
        return spec_from_gguf(path, catalog)
    return spec_from_catalog(catalog, model, quant)  # raises the unknown-model UserError


def needed_bytes(memory: MemoryEstimate) -> int:
    return memory.weights_bytes + memory.kv_bytes + memory.compute_bytes + MARGIN_BYTES


def _memory(spec: ModelSpec, n_ctx: int, kv_type: str, n_parallel: int) -> MemoryEstimate:
    # Device memory only: the server's own process lives in host RAM, and llama-server keeps no
    # logits history. On CPU / unified machines that runtime is small next to the 1 GiB margin.
    return estimate_memory(
        spec.shape, spec.weights_bytes, n_ctx, kv_type, n_parallel, server="llama-server", runtime_bytes=0
    )


def status_of(need: int, usable: int) -> Status:
    if need > usable:
        return "does not fit"
    return "tight" if usable - need < TIGHT_FREE_FRACTION * usable else "fits"


def max_context(spec: ModelSpec, usable: int, kv_type: str = "f16", n_parallel: int = 1) -> int:
    """Largest context (a multiple of 256, at most the model's native context) that fits; 0 if none."""
    ceiling = spec.native_context or 1 << 20
    lo, hi = 0, ceiling // CTX_PAD
    while lo < hi:  # binary search: memory grows with context
        mid = (lo + hi + 1) // 2
        if needed_bytes(_memory(spec, mid * CTX_PAD, kv_type, n_parallel)) <= usable:
            lo = mid
        else:
            hi = mid - 1
    return lo * CTX_PAD


def fit(
    spec: ModelSpec,
    profile_name: str,
    usable: int,
    bandwidth_gbs: float | None,
    n_ctx: int,
    kv_type: str = "f16",
    n_parallel: int = 1,
    efficiency: float | None = None,
) -> FitResult:
    check_context(n_ctx)
    check_kv_type(kv_type)
    if usable <= 0:
        raise UserError(f"usable memory must be positive, got {usable} bytes; check the profile's memory_gb")
    memory = _memory(spec, n_ctx, kv_type, n_parallel)
    speed = None
    if bandwidth_gbs is not None:
        speed = decode_tok_s(bandwidth_gbs, spec.active_bytes_per_token, memory.kv_bytes, efficiency)
    return FitResult(
        spec.name,
        spec.quant,
        profile_name,
        n_ctx,
        kv_type,
        n_parallel,
        status_of(needed_bytes(memory), usable),
        memory,
        usable,
        max_context(spec, usable, kv_type, n_parallel),
        speed,
    )
