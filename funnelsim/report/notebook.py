"""What a notebook shows of a result: a short repr, an HTML figures table, `.plot(kind)` and `.save(dir)`.

RunResult, CompareResult and SweepResult delegate here, so drawing stays in the report layer and
matplotlib is imported only when a chart is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from funnelsim.metrics import FIGURES, HEADLINE, ONE_LINE
from funnelsim.metrics import SWEEP_DEFAULT as SWEEP_METRICS
from funnelsim.report.formatting import format_interval, format_value

# customers as a plain number here (no decimal), as the one-line repr always showed it
SHORT_FIGURES = tuple((name, "" if name == "customers" else FIGURES[name].unit) for name in ONE_LINE)


def _figures_line(result: Any) -> str:
    table = result.summary.set_index("metric")
    currency = result.scenario.currency
    parts = []
    for metric, unit in SHORT_FIGURES:
        if metric in table.index:
            row = table.loc[metric]
            parts.append(
                f"{metric} {format_value(row['mean'], unit, currency)} "
                f"{format_interval(row['ci_low'], row['ci_high'], unit)}"
            )
    return "; ".join(parts)


def run_repr(result: Any) -> str:
    failed = f", {len(result.failed)} failed" if len(result.failed) else ""
    return (
        f"<RunResult {result.scenario.name}: {len(result.replications)} replications{failed}, seed {result.seed}; "
        f"{_figures_line(result)}>"
    )


def run_html(result: Any) -> str:
    from funnelsim.report.html import figures_table
    from funnelsim.report.results import summary_table

    title = f"<b>{result.scenario.name}</b>: {len(result.replications)} replications, seed {result.seed}"
    return f"<div>{title}{figures_table(summary_table(result), result.scenario.currency)}</div>"


def run_plot(result: Any, kind: str = "funnel") -> Any:
    from funnelsim.report import charts
    from funnelsim.report.outputs import run_data

    if kind not in charts.RUN_CHARTS:
        raise ValueError(f"unknown chart {kind!r}; expected one of {', '.join(charts.RUN_CHARTS)}")
    return charts.RUN_CHARTS[kind](run_data(result)).figure


def run_save(result: Any, folder: Path | str, charts: bool = True) -> Path:
    from funnelsim.report.results import write_run

    return write_run(result, Path(folder), command=["python"], charts=charts)


def compare_repr(outcome: Any) -> str:
    reps = len(outcome.results[0].replications)
    return f"<CompareResult {' vs '.join(outcome.names)}: {reps} paired replications, seed {outcome.results[0].seed}>"


def compare_html(outcome: Any, metrics: Sequence[str] | None = None) -> str:
    from funnelsim.report.html import compare_decision_table
    from funnelsim.report.outputs import comparison_table

    table = comparison_table(outcome, list(metrics or HEADLINE))
    currency = outcome.results[0].scenario.currency
    return f"<div>{compare_decision_table(table, outcome.names[0], outcome.names[1:], currency)}</div>"


def compare_plot(outcome: Any, kind: str = "comparison", metrics: Sequence[str] | None = None) -> Any:
    from funnelsim.report import charts
    from funnelsim.report.outputs import comparison_table

    if kind != "comparison":
        raise ValueError(f"unknown chart {kind!r}; a comparison draws 'comparison' (run charts: .results[i].plot)")
    wanted = list(metrics or HEADLINE)
    table = comparison_table(outcome, wanted)
    currency = outcome.results[0].scenario.currency
    return charts.compare_chart(table, outcome.names[0], outcome.names[1:], wanted, currency).figure


def compare_save(outcome: Any, folder: Path | str, metrics: Sequence[str] | None = None) -> Path:
    from funnelsim.report.outputs import write_compare

    return write_compare(outcome, list(metrics or HEADLINE), Path(folder), command=["python"])


def sweep_repr(outcome: Any) -> str:
    reps = len(outcome.results[0].replications)
    values = ", ".join(str(v) for v in outcome.values)
    return f"<SweepResult {outcome.key} = {values}: {reps} replications each, seed {outcome.results[0].seed}>"


def sweep_html(outcome: Any, metrics: Sequence[str] | None = None) -> str:
    from funnelsim.report.html import sweep_decision_table
    from funnelsim.report.outputs import sweep_table

    wanted = list(metrics or SWEEP_METRICS)
    table = sweep_table(outcome, wanted)
    return f"<div>{sweep_decision_table(table, outcome.key, wanted, outcome.results[0].scenario.currency)}</div>"


def sweep_plot(outcome: Any, kind: str = "customers") -> Any:
    from funnelsim.report import charts

    table = outcome.metric(kind)
    return charts.sweep_chart(table, outcome.key, kind, outcome.results[0].scenario.currency).figure


def sweep_save(outcome: Any, folder: Path | str, metrics: Sequence[str] | None = None) -> Path:
    from funnelsim.report.outputs import write_sweep

    return write_sweep(outcome, list(metrics or SWEEP_METRICS), Path(folder), command=["python"])
