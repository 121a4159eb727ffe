"""`funnelsim bench`: speed against SimPy's ceiling, a hand-written SimPy model and Ciw; the funnel at scale."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from funnelsim import bench as measure
from funnelsim.cli.common import Quiet, app, fail
from funnelsim.report import terminal, terminal_checks


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Smoke run: 20,000 customers, 10k and 100k leads.")] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="JSON with every measurement.")] = Path("results/bench.json"),
    sizes: Annotated[
        str | None, typer.Option("--sizes", help="Full-funnel sizes in leads, e.g. 10000,100000,1000000.")
    ] = None,
    repeats: Annotated[int | None, typer.Option("--repeats", min=1, help="M/M/c and ceiling repeats.")] = None,
    memory: Annotated[bool, typer.Option("--memory/--no-memory", help="Measure peak memory per size.")] = True,
    quiet: Quiet = False,
) -> None:
    """Speed against SimPy's ceiling, a hand-written SimPy model and Ciw; the full funnel at scale."""
    config = measure.QUICK if quick else measure.BenchConfig()
    changes: dict[str, Any] = {"memory": memory}
    if sizes:
        try:
            changes["funnel_sizes"] = tuple(int(v.replace("_", "")) for v in sizes.split(",") if v.strip())
        except ValueError:
            fail(f"--sizes {sizes}: expected whole numbers of leads separated by commas, e.g. 10000,100000")
    if repeats:
        changes["repeats"] = repeats
    result = measure.run_bench(replace(config, **changes), progress=None if quiet else terminal.progress_note)
    measure.write_bench(result, out)
    terminal_checks.bench(result)
    terminal.say(f"measurements written to {out}")
