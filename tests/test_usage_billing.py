"""Recorded usage bodies of every shape (tests/fixtures/usage), each with its provider's billing rule and
the bill worked out by hand beside it: perpass must read the same counts and send the same bill, and
genai-prices (the default price source) must agree where the fixture names its model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genai_prices import Usage as DatabaseUsage
from genai_prices import calc_price

from perpass.analysis.pricemodels import CallUsage, call_costs
from perpass.analysis.pricemodels.local_compute import LocalComputePrices
from perpass.analysis.pricemodels.route_table import RouteTablePrices
from perpass.config import CloudPrices, LocalCosts
from perpass.endpoints.billing import lookup
from perpass.endpoints.usage import normalise_usage

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "usage").glob("*.json"))
CASES = {p.stem: json.loads(p.read_text()) for p in FIXTURES}
DATABASE_CASES = [name for name, case in CASES.items() if "database" in case]
# Database prices change by date (and DeepSeek's by time of day: off-peak hours are cheaper): the hand
# bills use the prices in force at noon UTC on this day.
PRICED_AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_there_are_enough_recorded_bodies_of_every_shape() -> None:
    shapes = {normalise_usage(case["body"]).shape for case in CASES.values()}
    assert len(CASES) >= 30
    assert shapes == {"anthropic", "openai_chat", "openai_responses", "gemini"}
    assert all(case["rule"] and case["working"] for case in CASES.values())


def priced(name: str) -> tuple[CallUsage, float]:
    case = CASES[name]
    usage = normalise_usage(case["body"]).to_dict() | {"latency_s": case.get("latency_s")}
    calls = CallUsage.from_usage(usage)
    model = (LocalComputePrices(LocalCosts(**case["local_costs"])) if "local_costs" in case
             else RouteTablePrices(CloudPrices(**case["prices"])))
    return calls, float(call_costs(model, calls)[0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_counts_read_as_the_provider_means_them(name: str) -> None:
    case = CASES[name]
    u = normalise_usage(case["body"])
    assert {k: getattr(u, k) for k in case["usage"]} == case["usage"]
    kept = u.raw_usage or {}
    for key in ("usage", "usageMetadata", "timings"):
        if isinstance(case["body"].get(key), dict):
            assert kept[key] == case["body"][key]  # what the provider sent, verbatim


@pytest.mark.parametrize("name", sorted(CASES))
def test_bill_matches_the_hand_computed_one(name: str) -> None:
    _, bill = priced(name)
    assert bill == pytest.approx(CASES[name]["bill"], rel=1e-9), CASES[name]["working"]


@pytest.mark.parametrize("name", DATABASE_CASES)
def test_genai_prices_database_and_formula_agree_with_the_hand_bill(name: str) -> None:
    case = CASES[name]
    calls, _ = priced(name)
    entry = lookup(case["database"]["model"], provider=case["database"]["provider"], at=PRICED_AT)
    assert entry is not None
    ours = float(call_costs(RouteTablePrices(entry.prices), calls)[0])
    assert ours == pytest.approx(case["bill"], rel=1e-9)
    write_1h = int(calls.cache_write_1h[0])
    theirs = calc_price(
        DatabaseUsage(input_tokens=int(calls.prompt[0]), cache_read_tokens=int(calls.cached[0]),
                      cache_write_tokens=int(calls.cache_write[0]),
                      cache_write_1h_tokens=write_1h or None,
                      cache_write_5m_tokens=(int(calls.cache_write[0]) - write_1h) if write_1h else None,
                      output_tokens=int(calls.completion[0])),
        case["database"]["model"], provider_id=case["database"]["provider"], genai_request_timestamp=PRICED_AT,
    )
    assert float(theirs.total_price) == pytest.approx(case["bill"], rel=1e-9)


def test_the_issues_cases_were_mispriced_by_summing_and_by_the_old_reading() -> None:
    """The four mispricings the issue found, each now billed by its provider's rule."""
    # Anthropic 1-hour cache writes at 2× input, not as plain input.
    _, bill = priced("anthropic_cache_write_1h")
    assert bill == pytest.approx((100 * 3 + 8000 * 6 + 250 * 15) / 1e6)
    # Gemini 2.5 Pro above 200k: the whole call at the higher tier.
    _, bill = priced("gemini_over_200k")
    assert bill == pytest.approx((250000 * 2.5 + 3000 * 15) / 1e6)
    # DeepSeek cache hits at the hit price, not every prompt token at the miss price.
    _, bill = priced("deepseek_hits")
    assert bill < (10000 * 0.27 + 500 * 1.10) / 1e6 / 2
    # Thinking reported beside completion_tokens is billed, once.
    calls, _ = priced("gemini_proxy_reasoning_outside")
    assert int(calls.completion[0]) == 3200 and int(calls.reasoning[0]) == 3000
