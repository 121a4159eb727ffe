"""What a notebook shows of a result: a short repr, an HTML figures table, `.plot(kind)` and `.save(dir)`.

Registered on RunResult, CompareResult and SweepResult (experiment/display.py) when funnelsim is
imported, so drawing stays in the report layer. matplotlib is imported only when a chart is drawn:
the chart modules are imported inside the functions that draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from funnelsim.experiment.display import Display, register_display
from funnelsim.experiment.runner import CompareResult, RunResult, SweepResult
from funnelsim.metrics import FIGURES, HEADLINE, ONE_LINE
from funnelsim.metrics import SWEEP_DEFAULT as SWEEP_METRICS
from funnelsim.report.formatting import format_interval, format_value
from funnelsim.report.html import compare_decision_table, figures_table, sweep_decision_table
from funnelsim.report.outputs import comparison_table, sweep_table, write_compare, write_sweep
from funnelsim.report.results import run_data, summary_table, write_run

# customers as a plain number here (no decimal), as the one-line repr always showed it
SHORT_FIGURES = tuple((name, "" if name == "customers" else FIGURES[name].unit) for name in ONE_LINE)


def _figures_line(result: RunResult) -> str:
    table = result.summary.set_index("metric")
    currency = result.scenario.currency
    parts = []
    for metric, unit in SHORT_FIGURES:
        if metric in table.index:
            mean, low, high = (float(table[column][metric]) for column in ("mean", "ci_low", "ci_high"))
            parts.append(f"{metric} {format_value(mean, unit, currency)} {format_interval(low, high, unit)}")
    return "; ".join(parts)


def run_repr(result: RunResult) -> str:
    failed = f", {len(result.failed)} failed" if len(result.failed) else ""
    return (
        f"<RunResult {result.scenario.name}: {len(result.replications)} replications{failed}, seed {result.seed}; "
        f"{_figures_line(result)}>"
    )


def run_html(result: RunResult) -> str:
    title = f"<b>{result.scenario.name}</b>: {len(result.replications)} replications, seed {result.seed}"
    return f"<div>{title}{figures_table(summary_table(result), result.scenario.currency)}</div>"


def run_plot(result: RunResult, kind: str = "funnel") -> Any:
    from funnelsim.report import charts  # matplotlib, on the first chart drawn

    if kind not in charts.RUN_CHARTS:
        raise ValueError(f"unknown chart {kind!r}; expected one of {', '.join(charts.RUN_CHARTS)}")
    return charts.RUN_CHARTS[kind](run_data(result)).figure


def run_save(result: RunResult, folder: Path | str, charts: bool = True) -> Path:
    return write_run(result, Path(folder), command=["python"], charts=charts)


def compare_repr(outcome: CompareResult) -> str:
    reps = len(outcome.results[0].replications)
    return f"<CompareResult {' vs '.join(outcome.names)}: {reps} paired replications, seed {outcome.results[0].seed}>"


def compare_html(outcome: CompareResult, metrics: Sequence[str] | None = None) -> str:
    table = comparison_table(outcome, list(metrics or HEADLINE))
    currency = outcome.results[0].scenario.currency
    return f"<div>{compare_decision_table(table, outcome.names[0], outcome.names[1:], currency)}</div>"


def compare_plot(outcome: CompareResult, kind: str = "comparison", metrics: Sequence[str] | None = None) -> Any:
    from funnelsim.report import charts  # matplotlib, on the first chart drawn

    if kind != "comparison":
        raise ValueError(f"unknown chart {kind!r}; a comparison draws 'comparison' (run charts: .results[i].plot)")
    wanted = list(metrics or HEADLINE)
    table = comparison_table(outcome, wanted)
    currency = outcome.results[0].scenario.currency
    return charts.compare_chart(table, outcome.names[0], outcome.names[1:], wanted, currency).figure


def compare_save(outcome: CompareResult, folder: Path | str, metrics: Sequence[str] | None = None) -> Path:
    return write_compare(outcome, list(metrics or HEADLINE), Path(folder), command=["python"])


def sweep_repr(outcome: SweepResult) -> str:
    reps = len(outcome.results[0].replications)
    values = ", ".join(str(v) for v in outcome.values)
    return f"<SweepResult {outcome.key} = {values}: {reps} replications each, seed {outcome.results[0].seed}>"


def sweep_html(outcome: SweepResult, metrics: Sequence[str] | None = None) -> str:
    wanted = list(metrics or SWEEP_METRICS)
    table = sweep_table(outcome, wanted)
    return f"<div>{sweep_decision_table(table, outcome.key, wanted, outcome.results[0].scenario.currency)}</div>"


def sweep_plot(outcome: SweepResult, kind: str = "customers") -> Any:
    from funnelsim.report import charts  # matplotlib, on the first chart drawn

    table = outcome.metric(kind)
    overloaded = [bool(r.overloaded) for r in outcome.results]
    return charts.sweep_chart(table, outcome.key, kind, outcome.results[0].scenario.currency, overloaded).figure


def sweep_save(outcome: SweepResult, folder: Path | str, metrics: Sequence[str] | None = None) -> Path:
    return write_sweep(outcome, list(metrics or SWEEP_METRICS), Path(folder), command=["python"])


register_display(RunResult, Display(run_repr, run_html, run_plot, run_save))
register_display(CompareResult, Display(compare_repr, compare_html, compare_plot, compare_save))
register_display(SweepResult, Display(sweep_repr, sweep_html, sweep_plot, sweep_save))
