"""GGUF metadata and memory estimates against the embedded SmolLM2 file."""

from __future__ import annotations

from pathlib import Path

import pytest

from perpass.config import embedded_gguf
from perpass.errors import UserError
from perpass.hardware import estimate_gguf_memory, read_gguf

MIB = 1 << 20


pytestmark = pytest.mark.needs_local  # reads the embedded SmolLM2 GGUF


@pytest.fixture(scope="module")
def smol() -> Path:
    return embedded_gguf()


def test_metadata_of_embedded_model(smol: Path) -> None:
    info = read_gguf(smol)
    assert info.architecture == "llama"
    assert info.n_layers == 30
    assert info.n_kv_heads == [3] * 30
    assert (info.head_dim_k, info.head_dim_v) == (64, 64)
    assert info.context_length == 8192
    assert info.n_vocab == 49152
    assert info.file_type == "Q4_1"
    # Tensor data is the whole file less its header (metadata + vocabulary, a few MB).
    size = smol.stat().st_size
    assert size - 8 * MIB < info.weights_bytes < size
    assert 130e6 < info.params < 140e6
    assert info.active_bytes_per_token == info.weights_bytes  # dense, tied embeddings: all read per token


def test_kv_cache_matches_llama_cpp_formula(smol: Path) -> None:
    # llama.cpp logs "KV buffer size = 180.00 MiB" for this file at n_ctx 8192 with f16.
    assert estimate_gguf_memory(smol, 8192).kv_bytes == 30 * 8192 * 3 * (64 + 64) * 2 == 180 * MIB
    assert estimate_gguf_memory(smol, 2048).kv_bytes == 45 * MIB
    q8 = estimate_gguf_memory(smol, 8192, kv_type="q8_0").kv_bytes
    assert q8 == pytest.approx(180 * MIB * 34 / 64)
    # Contexts are padded to 256 cells like llama.cpp does.
    assert estimate_gguf_memory(smol, 8000).kv_bytes == 180 * MIB


def test_breakdown_adds_up(smol: Path) -> None:
    est = estimate_gguf_memory(smol, 4096)
    assert est.total_bytes == est.weights_bytes + est.kv_bytes + est.overhead_bytes
    assert est.overhead_bytes == est.compute_bytes + est.runtime_bytes + est.logits_bytes
    # llama-cpp-python keeps logits for every context token (n_ctx x n_vocab x 4).
    assert est.logits_bytes == 4096 * 49152 * 4
    assert estimate_gguf_memory(smol, 4096, server="llama-server").logits_bytes == 0


def test_not_gguf_is_a_user_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(UserError, match="not a GGUF file"):
        read_gguf(bogus)


@pytest.mark.parametrize("keep", [64, 2 * MIB])
def test_truncated_gguf_is_a_user_error(smol: Path, tmp_path: Path, keep: int) -> None:
    cut = tmp_path / "cut.gguf"
    with smol.open("rb") as f:
        cut.write_bytes(f.read(keep))  # 64 bytes: header cut; 2 MiB: tensor data cut
    with pytest.raises(UserError, match="truncated"):
        estimate_gguf_memory(cut, 2048)


def test_missing_file_and_bad_sizes(smol: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(UserError, match="positive"):
        estimate_gguf_memory(smol, -1)
    with pytest.raises(UserError, match="KV cache type"):
        estimate_gguf_memory(smol, 2048, kv_type="f8")
