"""Step 1 and 2 of the workflow: scope the hardware, shortlist models by active params.

Catalog data (profiles, models, tiers) lives in YAML files under `catalog/`.
"""

from perpass.hardware.catalog import Catalog, HardwareProfile, ModelEntry, load_catalog
from perpass.hardware.costs import local_costs_for
from perpass.hardware.detect import Hardware, detect_hardware, hardware_of_profile, measure_bandwidth_gbs
from perpass.hardware.fit import FitResult, fit, max_context, resolve_spec
from perpass.hardware.gguf_meta import GgufInfo, read_gguf
from perpass.hardware.memory import MemoryEstimate, estimate_gguf_memory, kv_cache_bytes
from perpass.hardware.roofline import EFFICIENCY, EFFICIENCY_BAND, decode_tok_s
from perpass.hardware.scope import roofline_for_route, scope_for_demo
from perpass.hardware.shortlist import Shortlist, plan_routes, shortlist, write_plan

__all__ = [
    "EFFICIENCY",
    "EFFICIENCY_BAND",
    "Catalog",
    "FitResult",
    "GgufInfo",
    "Hardware",
    "HardwareProfile",
    "MemoryEstimate",
    "ModelEntry",
    "Shortlist",
    "decode_tok_s",
    "detect_hardware",
    "estimate_gguf_memory",
    "fit",
    "hardware_of_profile",
    "kv_cache_bytes",
    "load_catalog",
    "local_costs_for",
    "max_context",
    "measure_bandwidth_gbs",
    "plan_routes",
    "read_gguf",
    "resolve_spec",
    "roofline_for_route",
    "scope_for_demo",
    "shortlist",
    "write_plan",
]
