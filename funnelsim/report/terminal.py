"""What the commands print: the consoles, notes and warnings, and the run, compare and sweep tables.

User text (scenario names, messages, paths) is escaped wherever it is printed, so brackets in a
name are never read as rich markup; emoji are off (":100:" in a message is a line number).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from funnelsim import metrics
from funnelsim.experiment.grid import GridResult
from funnelsim.experiment.runner import CompareResult, RunResult
from funnelsim.report.formatting import (
    figure_info,
    format_difference,
    format_difference_interval,
    format_interval,
    format_value,
    unit_suffix,
)

# Piped output keeps whole table rows (rich would wrap at 80 columns without a terminal).
out_console = Console(width=None if sys.stdout.isatty() else 200, emoji=False)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200, emoji=False)


def by_metric(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A table with a `metric` column as {metric: {column: value}}."""
    return {
        str(k): {str(c): v for c, v in row.items()} for k, row in frame.set_index("metric").to_dict("index").items()
    }


def say(text: str) -> None:
    """A plain line on stdout (no markup, no highlighting)."""
    out_console.print(text, highlight=False, markup=False, soft_wrap=True)


def error(message: str) -> None:
    """One clear paragraph on stderr, headed `error:`."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def note(message: str) -> None:
    err_console.print(f"note: {escape(message)}", highlight=False, soft_wrap=True)


def progress_note(message: str) -> None:
    err_console.print(f"[dim]{escape(message)}[/]", highlight=False)


def interrupted(signal_name: str, target: str) -> None:
    err_console.print(
        f"[bold red]interrupted[/] by {escape(signal_name)}: worker processes stopped, temporary folder removed; "
        f"nothing was written to {escape(target)} (earlier results there, if any, are untouched)",
        highlight=False,
        soft_wrap=True,
    )


def precision_line(name: str, report: Any) -> None:
    """One line on how precise the run became; a warning when the cap stopped it first."""
    if report.met:
        err_console.print(f"{name}: {report.describe()}", highlight=False)
    else:
        err_console.print(f"[yellow]warning:[/] {name}: {report.describe()}", highlight=False, soft_wrap=True)


def failures(result: RunResult) -> None:
    """Failed replications are kept in the results; say so, with the first error."""
    name = escape(result.scenario.name)
    for text in result.notes:
        err_console.print(f"[yellow]note:[/] {name}: {escape(text)}", highlight=False)
    if len(result.failed):
        first = result.failed.iloc[0]
        err_console.print(
            f"[yellow]warning:[/] {name}: {len(result.failed)} of {len(result.replications)} "
            "replications failed; they are recorded in replications.parquet and the manifest. "
            f"First error (replication {first.replication}):\n{escape(str(first.error))}",
            highlight=False,
        )


# --- run ----------------------------------------------------------------------------------------


def run_summary(result: RunResult) -> None:
    """The run's figures by section with 95% intervals, the per-channel table, the capacity warnings."""
    summary = by_metric(result.summary)
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
    order = {name: i for i, name in enumerate(metrics.FIGURES)}
    for metric in sorted(summary, key=lambda m: order.get(m, len(order))):
        if metric.startswith("channel."):
            continue
        info = figure_info(metric)
        row = summary[metric]
        section = info.section if info.section != last_section else ""
        last_section = info.section
        per_year = metrics.per_year_of_window(metric, row["mean"], scenario)
        table.add_row(
            section,
            info.label + unit_suffix(info.unit),
            format_value(row["mean"], info.unit, money),
            format_interval(row["ci_low"], row["ci_high"], info.unit, money),
            "" if per_year is None else format_value(per_year, info.unit),
        )
    out_console.print(table)
    channels = Table(title="By channel (means)", title_justify="left")
    for column in ("Channel", "Leads", "MQLs", "Customers", "Lead -> customer", "Cost per customer"):
        channels.add_column(column, justify="left" if column == "Channel" else "right")
    for name in scenario.channels:

        def cell(figure: str, name: str = name) -> str:
            key = f"channel.{name}.{figure}"
            unit = figure_info(key).unit
            return format_value(summary[key]["mean"], unit, money) if key in summary else "–"

        channels.add_row(escape(name), *(cell(figure) for figure in metrics.CHANNEL_FIGURES))
    out_console.print(channels)
    capacity_warnings(result)


def capacity_warnings(result: RunResult, where: str | None = None) -> None:
    """Each resource that cannot keep up, by name, with its load and what would make it stable;
    and a censored cohort. `where` names the run (default: its scenario)."""
    name = escape(result.scenario.name if where is None else where)
    for overload in result.overloads:
        kind = "[bold yellow]warning:[/]" if overload.overloaded else "[yellow]note:[/]"
        out_console.print(f"{kind} {name}: {escape(overload.message)}", soft_wrap=True)
    if where is not None:
        return
    censored = metrics.censoring_warning(result.summary, result.scenario.follow_up_hours)
    if censored:
        out_console.print(f"[bold yellow]warning:[/] {name}: {escape(censored)}", soft_wrap=True)


def capacity_cell(result: RunResult) -> str:
    """'stable', or the overloaded resources with their loads."""
    hard = [o for o in result.overloads if o.overloaded]
    if not hard:
        return "stable"
    return "OVERLOADED: " + ", ".join(f"{o.resource} {o.load:.2f}x" for o in hard)


# --- compare ------------------------------------------------------------------------------------


def comparison(outcome: CompareResult, wanted: Sequence[str], reps: int, seed: int) -> None:
    """Each variant beside the reference with its paired difference, what the change buys, and the
    capacity notes (a difference between an overloaded and a stable variant is marked)."""
    results = outcome.results
    base = results[0]
    diffs = [by_metric(outcome.differences[r.scenario.name]) for r in results[1:]]
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
    base_summary = by_metric(base.summary)
    for name in wanted:
        info = figure_info(name)
        cells = [info.label, format_value(base_summary.get(name, {}).get("mean"), info.unit, money)]
        for r, d in zip(results[1:], diffs):
            if name not in d:
                cells += ["–", ""]
                continue
            entry = d[name]
            cells += [
                format_value(entry["mean_b"], info.unit, r.scenario.currency),
                f"{format_difference(entry['difference'], info.unit, money)} "
                + format_difference_interval(entry["ci_low"], entry["ci_high"], info.unit, money, with_unit=False),
            ]
        table.add_row(*cells)
    out_console.print(table)
    incremental(outcome)
    for r in results:
        capacity_warnings(r)
    for r in results[1:]:
        if bool(r.overloaded) != bool(base.overloaded) and not (r.summary.empty or base.summary.empty):
            over, stable = (r, base) if r.overloaded else (base, r)
            out_console.print(
                f"[bold yellow]note:[/] {escape(over.scenario.name)} is overloaded ({', '.join(over.overloaded)}) and "
                f"{escape(stable.scenario.name)} is stable: their difference mixes the policy with a backlog that "
                "grows with the horizon, so it is not an estimate of the policy's effect",
                soft_wrap=True,
            )


def incremental(outcome: CompareResult) -> None:
    """Per variant: extra customers, ARR and spend against the reference, and spend per extra customer."""
    base = outcome.results[0]
    money = base.scenario.currency
    table = Table(
        title=f"Against {escape(base.scenario.name)}: what the change buys (paired means, 95% CI; spend per extra "
        "customer = mean extra spend / mean extra customers, delta-method interval)",
        title_justify="left",
    )
    for column in ("Variant", "Extra customers", "Extra ARR (bookings)", "Extra spend", "Spend per extra customer"):
        table.add_column(column, justify="left" if column == "Variant" else "right")
    for row in outcome.incremental.to_dict("records"):

        def cell(name: str, unit: str, row: dict[Any, Any] = row) -> str:
            low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
            text = format_difference(row[name], unit, money)
            return f"{text} {format_difference_interval(low, high, unit, money, with_unit=False)}".strip()

        if row["extra_customers_ci_low"] > 0:
            interval = format_interval(
                row["cost_per_extra_customer_ci_low"], row["cost_per_extra_customer_ci_high"], "money", with_unit=False
            )
            per_customer = f"{format_value(row['cost_per_extra_customer'], 'money', money)} {interval}".strip()
        elif row["extra_customers_ci_high"] < 0:
            per_customer = "– (fewer customers)"
        else:
            per_customer = "– (no clear gain in customers)"
        table.add_row(
            escape(str(row["scenario"])),
            cell("extra_customers", "customers"),
            cell("extra_arr", "money"),
            cell("extra_spend", "money"),
            per_customer,
        )
    out_console.print(table)


# --- sweep --------------------------------------------------------------------------------------


def sweep_table(outcome: GridResult, wanted: Sequence[str], title: str) -> None:
    """One row per grid point: its setting, replications, each metric with its interval, capacity;
    then each point's capacity notes."""
    keys = [a.key for a in outcome.axes]
    table = Table(title=title, title_justify="left")
    for key in keys:
        table.add_column(key)
    table.add_column("Reps", justify="right")
    for name in wanted:
        table.add_column(figure_info(name).label, justify="right")
    table.add_column("Capacity")
    for setting, result in zip(outcome.settings, outcome.results):
        summary = by_metric(result.summary)
        money = result.scenario.currency
        cells = [str(setting[k]) for k in keys] + [str(len(result.replications))]
        for name in wanted:
            unit = figure_info(name).unit
            if name not in summary:
                cells.append("–")
                continue
            entry = summary[name]
            cells.append(
                f"{format_value(entry['mean'], unit, money)} "
                f"{format_interval(entry['ci_low'], entry['ci_high'], unit, money, with_unit=False)}"
            )
        table.add_row(*(escape(c) for c in cells), capacity_cell(result))
    out_console.print(table)
    for setting, result in zip(outcome.settings, outcome.results):
        capacity_warnings(result, where=", ".join(f"{k}={setting[k]}" for k in keys))
