"""`funnelsim backtest`: a past period simulated beside what really happened."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from funnelsim.calibrate.backtest import backtest as api_backtest
from funnelsim.calibrate.table import CalibrationError
from funnelsim.cli.calibrate import DropInvalid, Mapping
from funnelsim.cli.common import Executor, Reps, Seed, Workers, app, executor_name, fail, slug, user_errors
from funnelsim.experiment.executors import ExecutorChoice
from funnelsim.experiment.runner import DEFAULT_SEED
from funnelsim.report import terminal, terminal_checks
from funnelsim.report.outputs import write_backtest


@app.command()
def backtest(
    scenario: Annotated[str, typer.Argument(help="Scenario file (e.g. from calibrate) or bundled name.")],
    actual: Annotated[Path, typer.Option("--actual", help="Lead table with what really happened (CSV or parquet).")],
    from_: Annotated[str, typer.Option("--from", help="First day of the period (leads created from then).")],
    to: Annotated[str, typer.Option("--to", help="Day after the period (leads created before then).")],
    deals: Annotated[Path | None, typer.Option("--deals", help="Deals table joined on the lead id.")] = None,
    map_: Mapping = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Time zone of naive timestamps (default: the scenario's).")
    ] = None,
    reps: Reps = 100,
    seed: Seed = DEFAULT_SEED,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for backtest.csv and the chart.")] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    drop_invalid: DropInvalid = False,
) -> None:
    """Simulate a period and set the real leads, won deals and time to win beside the 95% interval; exits 0."""
    try:
        with user_errors():
            result = api_backtest(
                scenario, actual, from_, to, map_ or [], deals, timezone, reps, seed, executor_name(executor),
                workers, drop_invalid,
            )  # fmt: skip
    except CalibrationError as error:
        fail(str(error))
    terminal_checks.backtest(result)
    target = out or Path("backtest") / slug(result.scenario.name)
    write_backtest(result, target)
    terminal.say(f"backtest written to {target}/")
