"""`perpass reprice` and `perpass prices show`: what a finished run costs under other prices, and
what the price database says a model costs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, cast

import typer
from rich.table import Table

from perpass.analysis.analyze import DEFAULT_BOOT
from perpass.analysis.money import money
from perpass.analysis.pricemodels.base import LocalTime
from perpass.analysis.pricemodels.database import quote
from perpass.analysis.reprice import reprice as run_reprice
from perpass.cli.analysis import BootOption, PricesOption, price_book
from perpass.cli.app import DEFAULT_STORE, JsonOption, RoutesOption, StoreOption, app, console, print_json
from perpass.errors import UserError

prices_app = typer.Typer(help="The price database (genai-prices): what a model costs, per provider and date.",
                         no_args_is_help=True)
app.add_typer(prices_app, name="prices")

AtOption = Annotated[str | None, typer.Option("--at", help="Prices in force on this date (YYYY-MM-DD).")]


def parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise UserError(f"--at {value!r}: expected a date as YYYY-MM-DD") from None


@app.command()
def reprice(
    store: StoreOption = DEFAULT_STORE,
    prices: PricesOption = None,
    routes: RoutesOption = None,
    at: AtOption = None,
    local_time: Annotated[str, typer.Option(
        "--local-time", help="Local routes: price the server's compute time (default) or the calls' wall time.",
    )] = "compute",
    boot: BootOption = DEFAULT_BOOT,
    json_out: JsonOption = False,
) -> None:
    """Re-price a finished store from its stored usage: layers, ranking and decision under other prices
    (a prices file, a routes file, or the database's prices on --at DATE). Writes nothing."""
    if local_time not in ("compute", "wall"):
        raise UserError(f"--local-time {local_time!r}: expected compute or wall")
    book = price_book(prices, routes, None, {})
    book.at = parse_date(at)
    book.local_time = cast(LocalTime, local_time)
    result = run_reprice(store, book, boot)
    if json_out:
        print_json(result.to_json())
        return
    table = Table(title=f"re-priced: {result.prices}" + (f", database prices as on {result.at}" if result.at else ""))
    for col in ("route", "$ / episode before", "after", "$ / pass before", "after", "price source now"):
        table.add_column(col)
    for label, r in result.routes.items():
        source = r.pricing_after.source + (f" {r.pricing_after.version}" if r.pricing_after.version else "")
        table.add_row(label, fmt(r.per_episode_before), fmt(r.per_episode_after), fmt(r.per_pass_before, "∞"),
                      fmt(r.per_pass_after, "∞"), source)
    console.print(table)
    console.print("ranking by $ / pass before: " + " > ".join(result.ranking_before), highlight=False)
    console.print("ranking by $ / pass after:  " + " > ".join(result.ranking_after), highlight=False)
    console.print("the ranking changed" if result.ranking_changed else "the ranking did not change", style="bold")


def fmt(value: float | None, none: str = "n/a") -> str:
    return none if value is None else money(value)


@prices_app.command("show")
def show(
    model: Annotated[str, typer.Argument(help="Model name as the provider spells it, e.g. claude-sonnet-4-5.")],
    provider: Annotated[str | None, typer.Option("--provider", help="Provider id (anthropic, openai, google, "
                                                                     "deepseek, openrouter, ...).")] = None,
    at: AtOption = None,
    json_out: JsonOption = False,
) -> None:
    """What the price database says MODEL costs ($ per 1M tokens), with its tiers."""
    found = quote(model, provider, parse_date(at))
    if found is None:
        where = f" at provider {provider!r}" if provider else ""
        raise UserError(f"prices: {model!r}{where} is not in the price database (genai-prices); give its prices "
                        "in routes.yaml (prices:) or a --prices file")
    if json_out:
        print_json(found.model_dump(mode="json"))
        return
    console.print(f"{found.provider}/{found.model} ({found.source} {found.version}, prices as on {found.at}), "
                  f"$ per 1M tokens:", highlight=False)
    for name in ("input", "cached_input", "cache_write", "cache_write_1h", "output", "reasoning"):
        value = getattr(found, name)
        if value is not None:
            console.print(f"  {name}: {value}", highlight=False)
    for tier in found.tiers:
        console.print(f"  above {tier.above_prompt_tokens} prompt tokens: "
                      + ", ".join(f"{k} {v}" for k, v in tier.model_dump(exclude={"above_prompt_tokens"}).items()
                                  if v is not None), highlight=False)
