"""What this machine has: CPU, memory, GPUs, and the memory bandwidth decode speed depends on.

Linux: /proc/cpuinfo, and RAM through psutil (/proc/meminfo); NVIDIA GPUs through nvidia-ml-py (pynvml) when it is
installed (optional); macOS: sysctl (Apple unified memory, GPU working set ~75 % of RAM by
default). Bandwidth comes from the catalog profile that matches a detected GPU/chip name, else
from a quick single-thread copy benchmark (a lower bound; see measure_bandwidth_gbs).
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perpass.hardware.catalog import GIB, Catalog, HardwareProfile

APPLE_GPU_FRACTION = 0.75  # macOS default GPU working-set cap (iogpu.wired_limit_mb raises it)
BANDWIDTH_BUFFER_BYTES = 64 << 20


@dataclass
class Gpu:
    name: str
    memory_gb: float


@dataclass
class Hardware:
    cpu: str
    cores: int
    memory_gb: float
    available_gb: float
    gpus: list[Gpu]
    bandwidth_gbs: float | None
    profile: str | None
    usable_gb: float
    memory_kind: str  # vram | unified | apple_unified | ram
    bandwidth_source: str
    power_w: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def usable_bytes(self) -> int:
        return int(self.usable_gb * GIB)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("memory_gb", "available_gb", "usable_gb"):
            data[key] = round(data[key], 2)
        if data["bandwidth_gbs"] is not None:
            data["bandwidth_gbs"] = round(data["bandwidth_gbs"], 1)
        return data


def memory_bytes() -> tuple[int, int]:
    """(total, available) RAM in bytes: MemTotal and MemAvailable on Linux, hw.memsize on macOS.

    psutil, the same source as the runs OOM guard (perpass.runs.guard), imported here only when
    called: `perpass --help` does not pay for it."""
    import psutil

    vm = psutil.virtual_memory()
    return int(vm.total), int(vm.available)


def cpu_model(path: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(("model name", "Model", "Hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nvidia_gpus() -> list[Gpu]:
    try:
        import pynvml  # type: ignore[import-not-found]  # optional: nvidia-ml-py
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver / no device: pynvml raises its own NVMLError subclasses
        return []
    gpus = []
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else str(name)
            try:
                total = pynvml.nvmlDeviceGetMemoryInfo(handle).total / GIB
            except Exception:  # unified-memory boxes (GB10) report no separate GPU memory
                total = 0.0
            gpus.append(Gpu(name, round(total, 2)))
    finally:
        pynvml.nvmlShutdown()
    return gpus


def _sysctl(key: str) -> str | None:
    try:
        return subprocess.run(
            ["sysctl", "-n", key], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def measure_bandwidth_gbs(buffer_bytes: int = BANDWIDTH_BUFFER_BYTES, repeats: int = 5) -> float:
    """Copy a 64 MiB buffer a few times (memcpy under the hood) and count read + write bytes.

    Single-threaded and numpy-free, so it is a lower bound of what all cores can pull; it takes
    ~0.1-0.3 s. Good enough for a CPU box's roofline, where threads are also the limit.
    """
    src = bytearray(os.urandom(1 << 16)) * (buffer_bytes >> 16)
    dst = bytearray(len(src))
    view = memoryview(dst)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        view[:] = src
        best = min(best, time.perf_counter() - start)
    return 2 * len(src) / best / 1e9


def match_profile(catalog: Catalog, names: list[str]) -> HardwareProfile | None:
    for profile in catalog.profiles.values():
        if any(m.lower() in n.lower() for m in profile.match for n in names):
            return profile
    return None


def detect_hardware(catalog: Catalog, measure: bool = True) -> Hardware:
    """This machine. Usable memory: the GPUs' VRAM, ~75 % of RAM on Apple, MemAvailable otherwise."""
    cores = os.cpu_count() or 1
    notes: list[str] = []
    if platform.system() == "Darwin":
        cpu = _sysctl("machdep.cpu.brand_string") or platform.processor()
        total = available = memory_bytes()[0]  # the GPU cap below is what limits models on Apple
        gpus = [Gpu(f"{cpu} GPU", round(total / GIB, 2))] if cpu.startswith("Apple") else []
        kind = "apple_unified" if gpus else "ram"
    else:
        cpu = cpu_model()
        total, available = memory_bytes()
        gpus = nvidia_gpus()
        kind = "ram"
        if gpus:
            kind = "unified" if any(g.memory_gb == 0 for g in gpus) else "vram"
    profile = match_profile(catalog, [cpu, *(g.name for g in gpus)])
    if kind == "vram":
        usable = sum(g.memory_gb for g in gpus)
    elif kind == "apple_unified":
        usable = total / GIB * APPLE_GPU_FRACTION
        notes.append("Apple GPU working set capped at ~75 % of RAM by default (sysctl iogpu.wired_limit_mb)")
    else:
        usable = available / GIB
        if kind == "unified":
            notes.append("unified memory: GPU memory is not reported separately; usable = MemAvailable")
    if profile:
        bandwidth, source = profile.bandwidth_gbs, f"catalog profile {profile.name}"
    elif measure:
        bandwidth = measure_bandwidth_gbs()
        source = "measured: single-thread memory copy (a lower bound)"
    else:
        bandwidth, source = None, "unknown (not in the catalog; measurement skipped)"
    return Hardware(
        cpu=cpu,
        cores=cores,
        memory_gb=total / GIB,
        available_gb=available / GIB,
        gpus=gpus,
        bandwidth_gbs=bandwidth,
        profile=profile.name if profile else None,
        usable_gb=usable,
        memory_kind=kind,
        bandwidth_source=source,
        power_w=profile.power_w if profile else None,
        notes=notes,
    )


def hardware_of_profile(profile: HardwareProfile) -> Hardware:
    """A machine you do not have, scoped from its catalog profile."""
    return Hardware(
        cpu=profile.description,
        cores=0,
        memory_gb=profile.memory_gb,
        available_gb=profile.memory_gb * profile.usable_fraction,
        gpus=[Gpu(g.name, g.memory_gb) for g in profile.gpus],
        bandwidth_gbs=profile.bandwidth_gbs,
        profile=profile.name,
        usable_gb=profile.memory_gb * profile.usable_fraction,
        memory_kind=profile.memory_kind,
        bandwidth_source=f"catalog profile {profile.name}",
        power_w=profile.power_w,
        notes=[
            f"usable = {profile.usable_fraction:.0%} of {profile.memory_gb:g} GiB ({profile.memory_kind})"
        ],
    )
