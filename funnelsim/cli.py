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

from funnelsim.experiment.executors import ExecutorChoice, ExecutorError, check_executor
from funnelsim.experiment.runner import DEFAULT_REPS, DEFAULT_SEED, RunResult, TooMuchWork, check_size
from funnelsim.experiment.signals import Interrupted, stop_on_signals
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

HEADLINE = (
    "leads",
    "mqls",
    "sals",
    "sqls",
    "customers",
    "lead_to_customer",
    "mql_to_customer",
    "sal_to_sql",
    "response_delay_median_hours",
    "answered_within_5min",
    "answered_within_1h",
    "sla_attainment",
    "abandon_rate",
    "sdr_utilisation",
    "ae_utilisation",
    "bookings_arr",
    "arr_at_horizon",
    "logo_churn_monthly",
    "cac",
    "ltv_to_cac",
    "payback_months",
)


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
    allow_large: AllowLarge = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run a scenario many times; print figures with 95% intervals and write a results folder."""
    with user_errors():
        loaded = load_scenario(scenario, set_ or [])
        check_size(loaded, reps, allow_large)
        check_executor(executor.value, dask_address)
        slot = claim_output(out or Path("results") / loaded.name, force)
    with slot, interruptible(slot):
        _run_into(slot, loaded, reps, seed, workers, executor, dask_address, keep_leads, charts, allow_large, quiet)


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
) -> None:
    from funnelsim.report.results import write_run

    options = {
        "workers": workers,
        "executor": executor.value,
        "dask_address": dask_address,
        "keep_leads": keep_leads,
        "allow_large": allow_large,
    }
    result = _execute(loaded, reps, seed, options, quiet, f"{loaded.name}")
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


def print_summary(result: RunResult) -> None:
    from funnelsim.report.formatting import figure_info, format_interval, format_value, unit_suffix

    summary = result.summary.set_index("metric")
    scenario = result.scenario
    table = Table(
        title=f"{escape(scenario.name)} — {len(result.replications)} replications, seed {result.seed}, "
        f"horizon {scenario.horizon / 24:g} d (warm-up {scenario.warmup / 24:g} d)",
        title_justify="left",
    )
    table.add_column("Section")
    table.add_column("Metric")
    table.add_column("Mean", justify="right")
    table.add_column("95% CI", justify="right")
    last_section = None
    for metric in summary.index:
        if metric.startswith("channel."):
            continue
        info = figure_info(metric)
        row = summary.loc[metric]
        section = info.section if info.section != last_section else ""
        last_section = info.section
        table.add_row(
            section,
            info.label + unit_suffix(info.unit),
            format_value(row["mean"], info.unit),
            format_interval(row["ci_low"], row["ci_high"], info.unit),
        )
    out_console.print(table)
    channels = Table(title="By channel (means)", title_justify="left")
    for column in ("Channel", "Leads", "MQLs", "Customers", "Lead -> customer", "Cost per customer"):
        channels.add_column(column, justify="left" if column == "Channel" else "right")
    for name in scenario.channels:

        def cell(figure: str, unit: str, name: str = name) -> str:
            key = f"channel.{name}.{figure}"
            return format_value(summary.loc[key, "mean"], unit) if key in summary.index else "–"

        channels.add_row(
            escape(name),
            cell("leads", ""),
            cell("mqls", ""),
            cell("customers", ""),
            cell("lead_to_customer", "%"),
            cell("cost_per_customer", "money"),
        )
    out_console.print(channels)


# --- compare -------------------------------------------------------------------------------


def _variants(sources: Sequence[str], vary: str | None, sets: Sequence[str]) -> list[Scenario]:
    scenarios = [load_scenario(s, sets) for s in sources]
    if vary is None:
        return scenarios
    key, sep, values = vary.partition("=")
    if not sep or not values:
        raise ScenarioError(f"--vary {vary}: expected KEY=V1,V2,..., e.g. --vary sales.queue=fifo,lifo,sla")
    variants = []
    for source in sources:
        for value in values.split(","):
            loaded = load_scenario(source, [*sets, f"{key}={value}"])
            variants.append(loaded.model_copy(update={"name": f"{loaded.name}[{key.split('.')[-1]}={value}]"}))
    return variants


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two or more scenarios; the first is the reference.")],
    vary: Annotated[
        str | None,
        typer.Option("--vary", help="Compare variants of the scenario(s), e.g. --vary sales.queue=fifo,lifo,sla."),
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Metrics to show (default: the headline set).")
    ] = None,
    reps: Reps = DEFAULT_REPS,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for comparison.csv and a chart.")] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    allow_large: AllowLarge = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run scenarios (or policy variants) with the same seeds; show paired differences with 95% CIs."""
    from funnelsim import metrics as metric_defs

    with user_errors():
        loaded = _variants(scenarios, vary, set_ or [])
        if len(loaded) < 2:
            raise ScenarioError("compare needs at least two scenarios, or one with --vary KEY=V1,V2")
        for scenario in loaded:
            check_size(scenario, reps * len(loaded), allow_large)
        wanted = metric or list(HEADLINE)
        unknown = [m for m in wanted if m not in metric_defs.FIGURES and not m.startswith("channel.")]
        if unknown:
            raise ScenarioError(
                f"--metric: unknown metric(s) {', '.join(unknown)}; known: {', '.join(metric_defs.FIGURES)}"
            )
        default_name = "compare-" + "-vs-".join(_slug(s.name) for s in loaded)
        slot = claim_output(out or Path("results") / safe_component(default_name[:120]), force)
    with slot, interruptible(slot):
        _compare_into(slot, loaded, wanted, reps, seed, workers, executor, allow_large, quiet)


def _compare_into(
    slot: OutputSlot,
    loaded: list[Scenario],
    wanted: list[str],
    reps: int,
    seed: int,
    workers: int | None,
    executor: ExecutorChoice,
    allow_large: bool,
    quiet: bool,
) -> None:
    import pandas as pd

    from funnelsim.experiment.runner import compare as api_compare
    from funnelsim.report.charts import compare_chart
    from funnelsim.report.formatting import figure_info, format_interval, format_value
    from funnelsim.report.results import write_atomically

    options = {
        "workers": workers,
        "executor": executor.value,
        "allow_large": allow_large,
        "timeseries_step_hours": None,
    }
    with _progress(reps * len(loaded), quiet, "compare") as progress, user_errors():
        outcome = api_compare(loaded, reps, seed, progress=_advance(progress), **options)
    results = outcome.results
    for result in results:
        _warn_failures(result)
    base = results[0]
    diffs = [outcome.differences[r.scenario.name].set_index("metric") for r in results[1:]]

    table = Table(title=f"{len(results)} scenarios, {reps} paired replications, seed {seed}", title_justify="left")
    table.add_column("Metric")
    table.add_column(escape(base.scenario.name), justify="right")  # names like "x[queue=lifo]" are not markup
    for r in results[1:]:
        table.add_column(escape(r.scenario.name), justify="right")
        table.add_column("difference [95% CI]", justify="right")
    rows = []
    for name in wanted:
        info = figure_info(name)
        base_mean = base.summary.set_index("metric")["mean"].get(name, float("nan"))
        cells = [info.label, format_value(base_mean, info.unit)]
        row: dict[str, Any] = {"metric": name, base.scenario.name: base_mean}
        for r, d in zip(results[1:], diffs):
            if name not in d.index:
                cells += ["–", ""]
                continue
            entry = d.loc[name]
            sign = "+" if entry["difference"] > 0 else ""
            cells += [
                format_value(entry["mean_b"], info.unit),
                f"{sign}{format_value(entry['difference'], info.unit)} "
                + format_interval(entry["ci_low"], entry["ci_high"], info.unit),
            ]
            variant = r.scenario.name
            row[variant] = entry["mean_b"]
            row[f"{variant} - {base.scenario.name}"] = entry["difference"]
            row[f"{variant} ci_low"], row[f"{variant} ci_high"] = entry["ci_low"], entry["ci_high"]
        table.add_row(*cells)
        rows.append(row)
    out_console.print(table)

    def fill(folder: Path) -> None:
        pd.DataFrame(rows).to_csv(folder / "comparison.csv", index=False)
        for r in results:
            r.replications.to_parquet(folder / f"replications-{_slug(r.scenario.name)}.parquet", index=False)
        chart_metrics = [
            m for m in ("customers", "answered_within_1h", "abandon_rate", "sdr_utilisation") if m in wanted
        ]
        if chart_metrics:
            compare_chart(
                [r.scenario.name for r in results],
                [r.summary for r in results],
                chart_metrics,
                folder / "comparison.png",
            )

    target = write_atomically(slot, fill, command=["funnelsim", *sys.argv[1:]])
    out_console.print(f"comparison written to {escape(str(target))}/")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")


# --- sweep ---------------------------------------------------------------------------------


@app.command()
def sweep(
    scenario: Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")] = None,
    param: Annotated[str, typer.Option("--param", "-p", help="Dotted field to vary, e.g. sales.sdr.count.")] = "",
    values: Annotated[str, typer.Option("--values", "-v", help="Comma-separated values, e.g. 1,2,3,4.")] = "",
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help="Metrics to tabulate.")] = None,
    reps: Reps = DEFAULT_REPS,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for sweep.csv and charts.")] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    allow_large: AllowLarge = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run one scenario for each value of a parameter (same seeds) and chart the response."""
    with user_errors():
        if not param or not values:
            raise ScenarioError(
                "sweep needs --param KEY and --values V1,V2,..., e.g. --param sales.sdr.count --values 1,2,3"
            )
        value_list = [v.strip() for v in values.split(",") if v.strip()]
        if not value_list:
            raise ScenarioError(f"--values {values!r}: expected at least one value, e.g. --values 1,2,3")
        loaded = [load_scenario(scenario, [*(set_ or []), f"{param}={v}"]) for v in value_list]
        for s in loaded:
            check_size(s, reps * len(loaded), allow_large)
        default_name = safe_component(f"sweep-{_slug(loaded[0].name)}-{_slug(param)}")
        slot = claim_output(out or Path("results") / default_name, force)
    with slot, interruptible(slot):
        _sweep_into(slot, loaded, value_list, param, metric, reps, seed, workers, executor, allow_large, quiet)


def _sweep_into(
    slot: OutputSlot,
    loaded: list[Scenario],
    value_list: list[str],
    param: str,
    metric: list[str] | None,
    reps: int,
    seed: int,
    workers: int | None,
    executor: ExecutorChoice,
    allow_large: bool,
    quiet: bool,
) -> None:
    import pandas as pd

    from funnelsim.report.charts import sweep_chart
    from funnelsim.report.formatting import figure_info, format_interval, format_value
    from funnelsim.report.results import write_atomically

    wanted = metric or ["customers", "lead_to_customer", "answered_within_1h", "abandon_rate", "sdr_utilisation", "cac"]
    options = {
        "workers": workers,
        "executor": executor.value,
        "allow_large": allow_large,
        "timeseries_step_hours": None,
    }
    results = [_execute(s, reps, seed, options, quiet, f"{param}={v}") for s, v in zip(loaded, value_list)]
    table = Table(
        title=f"{escape(loaded[0].name)}: sweep of {escape(param)}, {reps} replications each, seed {seed}",
        title_justify="left",
    )
    table.add_column(escape(param))
    for name in wanted:
        table.add_column(figure_info(name).label, justify="right")
    rows = []
    for value, result in zip(value_list, results):
        summary = result.summary.set_index("metric")
        cells = [escape(value)]
        for name in wanted:
            unit = figure_info(name).unit
            if name not in summary.index:
                cells.append("–")
                continue
            entry = summary.loc[name]
            cells.append(
                f"{format_value(entry['mean'], unit)} {format_interval(entry['ci_low'], entry['ci_high'], unit)}"
            )
            rows.append(
                {
                    "value": value,
                    "metric": name,
                    "mean": entry["mean"],
                    "ci_low": entry["ci_low"],
                    "ci_high": entry["ci_high"],
                }
            )
        table.add_row(*cells)
    out_console.print(table)
    frame = pd.DataFrame(rows)

    def fill(folder: Path) -> None:
        frame.rename(columns={"value": param}).to_csv(folder / "sweep.csv", index=False)
        charts = folder / "charts"
        charts.mkdir()
        for name in wanted:
            sweep_chart(
                frame[frame["metric"] == name].reset_index(drop=True), param, name, charts / f"{_slug(name)}.png"
            )

    target = write_atomically(slot, fill, command=["funnelsim", *sys.argv[1:]])
    out_console.print(f"sweep written to {escape(str(target))}/")


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


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
