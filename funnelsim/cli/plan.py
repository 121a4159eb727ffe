"""`funnelsim plan`: the cheapest staffing that meets every target, a thin shell over `funnelsim.plan`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from funnelsim import metrics
from funnelsim.cli.common import (
    AllowLarge,
    DaskAddress,
    Executor,
    MaxReps,
    Precision,
    Quiet,
    Resume,
    ScenarioArg,
    Seed,
    Sets,
    Store,
    Workers,
    app,
    command_line,
    executor_name,
    point_store_beside,
    progress_bar,
    slug,
    user_errors,
)
from funnelsim.experiment import plan as planner
from funnelsim.experiment.executors import ExecutorChoice
from funnelsim.experiment.grid import load_point
from funnelsim.experiment.points import PointStore
from funnelsim.experiment.precision import check_precision
from funnelsim.experiment.runner import DEFAULT_SEED, check_size
from funnelsim.report import terminal, terminal_decisions
from funnelsim.report.outputs import write_plan

NO_PLAN_EXIT = 1


@app.command()
def plan(
    scenario: ScenarioArg = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="A target every plan must meet, METRIC>=VALUE or METRIC<=VALUE (repeatable), e.g. "
            "'answered_within_1h>=0.8' or 'abandon_rate<=5%'. Met when the 95% interval's conservative end meets it. "
            f"Valid metrics: {', '.join(metrics.FIGURES)}, profit.",
        ),
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="A headcount to search and its bounds (repeatable): sales.sdr.count=1..8, sales.ae.count=1..12.",
        ),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            "--objective",
            help="Among teams meeting every target, optimise this instead of the lowest team cost, e.g. "
            "max:profit or min:cac (assumes the objective is single-peaked in headcount).",
        ),
    ] = None,
    reps: Annotated[int, typer.Option("--reps", "-n", min=2, help="Replications per team simulated.")] = 10,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for plan.csv, plan.json and the frontier chart.")
    ] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    dask_address: DaskAddress = None,
    precision: Precision = None,
    max_reps: MaxReps = None,
    store: Store = None,
    resume: Resume = True,
    allow_large: AllowLarge = False,
    quiet: Quiet = False,
) -> None:
    """The cheapest staffing that meets every target: an Erlang warm start refined by simulation.

    Exit code 1 when no team within the bounds meets every target (the output says what bounds it).
    """
    with user_errors():
        targets = [planner.parse_target(t) for t in target or []]
        if not targets:
            raise planner.PlanError("plan needs at least one --target, e.g. --target 'answered_within_1h>=0.8'")
        goal = planner.parse_objective(objective)
        bounds = planner.parse_bounds(vary or [])
        check_precision(precision, reps, max_reps)
        base = load_point(scenario, set_ or [], {})
        for key, (_, high) in bounds.items():
            load_point(scenario, set_ or [], {key: high})
        check_size(base, reps, allow_large)
    target_dir = out or Path("results") / f"plan-{slug(base.name)}"
    points = PointStore((store or point_store_beside(target_dir)) if resume else None)
    grid_size = 1
    for low, high in bounds.values():
        grid_size *= high - low + 1
    with progress_bar(reps * grid_size, quiet, "plan") as advance, user_errors():
        result = planner.plan(
            scenario, targets, vary or [], goal, reps, seed, set_ or [], store=points,
            executor=executor_name(executor), workers=workers, dask_address=dask_address, precision=precision,
            max_reps=max_reps, progress=advance,
        )  # fmt: skip
    terminal_decisions.plan(result)
    write_plan(result, terminal_decisions.chart_target(result), target_dir, command_line())
    terminal.say(f"plan written to {target_dir}/")
    if result.plan is None:
        raise typer.Exit(NO_PLAN_EXIT)
