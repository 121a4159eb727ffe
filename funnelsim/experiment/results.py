"""The results of runs: one replication's output, a run's, a comparison's and a sweep's.

Notebook display, charts and saving are the report layer's, found through experiment/display.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from funnelsim import metrics
from funnelsim.capacity import Overload
from funnelsim.experiment.display import display_of, text_of
from funnelsim.scenario.schema import Scenario


@dataclass
class ReplicationOutput:
    """What one replication sends back to the parent process."""

    index: int
    figures: dict[str, float]
    seconds: float
    events: int
    timeseries: pd.DataFrame | None = None
    leads: pd.DataFrame | None = None
    error: str | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of `run`: one row per replication, a summary, and optional tables."""

    scenario: Scenario
    seed: int
    replications: pd.DataFrame
    summary: pd.DataFrame
    timeseries: pd.DataFrame | None = None
    leads: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    overloads: list[Overload] = field(default_factory=list)  # resources that cannot keep up

    @property
    def warnings(self) -> list[str]:
        """One sentence per resource that cannot keep up (its load and what would make it stable),
        and one if more than 1% of the window's leads are censored."""
        censored = metrics.censoring_warning(self.summary, self.scenario.follow_up_hours)
        return [o.message for o in self.overloads] + ([censored] if censored else [])

    @property
    def overloaded(self) -> list[str]:
        """Names of the resources that cannot keep up ("SDR desk", "AE pipeline")."""
        return [o.resource for o in self.overloads if o.overloaded]

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # chart_tables.TABLES, with a replication column
    notes: list[str] = field(default_factory=list)  # e.g. replications rerun after a worker died

    @property
    def failed(self) -> pd.DataFrame:
        return self.replications[self.replications["error"].notna()]

    def figure(self, name: str) -> tuple[float, float, float]:
        """(mean, ci_low, ci_high) of one metric."""
        table = self.summary.set_index("metric")
        return float(table["mean"][name]), float(table["ci_low"][name]), float(table["ci_high"][name])

    # Notebook display, charts and saving are the report layer's (report/notebook.py; see experiment/display.py).
    def __repr__(self) -> str:
        return text_of(self)

    def _repr_html_(self) -> str:
        return display_of(self).html(self)

    def plot(self, kind: str = "funnel") -> Any:
        """A run chart as a matplotlib Figure: funnel, speed_to_lead, conversion_by_delay, capacity_*, revenue."""
        return display_of(self).plot(self, kind)

    def save(self, folder: str | Path, charts: bool = True) -> Path:
        """Write the results folder (as `funnelsim run` does)."""
        return display_of(self).save(self, folder, charts)


@dataclass
class CompareResult:
    """Several scenarios run with the same seeds; differences are paired against the first."""

    results: list[RunResult]
    differences: dict[str, pd.DataFrame]  # scenario name -> paired difference vs the first

    def __repr__(self) -> str:
        return text_of(self)

    def _repr_html_(self) -> str:
        return display_of(self).html(self)

    def plot(self, kind: str = "comparison", metrics: Sequence[str] | None = None) -> Any:
        """Each variant's paired difference from the first, per metric (default: the headline set)."""
        return display_of(self).plot(self, kind, metrics)

    def save(self, folder: str | Path, metrics: Sequence[str] | None = None) -> Path:
        """Write the comparison folder (as `funnelsim compare` does)."""
        return display_of(self).save(self, folder, metrics)

    @property
    def names(self) -> list[str]:
        return [r.scenario.name for r in self.results]

    def table(self, metrics: Sequence[str]) -> pd.DataFrame:
        """comparison.csv: one row a metric; the reference's mean, then per variant its mean, the
        paired difference from the reference (`<variant> - <reference>`) and its 95% interval."""
        reference = self.results[0].scenario.name
        base_means = self.results[0].summary.set_index("metric")["mean"]
        differences = {name: d.set_index("metric") for name, d in self.differences.items()}
        rows = []
        for name in metrics:
            row: dict[str, Any] = {"metric": name, reference: base_means.get(name, math.nan)}
            for variant in self.names[1:]:
                if name not in differences[variant].index:
                    continue
                entry = differences[variant].loc[name]
                row[variant] = entry["mean_b"]
                row[f"{variant} - {reference}"] = entry["difference"]
                row[f"{variant} ci_low"], row[f"{variant} ci_high"] = entry["ci_low"], entry["ci_high"]
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def incremental(self) -> pd.DataFrame:
        """Per variant against the first: extra customers, ARR and spend (paired means with 95%
        intervals) and the spend per extra customer (ratio of the paired means, delta-method
        interval; see `metrics.paired_ratio`)."""
        base = _succeeded(self.results[0])
        rows = []
        for result in self.results[1:]:
            row: dict[str, Any] = {"scenario": result.scenario.name}
            differences = self.differences[result.scenario.name].set_index("metric")
            for figure, name in INCREMENTAL_FIGURES.items():
                for column in ("difference", "ci_low", "ci_high"):
                    value = differences[column][figure] if figure in differences.index else math.nan
                    row[f"{name}_{column}" if column != "difference" else name] = float(value)
            ratio, low, high, n = metrics.paired_ratio(base, _succeeded(result), "total_spend", "customers")
            row.update(cost_per_extra_customer=ratio, cost_per_extra_customer_ci_low=low)
            row.update(cost_per_extra_customer_ci_high=high, n=n)
            rows.append(row)
        return pd.DataFrame(rows)


# figure -> name of its paired difference in CompareResult.incremental
INCREMENTAL_FIGURES = {"customers": "extra_customers", "bookings_arr": "extra_arr", "total_spend": "extra_spend"}


def _succeeded(result: RunResult) -> pd.DataFrame:
    return result.replications[result.replications["error"].isna()]


@dataclass
class SweepResult:
    """One run per value of a parameter; `table` has one row per (value, metric)."""

    key: str
    values: list[Any]
    results: list[RunResult]

    @property
    def table(self) -> pd.DataFrame:
        frames = []
        for value, result in zip(self.values, self.results):
            frame = result.summary.copy()
            frame.insert(0, self.key, str(value))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def metric(self, name: str) -> pd.DataFrame:
        """mean, ci_low, ci_high of one metric per swept value."""
        rows = [
            dict(zip(("mean", "ci_low", "ci_high"), r.figure(name)), value=v) for v, r in zip(self.values, self.results)
        ]
        return pd.DataFrame(rows)[["value", "mean", "ci_low", "ci_high"]]

    def __repr__(self) -> str:
        return text_of(self)

    def _repr_html_(self) -> str:
        return display_of(self).html(self)

    def plot(self, kind: str = "customers") -> Any:
        """The response curve of one metric (`kind` is its name) with its band and best point."""
        return display_of(self).plot(self, kind)

    def save(self, folder: str | Path, metrics: Sequence[str] | None = None) -> Path:
        """Write the sweep folder (as `funnelsim sweep` does)."""
        return display_of(self).save(self, folder, metrics)
