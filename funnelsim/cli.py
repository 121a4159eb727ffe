"""The `funnelsim` command: a thin shell over the public API that prints tables and writes results."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from funnelsim import metrics
from funnelsim.experiment.executors import ExecutorChoice, ExecutorError, check_executor
from funnelsim.experiment.grid import check_metrics
from funnelsim.experiment.runner import DEFAULT_REPS, DEFAULT_SEED, RunResult, TooMuchWork, check_size
from funnelsim.experiment.signals import Interrupted, stop_on_signals
from funnelsim.metrics import HEADLINE
from funnelsim.report.paths import OutputError, OutputSlot, claim_output, safe_component
from funnelsim.scenario.loader import ScenarioError, bundled_scenarios, load_scenario, resolve_scenario_path
from funnelsim.scenario.schema import Scenario

app = typer.Typer(
    help="Simulate B2B marketing and sales funnels: speed to lead, rep capacity, conversion, revenue, churn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Piped output keeps whole table rows (rich would wrap at 80 columns without a terminal).
# emoji=False: ":100:" in a message is a line number, not an emoji. User text is escaped
# (rich.markup.escape) wherever it is printed, so brackets in names are never read as markup.
out_console = Console(width=None if sys.stdout.isatty() else 200, emoji=False)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200, emoji=False)

USER_ERROR_EXIT = 2


def fail(message: str) -> NoReturn:
    """A user's mistake: one clear paragraph on stderr, exit code 2, no traceback."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(USER_ERROR_EXIT)


@contextlib.contextmanager
def interruptible(slot: OutputSlot) -> Iterator[None]:
    """SIGINT/SIGTERM: stop the workers, remove the temporary folder, say so, exit 130/143."""
    try:
        with stop_on_signals():
            yield
    except Interrupted as stop:
        slot.release()
        err_console.print(
            f"[bold red]interrupted[/] by {stop.name}: worker processes stopped, temporary folder removed; "
            f"nothing was written to {escape(str(slot.target))} (earlier results there, if any, are untouched)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(stop.exit_code) from None


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except (ScenarioError, TooMuchWork, ExecutorError, OutputError) as error:
        fail(str(error))


# --- shared options -----------------------------------------------------------------------

Reps = Annotated[
    int, typer.Option("--reps", "-n", min=1, max=100_000, help="Replications (each with its own random streams).")
]
Seed = Annotated[
    int,
    typer.Option("--seed", "-s", min=0, help="Master seed (0 or more); the same seed gives bit-identical results."),
]
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field by dotted path, e.g. --set sales.sdr.count=3 (repeatable)."),
]
Workers = Annotated[
    int | None, typer.Option("--workers", "-w", min=1, max=4096, help="Worker processes (default: all cores).")
]
Executor = Annotated[ExecutorChoice, typer.Option("--executor", help="serial, processes or dask.")]
DaskAddress = Annotated[str | None, typer.Option("--dask-address", help="Scheduler address for --executor dask.")]
AllowLarge = Annotated[bool, typer.Option("--allow-large", help="Allow runs of more than 50 million leads.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
Precision = Annotated[
    float | None,
    typer.Option(
        "--precision",
        help="Add replications until each headline figure's 95% half-width is within this share of its mean "
        "(0.5 pp for a rate), e.g. 0.02; --reps is the start, --max-reps the cap.",
    ),
]
MaxReps = Annotated[int | None, typer.Option("--max-reps", min=2, help="Cap on replications for --precision.")]
Store = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Folder of finished points (default: points/ beside the output folder, e.g. results/points); "
        "rerunning a command computes only the missing ones.",
    ),
]
Resume = Annotated[bool, typer.Option("--resume/--no-resume", help="Reuse points already in --store.")]
Force = Annotated[
    bool, typer.Option("--force", "-f", help="Replace the output folder if it holds earlier funnelsim results.")
]


def _progress(total: int, quiet: bool, label: str) -> contextlib.AbstractContextManager[Any]:
    if quiet or not err_console.is_terminal:
        return contextlib.nullcontext(None)
    progress = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, transient=True
    )
    progress.add_task(label, total=total)
    return progress


def _advance(progress: Any) -> Any:
    if progress is None:
        return None
    task = progress.tasks[0].id
    return lambda n: progress.advance(task, n)


def _execute(scenario: Scenario, reps: int, seed: int, options: dict[str, Any], quiet: bool, label: str) -> RunResult:
    from funnelsim.experiment.runner import run as api_run

    with _progress(reps, quiet, label) as progress, user_errors():
        result = api_run(scenario, reps, seed, progress=_advance(progress), **options)
    _warn_failures(result)
    return result


def _execute_to_precision(
    scenario: Scenario, reps: int, seed: int, options: dict[str, Any], quiet: bool, precision: float, cap: int | None
) -> RunResult:
    from funnelsim.experiment.precision import run_to_precision

    if options.get("keep_leads"):
        fail("--keep-leads and --precision cannot be combined (the replications are added in rounds)")
    with user_errors():
        check_size(scenario, cap or reps, options.get("allow_large", False))
        result, report = run_to_precision(
            scenario, precision, reps, seed, cap, executor=options["executor"], workers=options["workers"],
            dask_address=options.get("dask_address"), timeseries_step_hours=1.0,
        )  # fmt: skip
    _warn_failures(result)
    say_precision(scenario.name, report)
    return result


def say_precision(name: str, report: Any) -> None:
    """One line on how precise the run became; a warning when the cap stopped it first."""
    if report.met:
        err_console.print(f"{name}: {report.describe()}", highlight=False)
    else:
        err_console.print(f"[yellow]warning:[/] {name}: {report.describe()}", highlight=False, soft_wrap=True)


def _warn_failures(result: RunResult) -> None:
    """Failed replications are kept in the results; say so, with the first error."""
    name = escape(result.scenario.name)
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {name}: {escape(note)}", highlight=False)
    if len(result.failed):
        first = result.failed.iloc[0]
        err_console.print(
            f"[yellow]warning:[/] {name}: {len(result.failed)} of {len(result.replications)} "
            "replications failed; they are recorded in replications.parquet and the manifest. "
            f"First error (replication {first.replication}):\n{escape(str(first.error))}",
            highlight=False,
        )


def metric_names() -> list[str]:
    from funnelsim.metrics import FIGURES

    return list(FIGURES)


def _metric_option_help(default: str) -> str:
    return f"Metric to show (repeatable; default: {default}). Valid: {', '.join(metric_names())}."


# --- run ----------------------------------------------------------------------------------


@app.command()
def run(
    scenario: Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")] = None,
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
    from funnelsim.experiment.precision import check_precision

    with user_errors():
        check_precision(precision, reps, max_reps)
        loaded = load_scenario(scenario, set_ or [])
        check_size(loaded, reps, allow_large)
        check_executor(executor.value, dask_address)
        slot = claim_output(out or Path("results") / loaded.name, force)
    with slot, interruptible(slot):
        _run_into(
            slot, loaded, reps, seed, workers, executor, dask_address, keep_leads, charts, allow_large, quiet,
            precision=precision, max_reps=max_reps, export_crm=export_crm,
        )  # fmt: skip


def _run_into(
    slot: OutputSlot,
    loaded: Scenario,
    reps: int,
    seed: int,
    workers: int | None,
    executor: ExecutorChoice,
    dask_address: str | None,
    keep_leads: bool,
    charts: bool,
    allow_large: bool,
    quiet: bool,
    *,
    precision: float | None = None,
    max_reps: int | None = None,
    export_crm: Path | None = None,
) -> None:
    from funnelsim.report.results import write_run

    options = {
        "workers": workers,
        "executor": executor.value,
        "dask_address": dask_address,
        "keep_leads": keep_leads,
        "allow_large": allow_large,
    }
    if precision is None:
        result = _execute(loaded, reps, seed, options, quiet, f"{loaded.name}")
    else:
        result = _execute_to_precision(loaded, reps, seed, options, quiet, precision, max_reps)
    everything_failed = result.summary.empty
    if not everything_failed:
        print_summary(result)
    target = slot.target
    try:
        write_run(result, slot, command=["funnelsim", *sys.argv[1:]], charts=charts)
    except (OSError, OutputError) as error:
        err_console.print(
            f"[bold red]error:[/] cannot write the results to {escape(str(target))}: {escape(str(error))}"
        )
        raise typer.Exit(1) from None
    if everything_failed:
        err_console.print(
            f"[bold red]error:[/] every replication failed; the manifest with each error is in {escape(str(target))}/"
        )
        raise typer.Exit(1)
    out_console.print(
        f"results written to {escape(str(target))}/ (simulated in {result.timings['wall_seconds']:.1f} s)"
    )
    out_console.print(
        f"results written to {escape(str(target))}/ (simulated in {result.timings['wall_seconds']:.1f} s)"
    )
    if export_crm is not None:
        _export_crm(loaded, seed, reps, export_crm)


def _export_crm(scenario: Scenario, seed: int, reps: int, path: Path) -> None:
    """Replication 0 again, with its per-lead records, written in the CRM layout."""
    from funnelsim.experiment.runner import replication_seeds
    from funnelsim.model.simulate import simulate
    from funnelsim.report.crm import crm_frame, write_crm

    records = simulate(scenario, replication_seeds(seed, reps)[0])
    try:
        write_crm(crm_frame(records, scenario), path)
    except OSError as error:
        fail(f"--export-crm {path}: cannot write the export: {error}")
    out_console.print(f"CRM export of replication 0 ({records.n_leads:,} leads) written to {path}")


def print_summary(result: RunResult) -> None:
    from funnelsim.metrics import FIGURES
    from funnelsim.report.formatting import figure_info, format_interval, format_value, unit_suffix

    summary = result.summary.set_index("metric")
    scenario = result.scenario
    money = scenario.currency
    table = Table(
        title=f"{escape(scenario.name)} — {len(result.replications)} replications, seed {result.seed}, "
        f"horizon {scenario.horizon / 24:g} d (warm-up {scenario.warmup / 24:g} d)",
        title_justify="left",
    )
    table.add_column("Section")
    table.add_column("Metric")
    table.add_column("Mean", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("Per year of window", justify="right")
    last_section = None
    order = {name: i for i, name in enumerate(FIGURES)}
    for metric in sorted(summary.index, key=lambda m: order.get(m, len(order))):
        if metric.startswith("channel."):
            continue
        info = figure_info(metric)
        row = summary.loc[metric]
        section = info.section if info.section != last_section else ""
        last_section = info.section
        table.add_row(
            section,
            info.label + unit_suffix(info.unit),
            format_value(row["mean"], info.unit, money),
            format_interval(row["ci_low"], row["ci_high"], info.unit, money),
            "" if (per_year := metrics.per_year_of_window(metric, row["mean"], scenario)) is None
            else format_value(per_year, info.unit),
        )  # fmt: skip
    out_console.print(table)
    channels = Table(title="By channel (means)", title_justify="left")
    for column in ("Channel", "Leads", "MQLs", "Customers", "Lead -> customer", "Cost per customer"):
        channels.add_column(column, justify="left" if column == "Channel" else "right")
    for name in scenario.channels:

        def cell(figure: str, unit: str, name: str = name) -> str:
            key = f"channel.{name}.{figure}"
            return format_value(summary.loc[key, "mean"], unit, money) if key in summary.index else "–"

        channels.add_row(
            escape(name),
            cell("leads", "leads"),
            cell("mqls", "leads"),
            cell("customers", "customers"),
            cell("lead_to_customer", "%"),
            cell("cost_per_customer", "money"),
        )
    out_console.print(channels)
    print_capacity_warnings(result)


def print_capacity_warnings(result: RunResult) -> None:
    """Each resource that cannot keep up, by name, with its load and what would make it stable;
    and a censored cohort."""
    for overload in result.overloads:
        kind = "[bold yellow]warning:[/]" if overload.overloaded else "[yellow]note:[/]"
        out_console.print(f"{kind} {escape(result.scenario.name)}: {escape(overload.message)}", soft_wrap=True)
    censored = metrics.censoring_warning(result.summary, result.scenario.follow_up_hours)
    if censored:
        name = escape(result.scenario.name)
        out_console.print(f"[bold yellow]warning:[/] {name}: {escape(censored)}", soft_wrap=True)


def capacity_cell(result: RunResult) -> str:
    """'stable', or the overloaded resources with their loads."""
    hard = [o for o in result.overloads if o.overloaded]
    if not hard:
        return "stable"
    return "OVERLOADED: " + ", ".join(f"{o.resource} {o.load:.2f}x" for o in hard)


# --- compare -------------------------------------------------------------------------------


def _variants(sources: Sequence[str], vary: Sequence[str], sets: Sequence[str]) -> list[Scenario]:
    """Each scenario, or with --vary each point of the full factorial grid of each scenario."""
    from funnelsim.experiment import grid as grids

    scenarios = [load_scenario(s, sets) for s in sources]
    if not vary:
        return scenarios
    axes = grids.parse_axes(vary, "--vary")
    settings = grids.grid_settings(axes)
    variants = []
    for source in sources:
        for setting in settings:
            loaded = grids.load_point(source, sets, setting)
            label = ",".join(f"{k.split('.')[-1]}={v}" for k, v in setting.items())
            variants.append(loaded.model_copy(update={"name": f"{loaded.name}[{label}]"}))
    return variants


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
        list[str] | None, typer.Option("--metric", "-m", help=_metric_option_help("the headline set"))
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

    from funnelsim.experiment.precision import check_precision
    from funnelsim.experiment.runner import compare as api_compare
    from funnelsim.report.formatting import (
        figure_info,
        format_difference,
        format_difference_interval,
        format_value,
    )
    from funnelsim.report.outputs import write_compare

    with user_errors():
        loaded = _variants(scenarios, vary or [], set_ or [])
        if len(loaded) < 2:
            raise ScenarioError("compare needs at least two scenarios, or one with --vary KEY=V1,V2")
        for scenario in loaded:
            check_size(scenario, reps * len(loaded), allow_large)
        wanted = check_metrics(metric or list(HEADLINE))
        check_precision(precision, reps, max_reps)
        default_name = "compare-" + "-vs-".join(_slug(s.name) for s in loaded)
        slot = claim_output(out or Path("results") / safe_component(default_name[:120]), force)
    options = {"workers": workers, "executor": executor, "allow_large": allow_large, "timeseries_step_hours": None}
    if precision is not None:
        from funnelsim.experiment.points import ExecutorOptions
        from funnelsim.experiment.precision import compare_to_precision

        with user_errors():
            outcome, reports = compare_to_precision(
                loaded,
                precision,
                reps,
                seed,
                max_reps,
                options=ExecutorOptions(executor, workers),  # type: ignore[arg-type]
            )
        for measured, report in zip(loaded, reports):
            say_precision(measured.name, report)
        reps = len(outcome.results[0].replications)
    else:
        with _progress(reps * len(loaded), quiet, "compare") as progress, user_errors():
            outcome = api_compare(loaded, reps, seed, progress=_advance(progress), **options)
    results = outcome.results
    for result in results:
        _warn_failures(result)
    base = results[0]
    diffs = [outcome.differences[r.scenario.name].set_index("metric") for r in results[1:]]

    money = base.scenario.currency
    table = Table(title=f"{len(results)} scenarios, {reps} paired replications, seed {seed}", title_justify="left")
    table.add_column("Metric")
    table.add_column(escape(base.scenario.name), justify="right")  # names like "x[queue=lifo]" are not markup
    for r in results[1:]:
        table.add_column(escape(r.scenario.name), justify="right")
        table.add_column("difference [95% CI]", justify="right")
    capacity = ["Capacity", capacity_cell(base)]
    for r in results[1:]:
        mixed = bool(r.overloaded) != bool(base.overloaded)
        capacity += [capacity_cell(r), "overloaded vs stable: see note" if mixed else ""]
    table.add_row(*capacity, end_section=True)
    for name in wanted:
        info = figure_info(name)
        base_mean = base.summary.set_index("metric")["mean"].get(name, float("nan"))
        cells = [info.label, format_value(base_mean, info.unit, money)]
        for r, d in zip(results[1:], diffs):
            if name not in d.index:
                cells += ["–", ""]
                continue
            entry = d.loc[name]
            cells += [
                format_value(entry["mean_b"], info.unit, r.scenario.currency),
                f"{format_difference(entry['difference'], info.unit, money)} "
                + format_difference_interval(entry["ci_low"], entry["ci_high"], info.unit, money, with_unit=False),
            ]
        table.add_row(*cells)
    out_console.print(table)
    print_incremental(outcome)
    for r in results:
        print_capacity_warnings(r)
    for r in results[1:]:
        if bool(r.overloaded) != bool(base.overloaded) and not (r.summary.empty or base.summary.empty):
            over, stable = (r, base) if r.overloaded else (base, r)
            out_console.print(
                f"[bold yellow]note:[/] {escape(over.scenario.name)} is overloaded ({', '.join(over.overloaded)}) and "
                f"{escape(stable.scenario.name)} is stable: their difference mixes the policy with a backlog that "
                "grows with the horizon, so it is not an estimate of the policy's effect",
                soft_wrap=True,
            )
    target = write_compare(outcome, wanted, slot, command=["funnelsim", *sys.argv[1:]])
    out_console.print(f"comparison written to {escape(str(target))}/")
    lost = [r.scenario.name for r in results if r.summary.empty]
    if lost:
        err_console.print(
            f"[bold red]error:[/] every replication of {escape(', '.join(lost))} failed, so it has no figures and "
            f"no differences; the other scenarios' figures and each error (manifest.json) are in {escape(str(target))}/"
        )
        raise typer.Exit(1)


def print_incremental(outcome: Any) -> None:
    """Per variant: extra customers, ARR and spend against the reference, and spend per extra customer."""
    from funnelsim.report.formatting import format_difference, format_difference_interval, format_interval, format_value

    base = outcome.results[0]
    money = base.scenario.currency
    table = Table(
        title=f"Against {escape(base.scenario.name)}: what the change buys (paired means, 95% CI; spend per extra "
        "customer = mean extra spend / mean extra customers, delta-method interval)",
        title_justify="left",
    )
    for column in ("Variant", "Extra customers", "Extra ARR (bookings)", "Extra spend", "Spend per extra customer"):
        table.add_column(column, justify="left" if column == "Variant" else "right")
    for row in outcome.incremental.itertuples():

        def cell(name: str, unit: str, row: Any = row) -> str:
            low, high = getattr(row, f"{name}_ci_low"), getattr(row, f"{name}_ci_high")
            text = format_difference(getattr(row, name), unit, money)
            return f"{text} {format_difference_interval(low, high, unit, money, with_unit=False)}".strip()

        if row.extra_customers_ci_low > 0:
            ratio = row.cost_per_extra_customer
            interval = format_interval(
                row.cost_per_extra_customer_ci_low, row.cost_per_extra_customer_ci_high, "money", with_unit=False
            )
            per_customer = f"{format_value(ratio, 'money', money)} {interval}".strip()
        elif row.extra_customers_ci_high < 0:
            per_customer = "– (fewer customers)"
        else:
            per_customer = "– (no clear gain in customers)"
        table.add_row(
            escape(row.scenario),
            cell("extra_customers", "customers"),
            cell("extra_arr", "money"),
            cell("extra_spend", "money"),
            per_customer,
        )
    out_console.print(table)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")


# --- sweep ---------------------------------------------------------------------------------


SWEEP_METRICS = ("customers", "lead_to_customer", "answered_within_1h", "abandon_rate", "sdr_utilisation", "cac")


@app.command()
def sweep(
    scenario: Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")] = None,
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
        list[str] | None, typer.Option("--metric", "-m", help=_metric_option_help(", ".join(SWEEP_METRICS)))
    ] = None,
    reps: Reps = DEFAULT_REPS,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for sweep.csv and charts.")] = None,
    workers: Workers = None,
    executor: Executor = "processes",
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
    from funnelsim.experiment import grid as grids
    from funnelsim.experiment.points import PointStore
    from funnelsim.experiment.precision import check_precision
    from funnelsim.experiment.runner import SweepResult
    from funnelsim.report.formatting import figure_info, format_interval, format_value
    from funnelsim.report.outputs import write_grid, write_sweep

    with user_errors():
        specs = _vary_specs(vary, param, values)
        axes = grids.parse_axes(specs, "--vary")
        wanted = grids.check_metrics(metric or SWEEP_METRICS)
        check_precision(precision, reps, max_reps)
        settings = grids.grid_settings(axes)
        first = grids.load_point(scenario, set_ or [], settings[0])
        for setting in settings[1:]:
            grids.load_point(scenario, set_ or [], setting)
        check_size(first, reps * len(settings), allow_large)
        default_name = f"sweep-{_slug(first.name)}-{'-'.join(_slug(a.key) for a in axes)}"[:120]
        slot = claim_output(out or Path("results") / safe_component(default_name), force)
    target = slot.target
    store = store or point_store_beside(target)
    points = PointStore(store if resume else None)
    with _progress(reps * len(settings), quiet, "sweep") as progress, user_errors():
        outcome = grids.grid(
            scenario, axes, reps, seed, set_ or [], store=points, executor=executor, workers=workers,
            dask_address=dask_address, allow_large=allow_large, precision=precision, max_reps=max_reps,
            progress=_advance(progress),
        )  # fmt: skip
    for result in outcome.results:
        _warn_failures(result)
    keys = [a.key for a in axes]
    title = f"{first.name}: sweep of {' x '.join(keys)} ({len(settings)} points), seed {seed}"
    table = Table(title=title, title_justify="left")
    for key in keys:
        table.add_column(key)
    table.add_column("Reps", justify="right")
    for name in wanted:
        table.add_column(figure_info(name).label, justify="right")
    table.add_column("Capacity")
    for setting, result in zip(outcome.settings, outcome.results):
        summary = result.summary.set_index("metric")
        money = result.scenario.currency
        cells = [str(setting[k]) for k in keys] + [str(len(result.replications))]
        for name in wanted:
            unit = figure_info(name).unit
            if name not in summary.index:
                cells.append("–")
                continue
            entry = summary.loc[name]
            cells.append(
                f"{format_value(entry['mean'], unit, money)} "
                f"{format_interval(entry['ci_low'], entry['ci_high'], unit, money, with_unit=False)}"
            )
        table.add_row(*(escape(c) for c in cells), capacity_cell(result))
    out_console.print(table)
    for setting, result in zip(outcome.settings, outcome.results):
        point = escape(", ".join(f"{k}={setting[k]}" for k in keys))
        for overload in result.overloads:
            kind = "[bold yellow]warning:[/]" if overload.overloaded else "[yellow]note:[/]"
            out_console.print(f"{kind} {point}: {escape(overload.message)}", soft_wrap=True)
    tidy = outcome.table
    tidy = tidy[tidy["metric"].isin(wanted)].reset_index(drop=True)
    out_console.print(
        f"points: {outcome.computed} computed, {outcome.reused} reused from {store}/"
        if resume
        else f"points: {outcome.computed} computed (--no-resume: nothing stored)",
        highlight=False,
    )

    if len(keys) == 1:  # one parameter: the full results folder (manifest, charts, report-ready)
        values = [setting[keys[0]] for setting in outcome.settings]
        swept = SweepResult(keys[0], values, list(outcome.results))
        write_sweep(swept, wanted, slot, command=["funnelsim", *sys.argv[1:]])
    else:  # a grid: sweep.csv, a manifest, and a heatmap per metric for two fields
        write_grid(outcome, wanted, slot, command=["funnelsim", *sys.argv[1:]])
    out_console.print(f"sweep written to {escape(str(target))}/")


# --- calibrate and backtest ----------------------------------------------------------------

Mapping = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="field=column (repeatable), or a YAML file of them; fields: lead_id, created_at, mql_at, channel, "
        "first_touch_at, sql_at, won_at, lost_at, deal_mrr, rep_id, ae_id, fit. A field named like its column "
        "needs no mapping; field= leaves it out.",
    ),
]
Timezone = Annotated[str, typer.Option("--timezone", help="Time zone of timestamps without a UTC offset.")]
DropInvalid = Annotated[
    bool, typer.Option("--drop-invalid", help="Leave out leads with a stage dated before their creation.")
]


@app.command()
def calibrate(
    leads: Annotated[Path, typer.Argument(help="Lead table, CSV or parquet: one row per lead.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Scenario file to write, e.g. my-funnel.yaml.")],
    deals: Annotated[Path | None, typer.Option("--deals", help="Deals table joined on the lead id.")] = None,
    map_: Mapping = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Treat the data as observed up to this date (later leads left out).")
    ] = None,
    timezone: Timezone = "UTC",
    name: Annotated[str | None, typer.Option("--name", help="Scenario name (default: the file's stem).")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Calibration report folder (default: calibration/<name>).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Fit only leads created from this date (the funnel as it is now).")
    ] = None,
    deal_kind: Annotated[str, typer.Option("--deal-kind", help="deal_mrr values are mrr or one-off.")] = "mrr",
    drop_invalid: DropInvalid = False,
) -> None:
    """Fit a scenario to a CRM export; write it with a comment on every number, and a calibration report."""
    from funnelsim.calibrate.table import CalibrationError

    try:
        from funnelsim.calibrate.api import calibrate_files, write_calibration
    except ImportError as error:
        fail(f"calibrate needs scipy ({error}); install it with: pip install 'funnelsim[calibrate]'")

    try:
        outcome = calibrate_files(
            leads, map_ or [], deals, until, timezone, name, deal_kind, drop_invalid, " ".join(sys.argv[1:]), since
        )
    except CalibrationError as error:
        fail(str(error))
    for note in outcome.calibration.notes:
        err_console.print(f"note: {escape(note)}", soft_wrap=True, highlight=False)
    for warning in outcome.calibration.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True, highlight=False)
    print_calibration(outcome.calibration.figures_frame(), outcome.scenario.name)
    folder = report or Path("calibration") / _slug(outcome.scenario.name)
    try:
        write_calibration(outcome, out, folder)
    except OSError as error:
        fail(f"cannot write {out} or {folder}: {error}")
    out_console.print(f"scenario written to {out}; calibration report in {folder}/", highlight=False)


def print_calibration(figures: Any, name: str) -> None:
    table = Table(title=f"{name}: fitted against the data (95% intervals)", title_justify="left")
    for column in ("Section", "Figure", "Channel", "Scenario", "Data", "95% interval", "n"):
        table.add_column(column, justify="right" if column in ("Scenario", "Data", "95% interval", "n") else "left")
    last = None
    for row in figures.itertuples():
        interval = "" if row.ci_low != row.ci_low else f"[{row.ci_low:.4g}, {row.ci_high:.4g}]"
        table.add_row(
            row.section if row.section != last else "",
            escape(row.name),
            escape(row.channel),
            f"{row.fitted:.4g}",
            f"{row.observed:.4g}",
            interval,
            f"{row.n:,}",
        )
        last = row.section
    out_console.print(table)


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
    executor: Executor = "processes",
    drop_invalid: DropInvalid = False,
) -> None:
    """Simulate a period and set the real leads, won deals and time to win beside the 95% interval; exits 0."""
    from funnelsim.calibrate.backtest import backtest as api_backtest
    from funnelsim.calibrate.table import CalibrationError
    from funnelsim.report.calibration import backtest_chart
    from funnelsim.report.results import write_atomically

    try:
        with user_errors():
            result = api_backtest(
                scenario,
                actual,
                from_,
                to,
                map_ or [],
                deals,
                timezone,
                reps,
                seed,
                executor,  # type: ignore[arg-type]
                workers,
                drop_invalid,
            )  # type: ignore[arg-type]
    except CalibrationError as error:
        fail(str(error))
    first, last = result.period
    table = Table(
        title=f"{result.scenario.name}: backtest of leads created {first} to {last} (followed to "
        f"{result.observed_until:%Y-%m-%d}), {result.reps} replications",
        title_justify="left",
    )
    for column in ("Quantity", "Channel", "Actual", "Simulated median", "Simulated 95% interval", "Inside"):
        table.add_column(column, justify="left" if column in ("Quantity", "Channel") else "right")
    for row in result.table.itertuples():
        table.add_row(
            row.quantity,
            escape(row.channel),
            f"{row.actual:,.4g}",
            f"{row.sim_median:,.4g}",
            f"[{row.sim_low:,.4g}, {row.sim_high:,.4g}]",
            "yes" if row.inside else "[bold red]no[/]",
        )
    out_console.print(table)
    inside = int(result.table["inside"].sum())
    out_console.print(
        f"{inside} of {len(result.table)} actual values inside the simulated 95% interval", highlight=False
    )
    target = out or Path("backtest") / _slug(result.scenario.name)

    def fill(folder: Path) -> None:
        result.table.to_csv(folder / "backtest.csv", index=False)
        backtest_chart(result.table, result.scenario.name, folder / "backtest.png")

    write_atomically(target, fill)
    out_console.print(f"backtest written to {target}/", highlight=False)


def point_store_beside(target: Path) -> Path:
    """Finished points live in points/ beside the command's output folder (results/points by default)."""
    return Path(target).parent / "points"


def _vary_specs(vary: Sequence[str] | None, param: Sequence[str] | None, values: str) -> list[str]:
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


# --- scenario files ------------------------------------------------------------------------


@app.command()
def validate(files: Annotated[list[str], typer.Argument(help="Scenario files (or bundled names) to check.")]) -> None:
    """Check scenario files against the schema; exit 2 if any is invalid."""
    failures = 0
    for file in files:
        try:
            scenario = load_scenario(file)
        except ScenarioError as error:
            failures += 1
            err_console.print(f"[bold red]invalid:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            continue
        out_console.print(
            f"ok: {escape(file)} ({escape(scenario.name)}: {len(scenario.channels)} channels, "
            f"about {scenario.expected_leads():,.0f} leads per replication)",
            highlight=False,
        )
    if failures:
        raise typer.Exit(USER_ERROR_EXIT)


@app.command()
def scenarios(
    all_: Annotated[bool, typer.Option("--all", help="Include the validation cases.")] = False,
) -> None:
    """List the bundled scenarios with their descriptions."""
    table = Table(title="Bundled scenarios (run one with: funnelsim run NAME)", title_justify="left")
    table.add_column("Name")
    table.add_column("Description")
    for name, path in bundled_scenarios().items():
        if name.startswith("validation/") and not all_:
            continue
        try:
            description = load_scenario(path).description
        except ScenarioError as error:
            description = f"(invalid: {error})"
        table.add_row(escape(name), escape(description))
    out_console.print(table)


@app.command()
def show(
    scenario: Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")] = None,
    set_: Sets = None,
) -> None:
    """Print a scenario as resolved (extends and overrides applied, defaults filled in)."""
    import yaml

    with user_errors():
        loaded = load_scenario(scenario, set_ or [])
        path = resolve_scenario_path(scenario or "baseline")
    out_console.print(f"# resolved from {path}", highlight=False, markup=False)
    out_console.print(yaml.safe_dump(loaded.model_dump(mode="json"), sort_keys=False), highlight=False, markup=False)


# --- verify --------------------------------------------------------------------------------

VALIDATION_DOC = Path("docs/validation.md")


@app.command()
def verify(
    quick: Annotated[
        bool, typer.Option("--quick", help="Reduced suite (fewer, shorter replications; tolerances doubled).")
    ] = False,
    reps: Annotated[
        int | None, typer.Option("--reps", "-n", min=2, help="Replications per case (default: each case's own).")
    ] = None,
    seed: Seed = DEFAULT_SEED,
    case: Annotated[
        list[str] | None, typer.Option("--case", "-c", help="Run only cases whose name contains this (repeatable).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Markdown report (default: docs/validation.md; none for --quick or --case)."),
    ] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    quiet: Quiet = False,
) -> None:
    """Check the model against queueing theory and lead-response studies; exit 1 if any check fails."""
    from funnelsim.experiment import verify as suite

    with user_errors():
        try:
            chosen = suite.select_cases(case)
        except ValueError as error:
            raise ScenarioError(str(error)) from None
        total = sum(reps or (c.quick_reps if quick else c.reps) for c in chosen)
        label = "verify (quick)" if quick else "verify"
        with _progress(total, quiet, label) as progress:
            result = suite.verify(
                quick, reps, seed, cases=chosen, workers=workers, executor=executor.value, progress=_advance(progress)
            )  # type: ignore[arg-type]
    print_verify(result)
    target = out if out is not None else (None if quick or case else VALIDATION_DOC)
    if target is not None:
        command = "funnelsim " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["verify"] else "funnelsim verify"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(suite.render_markdown(result, command), encoding="utf-8")
        out_console.print(f"validation table written to {target}")
    if not result.passed:
        raise typer.Exit(1)


def print_verify(result: Any) -> None:
    from rich.markup import escape

    from funnelsim.experiment.verify import QUICK_TOLERANCE_FACTOR, table_rows

    passed = sum(r.passed for r in result.checks)
    kind = f"quick, tolerances x{QUICK_TOLERANCE_FACTOR:g}" if result.quick else "full"
    table = Table(
        title=f"Validation ({kind}) — seed {result.seed}, {result.seconds:.0f} s: {passed} of {len(result.checks)} "
        "checks pass",
        title_justify="left",
    )
    columns = ("Case", "Quantity", "Reference", "Source", "Simulated [95% CI]", "Rel. error", "Tolerance", "Result")
    for column in columns:
        table.add_column(column, justify="right" if column in ("Reference", "Rel. error") else "left")
    last_case = None
    for row in table_rows(result):
        verdict = "[green]pass[/]" if row["result"] == "pass" else f"[bold red]FAIL[/] {escape(row['note'])}"
        cells = [
            row["case"] if row["case"] != last_case else "",
            row["quantity"],
            row["reference"],
            row["source"],
            f"{row['simulated']} {row['ci']}",
            row["rel_error"],
            row["tolerance"],
        ]
        table.add_row(*(escape(c) for c in cells), verdict)
        last_case = row["case"]
    out_console.print(table)
    out_console.print(
        "pass: 95% half-width <= tolerance and |mean - reference| <= tolerance (for a >= reference: the whole "
        "interval at or above it)",
        highlight=False,
    )


# --- bench ---------------------------------------------------------------------------------


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
    from dataclasses import replace

    from funnelsim.experiment import bench as measure

    config = measure.QUICK if quick else measure.BenchConfig()
    changes: dict[str, Any] = {"memory": memory}
    if sizes:
        try:
            changes["funnel_sizes"] = tuple(int(v.replace("_", "")) for v in sizes.split(",") if v.strip())
        except ValueError:
            fail(f"--sizes {sizes}: expected whole numbers of leads separated by commas, e.g. 10000,100000")
    if repeats:
        changes["repeats"] = repeats
    config = replace(config, **changes)

    def say(message: str) -> None:
        if not quiet:
            err_console.print(f"[dim]{message}[/]", highlight=False)

    result = measure.run_bench(config, progress=say)
    measure.write_bench(result, out)
    print_bench(result)
    out_console.print(f"measurements written to {out}", highlight=False)


def print_bench(result: dict[str, Any]) -> None:
    """The benchmark's three tables: the M/M/c queue, the full funnel at scale, the targets."""
    mmc, contenders = result["mmc"], result["mmc"]["contenders"]
    config = result["config"]
    ours = contenders["funnelsim"]
    versions = result["environment"]["versions"]
    table = Table(
        title=f"M/M/{mmc['servers']} queue at load {mmc['load']:g}, {mmc['customers']:,} customers, mean service "
        f"{60 * mmc['mean_service_hours']:g} min — median of {config['repeats']} runs"
        + (f" (Ciw {contenders['ciw']['repeats']})" if contenders.get("ciw") else ""),
        title_justify="left",
    )
    for column in ("Contender", "Rate", "funnelsim is", "Mean wait", "Events/customer"):
        table.add_column(column, justify="left" if column == "Contender" else "right")
    ceiling = result["ceiling"]["events_per_second"]
    table.add_row(f"SimPy {versions['simpy']} ceiling: bare env.timeout", f"{ceiling:,.0f} events/s", "", "", "")
    names = {"simpy": f"SimPy {versions['simpy']}, hand-written (simpy.Resource)", "ciw": "Ciw {ciw}"}
    for key in ("simpy", "ciw"):
        peer = contenders.get(key)
        if peer is None:
            table.add_row("Ciw (not installed: pip install 'funnelsim[bench]')", "–", "–", "–", "")
            continue
        rate = peer["customers_per_second"]
        table.add_row(
            names[key].format(ciw=versions.get("ciw", "")),
            f"{rate:,.0f} customers/s",
            f"{ours['customers_per_second'] / rate:.1f}x faster",
            f"{60 * peer['mean_wait_hours']:.2f} min",
            "",
        )
    half = ours["mean_wait_ci_half_hours"]
    wait = f"{60 * ours['mean_wait_hours']:.2f} ± {60 * half:.2f} min" if half == half else "–"
    table.add_row(
        f"funnelsim {versions['funnelsim']} (a scenario, only the SAL queue)",
        f"{ours['customers_per_second']:,.0f} customers/s",
        "",
        wait,
        f"{mmc['funnelsim_events'] / ours['customers']:.2f}",
    )
    table.add_row("Erlang C (theory)", "", "", f"{60 * mmc['erlang_c_mean_wait_hours']:.2f} min", "")
    out_console.print(table)

    funnel = Table(
        title=f"Full baseline funnel scaled (rates and reps x k) — median of {config['funnel_repeats']} runs; "
        "a run is simulate() + figures()",
        title_justify="left",
    )
    for column in (
        "Leads",
        "SDRs",
        "Horizon",
        "Leads/s",
        "µs/lead",
        "Bare-event equiv./lead",
        "Events/lead",
        "Peak MB, no records",
        "Peak MB, records",
    ):
        funnel.add_column(column, justify="right")
    for row in result["funnel"]:

        def mb(value: float | None) -> str:
            return f"{value:,.0f}" if value is not None else "–"

        funnel.add_row(
            f"{row['leads']:,}",
            f"{row['sdrs']}",
            f"{row['horizon_days']:.0f} d",
            f"{row['leads_per_second']:,.0f}",
            f"{row['microseconds_per_lead']:.2f}",
            f"{row['bare_events_per_lead']:.1f}",
            f"{row['engine_events_per_lead']:.2f}",
            mb(row["peak_mb_without_records"]),
            mb(row["peak_mb_with_records"]),
        )
    out_console.print(funnel)

    targets = Table(title="Targets", title_justify="left")
    for column in ("Target", "Limit", "Measured", "Result"):
        targets.add_column(column, justify="left" if column == "Target" else "right")
    for row in result["targets"]:
        limit = f"{'>=' if row['at_least'] else '<='} {row['limit']:g}"
        measured = "–" if row["measured"] is None else f"{row['measured']:,.2f}"
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[row["met"]]
        targets.add_row(row["target"], limit, measured, verdict)
    out_console.print(targets)


# --- app ----------------------------------------------------------------------------------

APP_REPS = DEFAULT_REPS  # a what-if on the baseline answers in ~1.3 s on 2 cores (warm worker pool)


@app.command("app")
def app_command(
    scenario: Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: a free one).")] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback warns.")
    ] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open the page in a browser.")] = False,
    reps: Annotated[int, typer.Option("--reps", "-n", min=1, help="Replications per what-if.")] = APP_REPS,
    seed: Seed = DEFAULT_SEED,
    workers: Workers = None,
) -> None:
    """A local what-if page: move a lever, see the funnel re-simulated against the scenario as loaded."""
    try:
        from funnelsim.app.server import serve
    except ImportError as error:
        missing = (error.name or "starlette").split(".")[0]
        fail(f'the what-if page needs the app extra ({missing} is missing): pip install ".[app]"')
    with user_errors():
        serve(
            scenario or "baseline",
            reps=reps,
            seed=seed,
            host=host,
            port=port,
            open_browser=not no_browser,
            workers=workers,
            say=lambda text: out_console.print(text, highlight=False, soft_wrap=True),
            warn=lambda text: err_console.print(f"[yellow]warning:[/] {text}", soft_wrap=True),
        )


# plan and sensitivity live in their own module; importing it registers them on `app`.
from funnelsim import cli_decisions  # noqa: E402, F401

# --- results folders: charts, report, export ---------------------------------------------------

ResultsDir = Annotated[Path, typer.Argument(help="A results folder written by run, compare or sweep.")]


@contextlib.contextmanager
def folder_errors() -> Iterator[None]:
    from funnelsim.report.folder import FolderError

    try:
        yield
    except FolderError as error:
        fail(str(error))


@app.command()
def chart(folder: ResultsDir) -> None:
    """Redraw a results folder's charts (charts/*.png) from its files alone."""
    from funnelsim.report.outputs import draw_charts

    with folder_errors():
        written = draw_charts(folder)
    out_console.print(f"{len(written)} charts written to {folder / 'charts'}/", highlight=False)


@app.command()
def report(folder: ResultsDir) -> None:
    """Write report.html: one self-contained file with the scenario, warnings, figures and every chart."""
    from funnelsim.report.html import write_report

    with folder_errors():
        target = write_report(folder)
    out_console.print(f"report written to {target}", highlight=False)


@app.command()
def export(
    folder: ResultsDir,
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Write the tables to an Excel workbook.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Workbook path (default: DIR/tables.xlsx).")] = None,
) -> None:
    """Export a results folder's tables (one sheet per table, units in the headers)."""
    from funnelsim.report.export import write_xlsx

    if not xlsx:
        fail("export: choose a format, e.g. funnelsim export results/baseline --xlsx")
    with folder_errors():
        target = write_xlsx(folder, out)
    out_console.print(f"workbook written to {target}", highlight=False)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
