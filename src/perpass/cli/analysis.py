"""`perpass card`, `perpass decide`, `perpass calc`: steps 5 and 6, and the what-if calculator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from perpass import files
from perpass.analysis.analyze import DEFAULT_BOOT, Analysis, analyze
from perpass.analysis.calc import calc as run_calc
from perpass.analysis.decide import decision as make_decision
from perpass.analysis.layers import LAYER_TITLES, LAYERS
from perpass.analysis.money import money
from perpass.analysis.prices import PriceBook, load_price_book, merge_books, price_book_from_routes_file
from perpass.analysis.results import Decision
from perpass.cli.app import DEFAULT_STORE, JsonOption, RoutesOption, StoreOption, app, console, print_json
from perpass.errors import UserError
from perpass.report.litellm import write_litellm
from perpass.report.routing import write_routing

PricesOption = Annotated[
    Path | None,
    typer.Option(
        "--prices", help="Prices file: routes: {NAME: {prices|local_costs}}, overheads, min_pass_rate."
    ),
]
MinPassOption = Annotated[
    float | None,
    typer.Option(
        "--min-pass-rate", min=0, max=1, help="Minimum pass rate (lower bound, clustered by task); default 0.5."
    ),
]
ReviewerMinutes = Annotated[float | None, typer.Option(min=0, help="Reviewer minutes per failed attempt.")]
ReviewerHourly = Annotated[float | None, typer.Option(min=0, help="Reviewer $ per hour.")]
DragOption = Annotated[float | None, typer.Option(min=0, help="Extra $ per false done.")]
AttemptsOption = Annotated[int | None, typer.Option(min=1, help="Retry policy: attempts per task.")]
BootOption = Annotated[int, typer.Option("--boot", min=100, help="Bootstrap resamples.")]


def price_book(
    prices: Path | None, routes: Path | None, min_pass_rate: float | None, overrides: dict[str, Any]
) -> PriceBook:
    book = load_price_book(prices)
    if routes is not None:
        book = merge_books(book, price_book_from_routes_file(routes))
    if min_pass_rate is not None:
        book.min_pass_rate = min_pass_rate
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        book.overheads = book.overheads.model_copy(update=changes)
    return book


def load_analysis(
    store: Path,
    prices: Path | None,
    routes: Path | None,
    min_pass_rate: float | None,
    boot: int,
    reviewer_minutes: float | None,
    reviewer_hourly: float | None,
    false_done_drag: float | None,
    max_attempts: int | None,
) -> Analysis:
    """The Analysis behind `card` and `decide`, from the options they share."""
    overrides = {
        "reviewer_minutes": reviewer_minutes,
        "reviewer_hourly": reviewer_hourly,
        "false_done_drag": false_done_drag,
        "max_attempts": max_attempts,
    }
    an = analyze(store, price_book(prices, routes, min_pass_rate, overrides), n_boot=boot)
    if an.data.n == 0:
        raise UserError(
            f"{an.data.path}: the store has no finished episode yet; run `perpass run PLAN` first"
        )
    return an


@app.command()
def card(
    out: Annotated[Path, typer.Option("--out", help="Folder for the cards (one .md and .html per model).")],
    store: StoreOption = DEFAULT_STORE,
    prices: PricesOption = None,
    routes: RoutesOption = None,
    min_pass_rate: MinPassOption = None,
    reviewer_minutes: ReviewerMinutes = None,
    reviewer_hourly: ReviewerHourly = None,
    false_done_drag: DragOption = None,
    max_attempts: AttemptsOption = None,
    boot: BootOption = DEFAULT_BOOT,
) -> None:
    """Step 5: a finding card per model, with the four cost layers, ceilings, OFAT effects and plots."""
    from perpass.report.cards import write_cards  # matplotlib is slow to import: only when drawing

    an = load_analysis(
        store, prices, routes, min_pass_rate, boot, reviewer_minutes, reviewer_hourly, false_done_drag, max_attempts
    )
    written = write_cards(an, make_decision(an), out)
    for name, path in written.items():
        if name.endswith(".md"):
            console.print(f"card: {path}  (+ {path.with_suffix('.html').name})")


@app.command()
def decide(
    store: StoreOption = DEFAULT_STORE,
    prices: PricesOption = None,
    routes: RoutesOption = None,
    min_pass_rate: MinPassOption = None,
    reviewer_minutes: ReviewerMinutes = None,
    reviewer_hourly: ReviewerHourly = None,
    false_done_drag: DragOption = None,
    max_attempts: AttemptsOption = None,
    boot: BootOption = DEFAULT_BOOT,
    routing: Annotated[
        Path | None,
        typer.Option(help="Where to write the perpass routing file (default: STORE/routing.yaml)."),
    ] = None,
    litellm: Annotated[
        Path | None, typer.Option("--litellm", help="Also write a LiteLLM proxy config.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Step 6: per tier, the cheapest route per pass that meets the minimum pass rate, and a cascade.

    Writes the routing file (routes named as in --routes, or the routes file of the plan that ran them)
    and, with --litellm, a LiteLLM proxy config that the proxy loads as written."""
    an = load_analysis(
        store, prices, routes, min_pass_rate, boot, reviewer_minutes, reviewer_hourly, false_done_drag, max_attempts
    )
    result = make_decision(an)
    routing = routing or an.data.path.parent / "routing.yaml"
    for target in (routing, litellm):  # both paths checked before either file is written
        if target is not None:
            files.check_output_file(target)
    routing_path = write_routing(an, result, routing, routes)
    litellm_path = write_litellm(an, result, litellm) if litellm else None
    if json_out:
        print_json(result.to_json())
        return
    print_layers(result)
    print_inversions(result)
    print_decision(result)
    console.print(
        f"routing file: {routing_path}" + (f"; LiteLLM config: {litellm_path}" if litellm_path else ""),
        highlight=False,
        markup=False,
    )


def print_layers(result: Decision) -> None:
    table = Table(title="cost layers (all tiers; infra episodes not counted; (ref) = reference, never routed)")
    for col in ("route", "n", "infra", "pass rate [95 %]", *(LAYER_TITLES[x] for x in LAYERS[:-1])):
        table.add_column(col)
    table.add_column("$ / pass [95 %]")
    for name, v in result.layers.items():
        rate = "—" if v.pass_rate is None or v.pass_ci is None else f"{v.pass_rate:.2f} {fmt_ci(v.pass_ci)}"
        values = ["n/a" if v.layer(x) is None else money(v.layer(x)) for x in LAYERS[:-1]]
        shown = f"{name} (ref)" if v.reference else name
        table.add_row(shown, str(v.episodes), str(v.infra_episodes), rate, *values, v.per_pass_text)
    console.print(table)


def fmt_ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def print_inversions(result: Decision) -> None:
    if not result.inversions:
        console.print("no ranking inversions between layers")
        return
    console.print("ranking inversions", style="bold")
    for inv in result.inversions:
        console.print(f"- {inv.from_layer} → {inv.to_layer}: {inv.text}", highlight=False)


def print_decision(result: Decision) -> None:
    if result.message:
        console.print(result.message, style="bold yellow")
    table = Table(title=f"decision (min pass rate {result.min_pass_rate})")
    for col in ("tier", "primary", "cost per pass", "pass rate", "fallback", "best cascade"):
        table.add_column(col, overflow="fold")
    for tier, t in result.tiers.items():
        cascade = t.cascade
        cascade_text = (
            f"{cascade.first} → {cascade.then}: {money(cascade.cost_per_pass)}"
            + (" (cheaper)" if cascade.beats_primary and t.primary else "")
            + ("" if cascade.beats_primary else " (not cheaper than the primary)")
            if cascade
            else "—"
        )
        table.add_row(
            tier,
            t.primary or "—",
            t.cost_per_pass_text or "—",
            "—" if t.pass_rate is None else f"{t.pass_rate:.2f}",
            t.fallback or "—",
            cascade_text,
        )
    console.print(table)
    for tier, t in result.tiers.items():
        console.print(f"{tier}: {t.reason}", highlight=False, markup=False)


@app.command()
def calc(
    file: Annotated[
        Path, typer.Argument(help="What-if file: routes with prices, tokens, pass rate; overheads.")
    ],
    json_out: JsonOption = False,
) -> None:
    """What would each layer cost? The calculator for people without runs yet."""
    result = run_calc(file)
    if json_out:
        print_json(result)
        return
    for name, scenario in [("as given", result), *result["what_if"].items()]:
        table = Table(title=f"{file.name}: {name}")
        for col in ("route", "pass rate", *(LAYER_TITLES[x] for x in LAYERS)):
            table.add_column(col)
        for route, v in scenario["routes"].items():
            table.add_row(
                route,
                f"{v['pass_rate']:.3f}",
                f"{v['per_token']:.3f}" if v["per_token"] else "n/a",
                money(v["per_call"]),
                money(v["per_episode"]),
                v["per_pass_text"],
            )
        console.print(table)
        for inv in scenario["inversions"]:
            console.print(f"- {inv['from_layer']} → {inv['to_layer']}: {inv['text']}", highlight=False)
