"""Fit and speed estimates against the published figures in ../shared/REFERENCE.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from perpass.errors import UserError
from perpass.hardware import EFFICIENCY_BAND, fit, load_catalog, local_costs_for, resolve_spec
from perpass.hardware.fit import FitResult, max_context
from perpass.hardware.roofline import decode_tok_s

CATALOG = load_catalog()


def fit_on(model: str, profile: str, context: int, quant: str | None = None) -> FitResult:
    p = CATALOG.profile(profile)
    return fit(resolve_spec(CATALOG, model, quant), profile, p.usable_bytes, p.bandwidth_gbs, context)


def test_gpt_oss_120b_fits_gb10_not_rtx_4090() -> None:
    on_gb10 = fit_on("gpt-oss-120b", "gb10", 131072)
    assert on_gb10.fits and on_gb10.status == "fits"
    assert on_gb10.memory.weights_bytes == 59 * (1 << 30)
    assert on_gb10.max_context == 131072
    on_4090 = fit_on("gpt-oss-120b", "rtx-4090", 131072)
    assert not on_4090.fits and on_4090.max_context == 0


def test_qwen25_coder_32b_q4km_on_24gb() -> None:
    assert not fit_on("qwen2.5-coder-32b", "rtx-4090", 131072, "Q4_K_M").fits
    small = fit_on("qwen2.5-coder-32b", "rtx-4090", 8192, "Q4_K_M")
    assert small.fits
    assert 8192 <= small.max_context < 131072


def test_sliding_window_layers_hold_only_the_window() -> None:
    # gpt-oss: 18 of 36 layers slide over 128 tokens, so KV is about half of an all-full model.
    kv = fit_on("gpt-oss-120b", "gb10", 131072).memory.kv_bytes
    all_full = 36 * 131072 * 8 * (64 + 64) * 2
    assert all_full * 0.5 < kv < all_full * 0.51


# llama.cpp on DGX Spark (GB10, 273 GB/s), tg32 tok/s (REFERENCE.md "Speed (roofline)").
GB10_DECODE = [
    ("gpt-oss-20b", "MXFP4", 84.1),
    ("gpt-oss-120b", "MXFP4", 59.0),
    ("qwen3-coder-30b-a3b", "Q8_0", 60.9),
    ("qwen2.5-coder-7b", "Q8_0", 29.3),
]


@pytest.mark.parametrize(("model", "quant", "measured"), GB10_DECODE)
def test_roofline_within_efficiency_band(model: str, quant: str, measured: float) -> None:
    spec = resolve_spec(CATALOG, model, quant)
    pure = decode_tok_s(273, spec.active_bytes_per_token, 0, efficiency=1.0)
    lo, hi = EFFICIENCY_BAND
    assert lo <= measured / pure <= hi
    assert fit_on(model, "gb10", 32, quant).decode_tok_s_est == pytest.approx(measured, rel=0.12)


def test_max_context_is_the_edge() -> None:
    spec = resolve_spec(CATALOG, "qwen2.5-coder-32b", "Q4_K_M")
    usable = CATALOG.profile("rtx-4090").usable_bytes
    edge = max_context(spec, usable)
    assert fit(spec, "x", usable, 1008, edge).fits
    assert not fit(spec, "x", usable, 1008, edge + 256).fits


def test_user_catalog_adds_entries_and_checks_them(tmp_path: Path) -> None:
    mine = tmp_path / "perpass-catalog.yaml"
    mine.write_text("profiles:\n  my-box:\n    memory_gb: 64\n    bandwidth_gbs: 100\n    power_w: 90\n")
    cat = load_catalog(mine)
    assert cat.profile("my-box").usable_bytes == int(64 * 0.9 * (1 << 30))
    assert "gb10" in cat.profiles
    bad = tmp_path / "bad.yaml"
    bad.write_text("profiles:\n  zero:\n    memory_gb: 64\n    bandwidth_gbs: 0\n")
    with pytest.raises(UserError, match=r"bad.yaml:4: profiles.zero.bandwidth_gbs"):
        load_catalog(bad)


def test_bad_inputs() -> None:
    with pytest.raises(UserError, match="unknown hardware profile"):
        CATALOG.profile("gb11")
    with pytest.raises(UserError, match="unknown model"):
        resolve_spec(CATALOG, "gpt-5")
    with pytest.raises(UserError, match="unknown quant"):
        resolve_spec(CATALOG, "qwen2.5-coder-7b", "Q9_X")
    with pytest.raises(UserError, match="positive"):
        fit_on("gpt-oss-20b", "gb10", 0)
    with pytest.raises(UserError, match="bandwidth"):
        decode_tok_s(0, 1000)


def test_local_costs_from_profile() -> None:
    costs = local_costs_for("rtx-4090", 2500)
    assert (costs.watts, costs.hardware_price) == (450, 2500)
    assert local_costs_for("gb10").hardware_price == 4000
    with pytest.raises(UserError):
        local_costs_for("gb10", -1)
