"""One team the planner simulated: its headcounts, monthly cost, figures and the targets it meets.

Also the team's cost and label, and the run's summary with the planner's derived figures added.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from funnelsim import metrics
from funnelsim.experiment.runner import RunResult
from funnelsim.experiment.targets import HEADCOUNTS, Objective
from funnelsim.scenario.schema import Scenario


@dataclass
class Team:
    """One staffing simulated: its headcounts, monthly cost, figures and which targets it meets."""

    counts: dict[str, int]
    cost_per_month: float
    result: RunResult
    summary: pd.DataFrame  # metric-indexed: mean, ci_low, ci_high (derived figures included)
    meets: dict[str, bool]

    @property
    def feasible(self) -> bool:
        return all(self.meets.values())

    @property
    def label(self) -> str:
        return team_label(self.counts)

    def figure(self, name: str) -> tuple[float, float, float]:
        if name not in self.summary.index:
            return math.nan, math.nan, math.nan
        return figure_of(self.summary, name)


def team_label(counts: Mapping[str, int]) -> str:
    names = {"sales.sdr.count": "SDR", "sales.ae.count": "AE"}
    return ", ".join(f"{v} {names.get(k, k)}" for k, v in counts.items())


def team_cost(scenario: Scenario, counts: Mapping[str, int]) -> float:
    """Monthly cost of the sales team (SDRs and AEs at their scenario prices, plus any fixed cost)."""
    costs = scenario.costs
    heads = {"sales.sdr.count": scenario.sales.sdr.count, "sales.ae.count": scenario.sales.ae.count}
    heads.update(counts)
    total = float(getattr(costs, "fixed_per_month", 0.0) or 0.0)
    for key, price in HEADCOUNTS.items():
        count = heads[key]
        total += (count if isinstance(count, int) else 0) * getattr(costs, price)
    return total


def derived_summary(result: RunResult, cost_per_month: float) -> pd.DataFrame:
    """The run's summary plus profit and team cost per month, indexed by metric."""
    table = result.replications[result.replications["error"].isna()]
    margin = result.scenario.costs.gross_margin
    extra = pd.DataFrame(
        {
            "profit": table["revenue"] * margin - table["marketing_spend"] - table["team_cost"],
            "team_cost_per_month": np.full(len(table), cost_per_month),
        }
    )
    return pd.concat([result.summary, metrics.summarise(extra)], ignore_index=True).set_index("metric")


def objective_key(team: Team, objective: Objective) -> tuple[float, float]:
    value = team.figure(objective.metric)[0]
    return (-value if objective.maximise else value, team.cost_per_month)


def figure_of(summary: pd.DataFrame, name: str) -> tuple[float, float, float]:
    if name not in summary.index:
        return math.nan, math.nan, math.nan
    return float(summary["mean"][name]), float(summary["ci_low"][name]), float(summary["ci_high"][name])
