"""`perpass hw`, `perpass fit`, `perpass shortlist`: steps 1 and 2, scope the hardware and shortlist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from perpass.cli.app import JsonOption, app, console, print_json
from perpass.hardware.catalog import Catalog, load_catalog
from perpass.hardware.costs import local_costs_for
from perpass.hardware.detect import Hardware, detect_hardware, hardware_of_profile
from perpass.hardware.fit import fit as fit_model
from perpass.hardware.fit import resolve_spec
from perpass.hardware.roofline import EFFICIENCY, EFFICIENCY_BAND
from perpass.hardware.shortlist import DEFAULT_CONTEXT, Shortlist, write_plan
from perpass.hardware.shortlist import shortlist as make_shortlist

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="A catalog hardware profile (gb10, m4-max-128, rtx-4090, h100-80, ...) instead of this machine.",
    ),
]
CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="Your own catalog YAML (profiles:, models:, tiers:); "
        "./perpass-catalog.yaml is read when present.",
    ),
]
KvTypeOption = Annotated[str, typer.Option("--kv-type", help="KV cache type: f16, q8_0 or q4_0.")]


def scoped_hardware(catalog: Catalog, profile: str | None) -> Hardware:
    return hardware_of_profile(catalog.profile(profile)) if profile else detect_hardware(catalog)


def print_hw(hw: Hardware) -> None:
    table = Table(title=f"hardware: {hw.profile or 'this machine'}", show_header=False)
    gpus = ", ".join(f"{g.name} ({g.memory_gb:g} GiB)" for g in hw.gpus) or "none"
    bandwidth = (
        f"{hw.bandwidth_gbs:.1f} GB/s ({hw.bandwidth_source})" if hw.bandwidth_gbs else hw.bandwidth_source
    )
    rows = [
        ("cpu", f"{hw.cpu}" + (f", {hw.cores} cores" if hw.cores else "")),
        ("memory", f"{hw.memory_gb:.1f} GiB total, {hw.available_gb:.1f} GiB available"),
        ("gpus", gpus),
        ("usable for models", f"{hw.usable_gb:.1f} GiB ({hw.memory_kind})"),
        ("bandwidth", bandwidth),
        ("power", f"{hw.power_w:g} W" if hw.power_w else "unknown"),
    ]
    for key, value in rows + [("note", n) for n in hw.notes]:
        table.add_row(key, value)
    console.print(table)


@app.command()
def hw(profile: ProfileOption = None, catalog: CatalogOption = None, json_out: JsonOption = False) -> None:
    """Step 1: memory, GPUs and memory bandwidth of this machine (or of a named profile)."""
    scoped = scoped_hardware(load_catalog(catalog), profile)
    if json_out:
        print_json(scoped.to_dict())
    else:
        print_hw(scoped)


@app.command()
def fit(
    model: Annotated[
        str, typer.Argument(help="A catalog model name (see `perpass shortlist`) or a GGUF path.")
    ],
    context: Annotated[
        int, typer.Option("--context", help="Context window in tokens (total over slots).")
    ] = 8192,
    profile: ProfileOption = None,
    quant: Annotated[
        str | None, typer.Option("--quant", help="Quant of a catalog model, e.g. Q4_K_M.")
    ] = None,
    kv_type: KvTypeOption = "f16",
    parallel: Annotated[int, typer.Option("--parallel", help="Parallel slots (llama-server -np).")] = 1,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
) -> None:
    """Does MODEL fit at this context? Breakdown, largest context that fits, estimated decode tok/s."""
    cat = load_catalog(catalog)
    scoped = scoped_hardware(cat, profile)
    result = fit_model(
        resolve_spec(cat, model, quant),
        scoped.profile or "this machine",
        scoped.usable_bytes,
        scoped.bandwidth_gbs,
        context,
        kv_type,
        parallel,
    )
    data = result.to_dict()
    if json_out:
        print_json(data)
        return
    table = Table(title=f"fit: {result.model} {result.quant} on {result.profile}", show_header=False)
    for key, value in data.items():
        table.add_row(key, str(value))
    console.print(table)
    lo, hi = EFFICIENCY_BAND
    console.print(
        f"decode estimate at a full {context}-token cache, efficiency {EFFICIENCY} "
        f"(llama.cpp measures {lo}-{hi}); overhead includes a 1 GiB margin."
    )


def print_shortlist(result: Shortlist, title: str) -> None:
    table = Table(title=title)
    for col in ("model", "active B", "total B", "quant", "fit", "max context", "decode tok/s"):
        table.add_column(col)
    for c in result.models:
        d = c.to_dict()
        table.add_row(c.name, f"{c.active_params_b:g}", f"{c.total_params_b:g}", d["quant"], d["status"],
                      str(d["max_context"]), str(d["decode_tok_s_est"]))
    console.print(table)
    for ex in result.excluded:
        console.print(f"  left out {ex['name']}: {ex['reason']}")


@app.command()
def shortlist(
    profile: ProfileOption = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Task tier targeted: T0, T1, T2 or T3.")] = None,
    context: Annotated[int, typer.Option("--context", help="Context the plan will use.")] = DEFAULT_CONTEXT,
    kv_type: KvTypeOption = "f16",
    write_plan_to: Annotated[
        Path | None,
        typer.Option(
            "--write-plan", help="Write a starter routes YAML with one local route per shortlisted model."
        ),
    ] = None,
    hardware_price: Annotated[
        float | None,
        typer.Option("--hardware-price", help="What the machine cost (USD), for local cost inputs."),
    ] = None,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
) -> None:
    """Step 2: catalog models that fit, ranked by active params, with quant, max context and speed."""
    cat = load_catalog(catalog)
    scoped = scoped_hardware(cat, profile)
    result = make_shortlist(cat, scoped, tier, context, kv_type)
    if write_plan_to is not None:
        profile_entry = cat.profiles.get(scoped.profile) if scoped.profile else None
        write_plan(result, write_plan_to, local_costs_for(profile_entry, hardware_price))
    if json_out:
        print_json(result.to_dict())
        return
    print_shortlist(result, f"shortlist: {scoped.profile or 'this machine'}, tier {tier or 'any'}, {context} tokens")
    if write_plan_to is not None:
        console.print(f"wrote {write_plan_to} ({len(result.models)} routes; fill in the gguf: paths)")
