"""`funnelsim sweep`: a scenario at every point of a full factorial grid (same seeds), resumable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from funnelsim import metrics
from funnelsim.cli.common import (
    AllowLarge,
    DaskAddress,
    Executor,
    Force,
    MaxReps,
    Precision,
    Quiet,
    Reps,
    Resume,
    ScenarioArg,
    Seed,
    Sets,
    Store,
    Workers,
    app,
    command_line,
    executor_name,
    interruptible,
    metric_option_help,
    point_store_beside,
    progress_bar,
    slug,
    user_errors,
)
from funnelsim.experiment import grid as grids
from funnelsim.experiment.executors import ExecutorChoice
from funnelsim.experiment.points import PointStore
from funnelsim.experiment.precision import check_precision
from funnelsim.experiment.runner import DEFAULT_REPS, DEFAULT_SEED
from funnelsim.report import terminal
from funnelsim.report.outputs import write_grid
from funnelsim.report.paths import claim_output, safe_component
from funnelsim.scenario.loader import ScenarioError


def vary_specs(vary: Sequence[str] | None, param: Sequence[str] | None, values: str) -> list[str]:
    """--vary and --param as KEY=VALUES specs; the older `--param KEY --values V1,V2` form is one of them."""
    specs = list(vary or [])
    bare = [p for p in (param or []) if "=" not in p]
    specs += [p for p in (param or []) if "=" in p]
    if bare:
        if len(bare) > 1 or not values:
            raise ScenarioError(
                f"--param {bare[0]}: give its values as --param {bare[0]}=V1,V2 (or one --param KEY with --values)"
            )
        specs.append(f"{bare[0]}={values}")
    elif values:
        raise ScenarioError("--values needs a --param KEY to go with it")
    if not specs:
        raise ScenarioError(
            "sweep needs at least one --vary KEY=VALUES, e.g. --vary sales.sdr.count=1..4 --vary sales.queue=fifo,lifo"
        )
    return specs


@app.command()
def sweep(
    scenario: ScenarioArg = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="KEY=VALUES to vary (repeatable: the full factorial grid). Values: a list (fifo,lifo), an integer "
            "range (1..8) or a float range with a step (0.1..0.5:0.1).",
        ),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Same as --vary; or KEY alone with --values.")
    ] = None,
    values: Annotated[str, typer.Option("--values", "-v", help="Values for a single --param KEY, e.g. 1,2,3.")] = "",
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help=metric_option_help(", ".join(metrics.SWEEP_DEFAULT))),
    ] = None,
    reps: Reps = DEFAULT_REPS,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for sweep.csv and charts.")] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    dask_address: DaskAddress = None,
    precision: Precision = None,
    max_reps: MaxReps = None,
    store: Store = None,
    resume: Resume = True,
    allow_large: AllowLarge = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run a scenario at every point of a grid of parameter values (same seeds); one tidy table and charts."""
    with user_errors():
        axes = grids.parse_axes(vary_specs(vary, param, values), "--vary")
        wanted = grids.check_metrics(metric or metrics.SWEEP_DEFAULT)
        check_precision(precision, reps, max_reps)
        settings = grids.grid_settings(axes)
        points = grids.grid_points(scenario, settings, reps, set_ or [], allow_large)
        default_name = f"sweep-{slug(points[0].name)}-{'-'.join(slug(a.key) for a in axes)}"[:120]
        slot = claim_output(out or Path("results") / safe_component(default_name), force)
    store = store or point_store_beside(slot.target)
    with slot, interruptible(slot), user_errors():
        with progress_bar(reps * len(settings), quiet, "sweep") as advance:
            outcome = grids.grid(
                scenario, axes, reps, seed, set_ or [], store=PointStore(store if resume else None),
                executor=executor_name(executor), workers=workers, dask_address=dask_address,
                allow_large=allow_large, precision=precision, max_reps=max_reps, size_checked=True, progress=advance,
            )  # fmt: skip
        for result in outcome.results:
            terminal.failures(result)
        keys = " x ".join(a.key for a in axes)
        title = f"{points[0].name}: sweep of {keys} ({len(settings)} points), seed {seed}"
        terminal.sweep_table(outcome, wanted, title)
        terminal.say(
            f"points: {outcome.computed} computed, {outcome.reused} reused from {store}/"
            if resume
            else f"points: {outcome.computed} computed (--no-resume: nothing stored)"
        )
        target = write_grid(outcome, wanted, slot, command=command_line())
    terminal.say(f"sweep written to {target}/")
