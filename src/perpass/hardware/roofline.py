"""Decode speed ceiling: decoding one token reads every active weight and the whole KV cache once.

    decode tok/s ~= efficiency x bandwidth / (active weight bytes + KV bytes at the context)

Efficiency: llama.cpp reaches 0.75-0.9 of the memory roofline on GB10 (../shared/REFERENCE.md;
the four published GB10 figures land at 0.77-0.87 with these byte counts, see
tests/test_hw_fit.py). perpass uses 0.8 as the point estimate and reports the band. Prompt
processing is compute-bound and is not estimated here.
"""

from __future__ import annotations

from perpass.errors import UserError

EFFICIENCY = 0.8
EFFICIENCY_BAND = (0.75, 0.9)


def decode_tok_s(
    bandwidth_gbs: float, active_bytes_per_token: int, kv_bytes: int = 0, efficiency: float | None = None
) -> float:
    if bandwidth_gbs <= 0:
        raise UserError(
            f"memory bandwidth must be positive, got {bandwidth_gbs} GB/s; fix bandwidth_gbs in the profile"
        )
    if active_bytes_per_token <= 0:
        raise UserError(f"bytes read per token must be positive, got {active_bytes_per_token}")
    eta = EFFICIENCY if efficiency is None else efficiency
    if not 0 < eta <= 1:
        raise UserError(f"efficiency must be in (0, 1], got {eta}")
    return eta * bandwidth_gbs * 1e9 / (active_bytes_per_token + kv_bytes)
