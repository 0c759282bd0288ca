"""`perpass hw`, `fit`, `shortlist` through the real command line: JSON shapes, plan file, exit codes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_perpass

from perpass.cli.hw import scoped_hardware
from perpass.endpoints.routes import load_routes
from perpass.hardware import detect, detect_hardware, hardware_of_profile, load_catalog, shortlist


def perpass(*args: str) -> subprocess.CompletedProcess[str]:
    return run_perpass(*args, timeout=60)


def perpass_json(*args: str) -> Any:
    done = perpass(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_hw_json_shape_for_this_machine() -> None:
    data = perpass_json("hw")
    assert {"cpu", "cores", "memory_gb", "available_gb", "gpus", "bandwidth_gbs", "profile"} <= data.keys()
    assert data["cores"] >= 1 and data["memory_gb"] > 0 and 0 < data["available_gb"] <= data["memory_gb"]
    assert data["bandwidth_gbs"] > 0  # from a profile, or measured when none matches


def test_hw_json_for_a_profile() -> None:
    data = perpass_json("hw", "--profile", "m4-max-128")
    assert data["profile"] == "m4-max-128"
    assert data["bandwidth_gbs"] == 546
    assert data["usable_gb"] == 96.0  # Apple: 75 % of RAM for the GPU by default


def test_fit_json_shape() -> None:
    data = perpass_json("fit", "gpt-oss-120b", "--profile", "gb10", "--context", "131072")
    assert {
        "fits",
        "weights_gb",
        "kv_gb",
        "overhead_gb",
        "usable_gb",
        "max_context",
        "decode_tok_s_est",
    } <= data.keys()
    assert data["fits"] is True and data["max_context"] == 131072
    no = perpass_json(
        "fit",
        "qwen2.5-coder-32b",
        "--profile",
        "rtx-4090",
        "--context",
        "131072",
        "--quant",
        "Q4_K_M",
        "--kv-type",
        "f16",
    )
    assert no["fits"] is False


def test_shortlist_json_and_plan(tmp_path: Path) -> None:
    plan = tmp_path / "routes.yaml"
    data = perpass_json(
        "shortlist",
        "--profile",
        "rtx-4090",
        "--tier",
        "T3",
        "--context",
        "16384",
        "--write-plan",
        str(plan),
        "--hardware-price",
        "1800",
    )
    names = [m["name"] for m in data["models"]]
    assert names and "gpt-oss-120b" not in names
    actives = [m["active_params_b"] for m in data["models"]]
    assert actives == sorted(actives)
    assert all(m["max_context"] >= 16384 for m in data["models"])
    routes = load_routes(plan)  # the written file is a valid routes.yaml
    local = [r for r in routes.values() if r.kind == "local" and r.gguf and r.gguf.startswith("REPLACE-ME")]
    assert len(local) == len(names)
    assert all(r.serving.n_ctx == 16384 and r.local_costs and r.local_costs.watts == 450 for r in local)
    assert {r.local_costs.hardware_price for r in local if r.local_costs} == {1800}


def test_tiers_move_the_floor() -> None:
    catalog = load_catalog()
    gb10 = hardware_of_profile(catalog.profile("gb10"))
    t1 = [c.name for c in shortlist(catalog, gb10, "T1", 8192).models]
    t3 = [c.name for c in shortlist(catalog, gb10, "T3", 8192).models]
    assert "qwen2.5-coder-1.5b" in t1 and "qwen2.5-coder-1.5b" not in t3
    assert "smollm2-135m" not in t1
    assert t1[0] == "qwen2.5-coder-1.5b"  # smallest active params first


def test_this_machine_scope_is_quick_and_sane() -> None:
    start = time.perf_counter()
    hw = detect_hardware(load_catalog())
    assert time.perf_counter() - start < 10  # a bandwidth copy of 64 MiB at most, never a long benchmark
    assert hw.usable_bytes > 0
    assert hw.memory_kind in {"ram", "vram", "unified", "apple_unified"}
    assert 0 < hw.available_gb <= hw.memory_gb and hw.bandwidth_gbs and hw.bandwidth_gbs > 0


def test_a_named_profile_measures_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_measurement(*args: object, **kwargs: object) -> float:
        raise AssertionError("bandwidth measured for a named profile")

    monkeypatch.setattr(detect, "measure_bandwidth_gbs", no_measurement)
    hw = scoped_hardware(load_catalog(), "gb10")
    assert hw.profile == "gb10" and hw.bandwidth_source == "catalog profile gb10"
    unmeasured = detect_hardware(load_catalog(), measure=False)
    assert unmeasured.bandwidth_gbs is None or unmeasured.profile is not None


@pytest.mark.parametrize(
    "args",
    [
        ("hw", "--profile", "gb11"),
        ("fit", "gpt-oss-20b", "--context", "-1"),
        ("fit", "no-such-model"),
        ("fit", "gpt-oss-20b", "--kv-type", "f8"),
        ("shortlist", "--tier", "T9"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: tuple[str, ...]) -> None:
    done = perpass(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().startswith("error:") and len(done.stderr.strip().splitlines()) <= 2


def test_not_a_gguf_exits_2(tmp_path: Path) -> None:
    bogus = tmp_path / "x.gguf"
    bogus.write_text("hello")
    done = perpass("fit", str(bogus))
    assert done.returncode == 2 and "not a GGUF" in done.stderr
