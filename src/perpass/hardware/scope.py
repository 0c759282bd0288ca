"""What the demo (and anyone scripting perpass) needs: hw + shortlist here, and the embedded
model's decode roofline to set beside its measured speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perpass.config import RouteBase, resolve_gguf
from perpass.errors import UserError
from perpass.hardware.catalog import load_catalog
from perpass.hardware.detect import Hardware, detect_hardware
from perpass.hardware.fit import spec_from_gguf
from perpass.hardware.memory import estimate_memory
from perpass.hardware.roofline import EFFICIENCY, decode_tok_s
from perpass.hardware.shortlist import shortlist

DEMO_CONTEXT = 8192


def scope_for_demo(tier: str | None = None, context: int = DEMO_CONTEXT) -> dict[str, Any]:
    """{"hw": <perpass hw --json>, "shortlist": <perpass shortlist --json>} for this machine."""
    catalog = load_catalog()
    hw = detect_hardware(catalog)
    return {"hw": hw.to_dict(), "shortlist": shortlist(catalog, hw, tier, context).to_dict()}


def roofline_for_route(route: RouteBase, hardware: Hardware | None = None, context: int | None = None) -> float:
    """Estimated decode tok/s of a local route's GGUF on this machine (or `hardware`), at `context`
    tokens in the cache (default: a nearly empty cache, as in a short smoke call)."""
    if not route.starts_server or not route.gguf:
        raise UserError(f"route '{route.name}' is not local; a roofline needs a GGUF file")
    catalog = load_catalog()
    hw = hardware or detect_hardware(catalog)
    if hw.bandwidth_gbs is None:
        raise UserError("memory bandwidth of this machine is unknown; name a profile with --profile")
    spec = spec_from_gguf(Path(resolve_gguf(route.gguf)), catalog)
    kv = 0
    if context:
        kv = estimate_memory(spec.shape, spec.weights_bytes, context, route.serving.kv_type).kv_bytes
    return decode_tok_s(hw.bandwidth_gbs, spec.active_bytes_per_token, kv, EFFICIENCY)
