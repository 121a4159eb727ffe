"""`funnelsim sensitivity`: which assumption moves a figure most, a thin shell over `funnelsim.sensitivity`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from funnelsim.cli.common import (
    DaskAddress,
    Executor,
    Quiet,
    Resume,
    ScenarioArg,
    Seed,
    Sets,
    Store,
    Workers,
    app,
    executor_name,
    metric_option_help,
    point_store_beside,
    progress_bar,
    slug,
    user_errors,
)
from funnelsim.experiment import sensitivity as sens
from funnelsim.experiment.executors import ExecutorChoice
from funnelsim.experiment.grid import check_metrics, load_point
from funnelsim.experiment.points import PointStore
from funnelsim.experiment.runner import DEFAULT_SEED
from funnelsim.report import terminal, terminal_decisions
from funnelsim.report.outputs import write_sensitivity


@app.command()
def sensitivity(
    scenario: ScenarioArg = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="A parameter and its range around the scenario's value, KEY=LOW..HIGH (repeatable), e.g. "
            "sales.sdr.reach=0.6..0.9 or sales.patience.exponential.mean=3d..14d; KEY alone means ±25%. "
            "Default: the scenario's assumptions (see funnelsim/experiment/sensitivity.py), ±25%.",
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help=metric_option_help("customers")),
    ] = None,
    reps: Annotated[int, typer.Option("--reps", "-n", min=2, help="Replications per run (paired by seed).")] = 10,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for sensitivity.csv and the tornado charts.")
    ] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    dask_address: DaskAddress = None,
    store: Store = None,
    resume: Resume = True,
    quiet: Quiet = False,
) -> None:
    """Which assumption moves a figure most: one at a time, low and high, on common random numbers."""
    with user_errors():
        names = check_metrics(metric or ["customers"])
        base = load_point(scenario, set_ or [], {})
        parameters = [sens.parse_parameter(p, base) for p in param or []] or sens.default_parameters(base)
        if not parameters:
            raise sens.SensitivityError("no parameters to vary: give --param KEY=LOW..HIGH")
    target = out or Path("results") / f"sensitivity-{slug(base.name)}"
    points = PointStore((store or point_store_beside(target)) if resume else None)
    with progress_bar(reps * (1 + 2 * len(parameters)), quiet, "sensitivity") as advance, user_errors():
        result = sens.sensitivity(
            scenario, parameters, names, reps, seed, set_ or [], store=points, executor=executor_name(executor),
            workers=workers, dask_address=dask_address, progress=advance,
        )  # fmt: skip
    terminal_decisions.sensitivity(result, names, base.name, reps, seed)
    write_sensitivity(result, names, base.name, target)
    terminal.say(f"sensitivity written to {target}/")
