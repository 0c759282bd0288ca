"""`perpass demo`: the whole six-step workflow on the embedded model; no network, no API key."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from perpass.cli.app import SandboxOption, app, console

T0_TASK = "t0-smoke-hello"


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder: run store, cards, decision, report.")] = Path(
        "perpass-demo"
    ),
    sandbox: SandboxOption = "bwrap",
) -> None:
    """Run hw → shortlist → smoke → one episode → an OFAT plan → cards, decision, report on SmolLM2-135M.

    Resumable: run it again after an interruption and the plan continues where it stopped.
    """
    from perpass.agent.loop import run_episode
    from perpass.analysis.analyze import analyze
    from perpass.analysis.decide import decision as make_decision
    from perpass.cli.analysis import print_decision, print_inversions, print_layers
    from perpass.cli.episode import print_episode, print_step
    from perpass.cli.hw import print_hw, print_shortlist
    from perpass.cli.runs import print_status
    from perpass.cli.smoke import print_smoke
    from perpass.endpoints.local import ServerFailed
    from perpass.endpoints.routes import builtin_routes, open_route
    from perpass.hardware.catalog import load_catalog
    from perpass.hardware.detect import detect_hardware
    from perpass.hardware.scope import DEMO_CONTEXT, roofline_for_route
    from perpass.hardware.shortlist import shortlist
    from perpass.report.html_report import write_report
    from perpass.report.outputs import write_outputs
    from perpass.runs import Store, demo_plan, run_plan
    from perpass.runs.progress import make_progress
    from perpass.runs.smoke import server_failed, smoke_live
    from perpass.sandbox import open_backend
    from perpass.tasks import select_tasks

    out.mkdir(parents=True, exist_ok=True)
    route = builtin_routes()["local-smollm2"]

    console.rule("1 · scope the hardware")
    catalog = load_catalog()
    hardware = detect_hardware(catalog)
    print_hw(hardware)

    console.rule("2 · shortlist by active params")
    print_shortlist(shortlist(catalog, hardware, None, DEMO_CONTEXT),
                    f"models that fit this machine at {DEMO_CONTEXT} tokens")

    # Smoke and the single episode share one server start.
    with ExitStack() as stack:
        console.rule("smoke: local-smollm2 (embedded SmolLM2-135M-Instruct via llama-cpp-python)")
        started = time.perf_counter()
        try:
            live = stack.enter_context(open_route(route, out / "logs"))
        except ServerFailed as err:
            smoke = server_failed(route, err)
        else:
            smoke = smoke_live(live, started)
        print_smoke(smoke)
        if not smoke.ok:
            console.print(f"smoke failed: {smoke.reason}", style="red")
            raise typer.Exit(1)
        if smoke.decode_tok_s and hardware.bandwidth_gbs:
            estimate = roofline_for_route(route, hardware)
            console.print(f"decode speed: measured {smoke.decode_tok_s:.1f} tok/s, roofline estimate "
                          f"{estimate:.1f} tok/s ({smoke.decode_tok_s / estimate:.0%} of the estimate; the "
                          f"bandwidth here is a quick single-thread measurement)")

        console.rule(f"one episode: local-smollm2 on {T0_TASK}")
        backend = open_backend(sandbox)
        task = select_tasks(None, None, [T0_TASK])[0]
        episode = run_episode(task, live, backend, out / "episode-t0", on_step=print_step)
    print_episode(episode)
    console.print(Text.assemble("stop reason: ", (episode.stop_reason, "bold"), ", verdict: ",
                                ("pass" if episode.passed else "fail", "bold")))

    console.rule("3–4 · OFAT plan: baseline + temperature + n_ctx, T0–T1, N = 3 (smoke gate, OOM guard)")
    plan = demo_plan(base_dir=out)
    with Store(out / "runs") as store:
        status = run_plan(plan, store, progress=make_progress("auto", console), backend=backend)
    print_status(status)

    console.rule("5–6 · finding cards, decision, routing, report")
    analysis = analyze(out / "runs")  # loaded and bootstrapped once, for the files and the report
    decision = make_decision(analysis)
    paths = write_outputs(out / "runs", out, analysis=analysis, decision=decision)
    report = write_report(out / "runs", out / "report.html", analysis=analysis, decision=decision)
    print_layers(decision)
    print_inversions(decision)
    print_decision(decision)
    console.print("\nwritten:", style="bold")
    for name, path in paths.items():
        console.print(f"  {name:<28} {path}", highlight=False)
    console.print(f"  {'report':<28} {report}", highlight=False)
