"""`funnelsim run`: replications of one scenario, the figures with 95% intervals, a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from funnelsim.cli.common import (
    AllowLarge,
    DaskAddress,
    Executor,
    Force,
    MaxReps,
    Precision,
    Quiet,
    Reps,
    ScenarioArg,
    Seed,
    Sets,
    Workers,
    app,
    command_line,
    executor_name,
    fail,
    interruptible,
    progress_bar,
    user_errors,
)
from funnelsim.experiment.executors import ExecutorChoice, check_executor, default_workers
from funnelsim.experiment.precision import check_precision, run_to_precision
from funnelsim.experiment.runner import DEFAULT_REPS, DEFAULT_SEED, RunResult, check_size, replication_seeds
from funnelsim.experiment.runner import run as api_run
from funnelsim.model.simulate import simulate
from funnelsim.report import terminal
from funnelsim.report.charts_ahead import ChartsAhead
from funnelsim.report.crm import crm_frame, write_crm
from funnelsim.report.paths import OutputError, OutputSlot, claim_output
from funnelsim.report.results import write_run
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario


@app.command()
def run(
    scenario: ScenarioArg = None,
    reps: Reps = DEFAULT_REPS,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Results folder (default: results/<name>).")] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    dask_address: DaskAddress = None,
    keep_leads: Annotated[
        bool, typer.Option("--keep-leads", help="Also write leads.parquet (one row per lead).")
    ] = False,
    charts: Annotated[bool, typer.Option("--charts/--no-charts", help="Draw charts/*.png.")] = True,
    export_crm: Annotated[
        Path | None,
        typer.Option(
            "--export-crm",
            help="Also write replication 0's leads as a CRM export (.csv or .parquet), the layout calibrate reads.",
        ),
    ] = None,
    precision: Precision = None,
    max_reps: MaxReps = None,
    allow_large: AllowLarge = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run a scenario many times; print figures with 95% intervals and write a results folder."""
    with user_errors():
        check_precision(precision, reps, max_reps)
        if keep_leads and precision is not None:
            fail("--keep-leads and --precision cannot be combined (the replications are added in rounds)")
        loaded = load_scenario(scenario, set_ or [])
        check_size(loaded, max_reps or reps if precision is not None else reps, allow_large)
        check_executor(executor.value, dask_address)
        slot = claim_output(out or Path("results") / loaded.name, force)
    with slot, interruptible(slot), user_errors():
        if precision is None:
            with progress_bar(reps, quiet, loaded.name) as advance:
                elsewhere = executor != ExecutorChoice.serial and reps > 1 and (workers or default_workers()) > 1
                ahead = ChartsAhead(advance, enabled=charts and elsewhere)
                result = api_run(
                    loaded, reps, seed, workers=workers, executor=executor_name(executor), dask_address=dask_address,
                    keep_leads=keep_leads, size_checked=True, progress=ahead,
                )  # fmt: skip
                ahead.wait()
            terminal.failures(result)
        else:
            result, report = run_to_precision(
                loaded, precision, reps, seed, max_reps, executor=executor.value, workers=workers,
                dask_address=dask_address, timeseries_step_hours=1.0,
            )  # fmt: skip
            terminal.failures(result)
            terminal.precision_line(loaded.name, report)
        _report_and_write(result, slot, charts)
    if export_crm is not None:
        _export_crm(loaded, seed, reps, export_crm)


def _report_and_write(result: RunResult, slot: OutputSlot, charts: bool) -> None:
    everything_failed = result.summary.empty
    if not everything_failed:
        terminal.run_summary(result)
    target = slot.target
    try:
        write_run(result, slot, command=command_line(), charts=charts)
    except (OSError, OutputError) as error:
        terminal.error(f"cannot write the results to {target}: {error}")
        raise typer.Exit(1) from None
    if everything_failed:
        terminal.error(f"every replication failed; the manifest with each error is in {target}/")
        raise typer.Exit(1)
    terminal.say(f"results written to {target}/ (simulated in {result.timings['wall_seconds']:.1f} s)")


def _export_crm(scenario: Scenario, seed: int, reps: int, path: Path) -> None:
    """Replication 0 again, with its per-lead records, written in the CRM layout."""
    records = simulate(scenario, replication_seeds(seed, reps)[0])
    try:
        write_crm(crm_frame(records, scenario), path)
    except OSError as error:
        fail(f"--export-crm {path}: cannot write the export: {error}")
    terminal.say(f"CRM export of replication 0 ({records.n_leads:,} leads) written to {path}")
