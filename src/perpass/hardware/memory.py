"""Memory a llama.cpp server needs: weights + KV cache + compute buffers + process runtime.

Formulas (../shared/REFERENCE.md "Memory fit", checked against llama.cpp's own log lines and the
measured RSS of the embedded model; see docs/hardware.md):
- KV cache = sum over layers of cells x n_kv_heads x (d_k + d_v) x bytes per element, with
  cells = n_ctx (the total over parallel slots) padded to 256, and for sliding-window layers
  min(n_ctx, window x n_parallel + n_ubatch), as llama.cpp sizes its SWA cache.
- Compute buffer (what llama.cpp reserves): the larger of the logits of one micro-batch
  (n_ubatch x n_vocab x 4) and, without flash attention, the attention scores
  (n_ubatch x n_ctx x n_head x 4), plus activations (n_ubatch x n_embd x 4 x 8).
- Runtime: the server process itself (Python + llama-cpp-python's HTTP server, or llama-server).
- Logits history: llama-cpp-python's server keeps logits for every token in the context
  (logits_all=True by default): n_ctx x n_vocab x 4 bytes, filled as the context grows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from perpass.errors import UserError
from perpass.hardware.gguf_meta import GgufInfo, read_gguf

KvType = Literal["f16", "q8_0", "q4_0"]
KV_BYTES_PER_ELEMENT: dict[str, float] = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
N_UBATCH = 512  # llama.cpp's default micro-batch
CTX_PAD = 256  # llama.cpp pads the KV cache to a multiple of 256 cells
ACTIVATION_FACTOR = 8  # activation tensors alive at once, in units of n_ubatch x n_embd floats
# Resident memory of the server process before any model data: measured on this project's
# 2-core box for llama-cpp-python 0.3 (Python, uvicorn, llama.cpp runtime, warm-up scratch:
# 226 MiB RSS at n_ctx 512 minus 92 MiB weights and 11 MiB KV); llama-server is a guess from
# its binary size plus scratch. Override with runtime_bytes= when you have a measurement.
RUNTIME_BYTES = {"llama-cpp-python": 120 << 20, "llama-server": 40 << 20}


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs of a model, from a GGUF file or the catalog."""

    n_layers: int
    n_kv_heads: list[int]
    head_dim_k: int
    head_dim_v: int
    n_head: int
    n_embd: int
    n_vocab: int
    sliding_window: int | None
    sliding_layer_ids: frozenset[int]


@dataclass(frozen=True)
class MemoryEstimate:
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    runtime_bytes: int
    logits_bytes: int  # llama-cpp-python's logits history at a full context (0 for llama-server)
    overhead_bytes: int  # compute + runtime + logits history
    total_bytes: int  # weights + kv + overhead: the most the server can hold at a full context

    @property
    def resident_bytes(self) -> int:
        """What a freshly started server holds (RSS) before its context fills: weights, KV, runtime."""
        return self.weights_bytes + self.kv_bytes + self.runtime_bytes

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "resident_bytes": self.resident_bytes}


def check_context(n_ctx: int) -> None:
    if n_ctx <= 0:
        raise UserError(f"context must be a positive number of tokens, got {n_ctx}; e.g. --context 32768")


def check_kv_type(kv_type: str) -> None:
    if kv_type not in KV_BYTES_PER_ELEMENT:
        raise UserError(f"unknown KV cache type '{kv_type}'; use one of {', '.join(KV_BYTES_PER_ELEMENT)}")


def _pad(n: int) -> int:
    return -(-n // CTX_PAD) * CTX_PAD


def kv_cache_bytes(shape: ModelShape, n_ctx: int, kv_type: str = "f16", n_parallel: int = 1) -> int:
    check_context(n_ctx)
    check_kv_type(kv_type)
    if n_parallel < 1:
        raise UserError(f"parallel slots must be at least 1, got {n_parallel}")
    cells_full = _pad(n_ctx)
    total = 0.0
    for layer in range(shape.n_layers):
        cells = cells_full
        if shape.sliding_window and layer in shape.sliding_layer_ids:
            cells = min(cells_full, _pad(shape.sliding_window * n_parallel + N_UBATCH))
        heads = shape.n_kv_heads[layer] if layer < len(shape.n_kv_heads) else shape.n_kv_heads[-1]
        total += cells * heads * (shape.head_dim_k + shape.head_dim_v) * KV_BYTES_PER_ELEMENT[kv_type]
    return int(total)


def compute_buffer_bytes(shape: ModelShape, n_ctx: int, flash_attn: bool) -> int:
    logits = N_UBATCH * shape.n_vocab * 4
    scores = 0 if flash_attn else N_UBATCH * _pad(n_ctx) * shape.n_head * 4
    return max(logits, scores) + N_UBATCH * shape.n_embd * 4 * ACTIVATION_FACTOR


def sliding_layer_ids(n_layers: int, full_every: int | None, count: int = 0) -> frozenset[int]:
    """Layers with a sliding window: of each `full_every` layers the last is full (llama.cpp's
    swa pattern), or, from a catalog count, every other layer starting at 0."""
    if full_every:
        return frozenset(i for i in range(n_layers) if (i + 1) % full_every != 0)
    if count:
        step = max(n_layers // count, 1)
        return frozenset(range(0, n_layers, step)[:count])
    return frozenset()


def shape_of_gguf(info: GgufInfo, architectures: dict[str, dict[str, object]] | None = None) -> ModelShape:
    arch = (architectures or {}).get(info.architecture, {})
    full_every = arch.get("swa_full_every")
    window = info.sliding_window
    ids = (
        sliding_layer_ids(info.n_layers, int(full_every) if isinstance(full_every, int) else None)
        if window
        else frozenset()
    )
    return ModelShape(
        info.n_layers,
        info.n_kv_heads,
        info.head_dim_k,
        info.head_dim_v,
        info.n_head,
        info.n_embd,
        info.n_vocab,
        window,
        ids,
    )


def estimate_memory(
    shape: ModelShape,
    weights_bytes: int,
    n_ctx: int,
    kv_type: str = "f16",
    n_parallel: int = 1,
    *,
    server: str = "llama-cpp-python",
    flash_attn: bool | None = None,
    logits_all: bool | None = None,
    runtime_bytes: int | None = None,
) -> MemoryEstimate:
    """The breakdown for one model shape. Defaults follow how perpass starts each server:
    llama-cpp-python gets flash attention only with a quantized KV cache and keeps all logits;
    llama-server uses flash attention (its default `-fa auto` on GPU and CPU) and keeps none."""
    if server not in RUNTIME_BYTES:
        raise UserError(f"unknown server '{server}'; use one of {', '.join(RUNTIME_BYTES)}")
    if flash_attn is None:
        flash_attn = server == "llama-server" or kv_type != "f16"
    if logits_all is None:
        logits_all = server == "llama-cpp-python"
    kv = kv_cache_bytes(shape, n_ctx, kv_type, n_parallel)
    compute = compute_buffer_bytes(shape, n_ctx, flash_attn)
    runtime = RUNTIME_BYTES[server] if runtime_bytes is None else runtime_bytes
    logits = _pad(n_ctx) * shape.n_vocab * 4 if logits_all else 0
    overhead = compute + runtime + logits
    return MemoryEstimate(
        weights_bytes, kv, compute, runtime, logits, overhead, weights_bytes + kv + overhead
    )


def estimate_gguf_memory(
    path: Path, n_ctx: int, kv_type: str = "f16", n_parallel: int = 1, **options: Any
) -> MemoryEstimate:
    """Memory a server for the GGUF at `path` needs at `n_ctx`, from the file's real metadata.
    `options`: estimate_memory's keyword options (server, flash_attn, logits_all, runtime_bytes).

    For the runs OOM guard: compare `total_bytes` with MemAvailable (CPU / unified memory) or
    free VRAM before starting the server. UserError if the file is not GGUF or is truncated.
    """
    from perpass.hardware.catalog import load_catalog

    check_context(n_ctx)  # before reading the file: a bad argument is named first
    check_kv_type(kv_type)
    info = read_gguf(Path(path))
    shape = shape_of_gguf(info, load_catalog().architectures)
    return estimate_memory(shape, info.weights_bytes, n_ctx, kv_type, n_parallel, **options)
