"""`funnelsim compare`: scenarios or policy variants on common random numbers, paired differences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from funnelsim import metrics
from funnelsim.cli.common import (
    AllowLarge,
    Executor,
    Force,
    MaxReps,
    Precision,
    Quiet,
    Reps,
    Seed,
    Sets,
    Workers,
    app,
    command_line,
    executor_name,
    interruptible,
    metric_option_help,
    progress_bar,
    slug,
    user_errors,
)
from funnelsim.experiment import grid as grids
from funnelsim.experiment.executors import ExecutorChoice
from funnelsim.experiment.points import ExecutorOptions
from funnelsim.experiment.precision import check_precision, compare_to_precision
from funnelsim.experiment.runner import DEFAULT_REPS, DEFAULT_SEED, check_sizes
from funnelsim.experiment.runner import compare as api_compare
from funnelsim.report import terminal
from funnelsim.report.outputs import write_compare
from funnelsim.report.paths import claim_output, safe_component
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.schema import Scenario


def variants(sources: Sequence[str], vary: Sequence[str], sets: Sequence[str]) -> list[Scenario]:
    """Each scenario, or with --vary each point of the full factorial grid of each scenario."""
    if not vary:
        return [load_scenario(s, sets) for s in sources]
    settings = grids.grid_settings(grids.parse_axes(vary, "--vary"))
    out = []
    for source in sources:
        for setting in settings:
            loaded = grids.load_point(source, sets, setting)
            label = ",".join(f"{k.split('.')[-1]}={v}" for k, v in setting.items())
            out.append(loaded.model_copy(update={"name": f"{loaded.name}[{label}]"}))
    return out


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two or more scenarios; the first is the reference.")],
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="Compare variants of the scenario(s), e.g. --vary sales.queue=fifo,lifo,sla; repeat it for the full "
            "factorial grid (ranges as in sweep: 1..4, 0.1..0.5:0.1).",
        ),
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help=metric_option_help("the headline set"))
    ] = None,
    reps: Reps = DEFAULT_REPS,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for comparison.csv and a chart.")] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    precision: Precision = None,
    max_reps: MaxReps = None,
    allow_large: AllowLarge = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run scenarios (or policy variants) with the same seeds; show paired differences with 95% CIs."""
    with user_errors():
        loaded = variants(scenarios, vary or [], set_ or [])
        if len(loaded) < 2:
            raise ScenarioError("compare needs at least two scenarios, or one with --vary KEY=V1,V2")
        check_sizes(loaded, reps, allow_large)
        wanted = grids.check_metrics(metric or list(metrics.HEADLINE))
        check_precision(precision, reps, max_reps)
        default_name = "compare-" + "-vs-".join(slug(s.name) for s in loaded)
        slot = claim_output(out or Path("results") / safe_component(default_name[:120]), force)
    with slot, interruptible(slot), user_errors():
        if precision is not None:
            options = ExecutorOptions(executor_name(executor), workers)
            outcome, reports = compare_to_precision(loaded, precision, reps, seed, max_reps, options=options)
            for measured, report in zip(loaded, reports):
                terminal.precision_line(measured.name, report)
            reps = len(outcome.results[0].replications)
        else:
            with progress_bar(reps * len(loaded), quiet, "compare") as advance:
                outcome = api_compare(
                    loaded, reps, seed, progress=advance, workers=workers, executor=executor_name(executor),
                    allow_large=allow_large, timeseries_step_hours=None, size_checked=True,
                )  # fmt: skip
        for result in outcome.results:
            terminal.failures(result)
        terminal.comparison(outcome, wanted, reps, seed)
        target = write_compare(outcome, wanted, slot, command=command_line())
    terminal.say(f"comparison written to {target}/")
    lost = [r.scenario.name for r in outcome.results if r.summary.empty]
    if lost:
        terminal.error(
            f"every replication of {', '.join(lost)} failed, so it has no figures and no differences; "
            f"the other scenarios' figures and each error (manifest.json) are in {target}/"
        )
        raise typer.Exit(1)
