"""How long scoping takes: GGUF header read, one fit, a shortlist, hardware detection (medians)."""

from __future__ import annotations

from statistics import median

from _timing import bench

from perpass.config import embedded_gguf
from perpass.hardware import (
    detect_hardware,
    estimate_gguf_memory,
    hardware_of_profile,
    load_catalog,
    measure_bandwidth_gbs,
    read_gguf,
    shortlist,
)


def main() -> None:
    catalog = load_catalog()
    gb10 = hardware_of_profile(catalog.profile("gb10"))
    smol = embedded_gguf()
    bench("read_gguf(embedded SmolLM2)", lambda: read_gguf(smol))
    bench("estimate_gguf_memory(embedded, 8192)", lambda: estimate_gguf_memory(smol, 8192))
    bench("shortlist(gb10, all tiers, 32768)", lambda: shortlist(catalog, gb10, None, 32768))
    bench("measure_bandwidth_gbs()", measure_bandwidth_gbs)
    bench("detect_hardware(this machine)", lambda: detect_hardware(catalog))
    rates = [measure_bandwidth_gbs() for _ in range(7)]
    spread = f"(min {min(rates):.1f}, max {max(rates):.1f})"
    print(f"{'measured copy bandwidth':<40} median {median(rates):8.1f} GB/s {spread}")


if __name__ == "__main__":
    main()
