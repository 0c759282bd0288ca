"""What a GGUF file says about its model: layers, KV heads, head sizes, windows, tensor bytes.

The header is parsed here, with the `gguf` package's ggml type table for tensor sizes: the
package's own GGUFReader builds a numpy view for every vocabulary string and takes ~4 s on the
135M embedded model (longer on 200K-token vocabularies), while this reads only what memory
estimates need in ~0.1 s. A file that is not GGUF, or is cut short, becomes a one-line UserError.
"""

from __future__ import annotations

import math
import mmap
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perpass.errors import UserError

GGUF_MAGIC = b"GGUF"
KEEP_ARRAY_ITEMS = 4096  # per-layer arrays are kept; vocabularies are only counted
# GGUF value types (gguf.GGUFValueType) and their struct formats.
STRING, ARRAY = 8, 9
SCALAR_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<idx>\d{5})-of-(?P<count>\d{5})\.gguf$")


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    architecture: str
    name: str
    file_type: str
    n_layers: int
    n_head: int
    n_kv_heads: list[int]  # per layer (most files state one number for all)
    head_dim_k: int
    head_dim_v: int
    n_embd: int
    n_vocab: int
    context_length: int
    sliding_window: int | None
    n_expert: int
    n_expert_used: int
    weights_bytes: int  # all tensor data, over every split file
    params: int
    active_bytes_per_token: int  # weight bytes one decoded token reads (MoE: only the used experts)
    active_params: int

    @property
    def bpw(self) -> float:
        return self.weights_bytes * 8 / self.params if self.params else 0.0


@dataclass
class _Tensor:
    name: str
    shape: list[int]
    n_elements: int
    n_bytes: int
    data_offset: int


@dataclass
class _Header:
    fields: dict[str, Any]
    tensors: list[_Tensor]


class _Cursor:
    """Reads little-endian GGUF values from a memory map, never past its end."""

    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        value = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return value[0]

    def string(self) -> str:
        n = self.unpack("Q")
        if self.pos + n > len(self.buf):
            raise struct.error("string past end of file")
        text = bytes(self.buf[self.pos : self.pos + n]).decode("utf-8", errors="replace")
        self.pos += n
        return text

    def skip_string(self) -> None:
        length = self.unpack("Q")  # not `self.pos += self.unpack(...)`: that adds to the old pos
        self.pos += length

    def value(self, vtype: int) -> Any:
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            item_type, count = self.unpack("I"), self.unpack("Q")
            if item_type in SCALAR_FORMATS and count <= KEEP_ARRAY_ITEMS:
                return [self.unpack(SCALAR_FORMATS[item_type]) for _ in range(count)]
            # Long arrays (tokenizer vocab, merges) are skipped: only their length matters here.
            if item_type in SCALAR_FORMATS:
                self.pos += count * struct.calcsize(SCALAR_FORMATS[item_type])
            elif item_type == STRING:
                for _ in range(count):
                    self.skip_string()
            else:
                for _ in range(count):
                    self.value(item_type)
            return _Skipped(count)
        if vtype not in SCALAR_FORMATS:
            raise struct.error(f"unknown GGUF value type {vtype}")
        return self.unpack(SCALAR_FORMATS[vtype])


@dataclass
class _Skipped:
    count: int


def _parse_header(path: Path, buf: mmap.mmap) -> _Header:
    import gguf  # for the ggml type table only; imported late (it pulls numpy, ~0.2 s)

    cur = _Cursor(buf)
    cur.pos = 4
    version = cur.unpack("I")
    if version < 2:
        raise UserError(f"{path}: GGUF version {version} is too old for llama.cpp; convert it again")
    n_tensors, n_kv = cur.unpack("Q"), cur.unpack("Q")
    fields: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        fields[key] = cur.value(cur.unpack("I"))
    infos = []
    for _ in range(n_tensors):
        name = cur.string()
        shape = [cur.unpack("Q") for _ in range(cur.unpack("I"))]
        ggml_type, offset = cur.unpack("I"), cur.unpack("Q")
        infos.append((name, shape, ggml_type, offset))
    alignment = int(fields.get("general.alignment", 32))
    data_start = -(-cur.pos // alignment) * alignment
    tensors = []
    for name, shape, ggml_type, offset in infos:
        try:
            block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)]
        except (ValueError, KeyError):
            raise UserError(
                f"{path}: tensor {name} has ggml type {ggml_type} unknown to the installed "
                "gguf package; upgrade it (pip install -U gguf)"
            ) from None
        n_elements = math.prod(shape)
        tensors.append(_Tensor(name, shape, n_elements, n_elements // block * type_size, data_start + offset))
    return _Header(fields, tensors)


def _open(path: Path) -> _Header:
    if not path.is_file():
        raise UserError(f"GGUF file not found: {path}")
    size = path.stat().st_size
    with path.open("rb") as f:
        magic = f.read(4)
        if magic != GGUF_MAGIC:
            raise UserError(
                f"{path}: not a GGUF file (starts with {magic!r}, expected b'GGUF'); pass a .gguf model file"
            )
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            try:
                header = _parse_header(path, buf)
            except (struct.error, IndexError, OverflowError, MemoryError) as err:
                raise UserError(
                    f"{path}: truncated or corrupt GGUF header ({err}); re-download the file"
                ) from None
    end = max((t.data_offset + t.n_bytes for t in header.tensors), default=0)
    if end > size:
        raise UserError(
            f"{path}: truncated GGUF: tensor data ends at byte {end} but the file has {size}; "
            "re-download the file"
        )
    return header


def _field(header: _Header, key: str, default: Any = None) -> Any:
    value = header.fields.get(key, default)
    return default if isinstance(value, _Skipped) else value


def _array_len(header: _Header, key: str) -> int:
    value = header.fields.get(key)
    if isinstance(value, _Skipped):
        return value.count
    return len(value) if isinstance(value, list) else 0


def _split_files(path: Path) -> list[Path]:
    """All parts of a split GGUF (model-00001-of-00003.gguf ...), or just `path`."""
    m = SPLIT_RE.match(path.name)
    if not m:
        return [path]
    count = int(m["count"])
    parts = [path.with_name(f"{m['stem']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise UserError(f"{path}: split GGUF is missing {', '.join(missing)}; put all parts in one folder")
    return parts


def _active_bytes(tensors: list[_Tensor], n_expert: int, n_used: int) -> tuple[int, int]:
    """Weight bytes and params read per decoded token.

    Expert tensors (`*_exps`) count for n_used/n_expert of their size; the token embedding counts
    one row unless it doubles as the output matrix (no `output.weight`), which reads all of it.
    """
    names = {t.name for t in tensors}
    tied = "output.weight" not in names
    total_bytes = total_params = 0
    for t in tensors:
        nbytes, nparams = t.n_bytes, t.n_elements
        if "_exps" in t.name and n_expert > 0:
            nbytes, nparams = nbytes * n_used // n_expert, nparams * n_used // n_expert
        elif t.name == "token_embd.weight" and not tied:
            rows = t.shape[-1] if len(t.shape) > 1 else 1
            nbytes, nparams = nbytes // max(rows, 1), nparams // max(rows, 1)
        total_bytes += nbytes
        total_params += nparams
    return total_bytes, total_params


def read_gguf(path: Path) -> GgufInfo:
    """Parse the metadata and tensor table of a GGUF file (and of its split siblings)."""
    path = Path(path).expanduser()
    parts = _split_files(path)
    headers = [_open(p) for p in parts]
    first = next((h for h in headers if "general.architecture" in h.fields), headers[0])
    arch = _field(first, "general.architecture")
    if not arch:
        raise UserError(f"{path}: GGUF without general.architecture; not a model file llama.cpp can load")
    a = str(arch)

    def need(key: str) -> Any:
        value = _field(first, f"{a}.{key}")
        if value is None:
            raise UserError(f"{path}: GGUF lacks {a}.{key}; cannot estimate its memory")
        return value

    n_layers = int(need("block_count"))
    n_head_raw = need("attention.head_count")
    n_head = int(max(n_head_raw) if isinstance(n_head_raw, list) else n_head_raw)
    kv_raw = _field(first, f"{a}.attention.head_count_kv", n_head)
    n_kv = [int(v) for v in kv_raw] if isinstance(kv_raw, list) else [int(kv_raw)] * n_layers
    n_embd = int(need("embedding_length"))
    head_k = int(_field(first, f"{a}.attention.key_length", n_embd // max(n_head, 1)))
    head_v = int(_field(first, f"{a}.attention.value_length", head_k))
    n_vocab = int(_field(first, f"{a}.vocab_size", 0) or _array_len(first, "tokenizer.ggml.tokens"))
    window = _field(first, f"{a}.attention.sliding_window")
    n_expert = int(_field(first, f"{a}.expert_count", 0) or 0)
    n_used = int(_field(first, f"{a}.expert_used_count", 0) or 0)
    tensors = [t for h in headers for t in h.tensors]
    active_bytes, active_params = _active_bytes(tensors, n_expert, n_used)
    file_type = _field(first, "general.file_type")
    return GgufInfo(
        path=path,
        architecture=a,
        name=str(_field(first, "general.name", path.stem)),
        file_type=_file_type_name(file_type),
        n_layers=n_layers,
        n_head=n_head,
        n_kv_heads=n_kv,
        head_dim_k=head_k,
        head_dim_v=head_v,
        n_embd=n_embd,
        n_vocab=n_vocab,
        context_length=int(_field(first, f"{a}.context_length", 0) or 0),
        sliding_window=int(window) if window else None,
        n_expert=n_expert,
        n_expert_used=n_used,
        weights_bytes=sum(t.n_bytes for t in tensors),
        params=sum(t.n_elements for t in tensors),
        active_bytes_per_token=active_bytes,
        active_params=active_params,
    )


def _file_type_name(value: Any) -> str:
    if value is None:
        return "unknown"
    try:
        import gguf

        return gguf.LlamaFileType(int(value)).name.removeprefix("MOSTLY_")
    except (ValueError, ImportError):
        return str(value)
