"""Backtest: simulate a later period with a scenario and set the real outcomes beside it.

Leads created between `from` and `to` are followed to the end of the real data in both the
data and the simulation, so won deals and time to win are counted over the same follow-up.
This is a report, not a test: an actual value outside the simulated 95% interval is a finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from funnelsim.calibrate.table import CalibrationError, LeadTable, load_leads, parse_mapping
from funnelsim.experiment.executors import ExecutorName, run_tasks
from funnelsim.experiment.runner import replication_seeds
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario

QUANTITIES = ("leads", "won deals", "median days to win")


@dataclass
class Backtest:
    scenario: Scenario  # as simulated: start at `from`, horizon to the end of the data
    table: pd.DataFrame  # quantity, channel, actual, sim_median, sim_low, sim_high, inside
    period: tuple[dt.date, dt.date]
    observed_until: pd.Timestamp
    reps: int


def _period_outcomes(scenario: Scenario, seed: np.random.SeedSequence, period_hours: float) -> dict[str, float]:
    """One replication: leads, won deals and median time to win per channel for the period's cohort."""
    leads = simulate(scenario, seed).leads
    arrival = leads["arrival_at"]
    cohort = arrival < period_hours
    won = cohort & ~np.isnan(leads["customer_at"])
    out: dict[str, float] = {}
    names = list(scenario.channels)
    for code, name in enumerate([*names, "all"]):
        mine = cohort if name == "all" else cohort & (leads["channel"] == code)
        mine_won = won if name == "all" else won & (leads["channel"] == code)
        out[f"leads|{name}"] = float(mine.sum())
        out[f"won deals|{name}"] = float(mine_won.sum())
    days = (leads["customer_at"][won] - arrival[won]) / 24
    out["median days to win|all"] = float(np.median(days)) if len(days) else float("nan")
    return out


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CalibrationError(f"{option} {value}: expected a date such as 2018-03-01") from None


def backtest(
    scenario_source: str | Path,
    actual: Path,
    start: str,
    end: str,
    mapping: Sequence[str] = (),
    deals: Path | None = None,
    timezone: str | None = None,
    reps: int = 100,
    seed: int = 1,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    drop_invalid: bool = False,
) -> Backtest:
    """Simulate [start, end) `reps` times and compare with the leads created in it."""
    first, last = _date(start, "--from"), _date(end, "--to")
    if last <= first:
        raise CalibrationError(f"--to {end} must come after --from {start}")
    base = load_scenario(scenario_source)
    zone = timezone or base.timezone
    table: LeadTable = load_leads(Path(actual), parse_mapping(mapping), deals, zone, drop_invalid=drop_invalid)
    entry = table.entry
    begin = pd.Timestamp(first).tz_localize(zone).tz_convert("UTC")
    finish = pd.Timestamp(last).tz_localize(zone).tz_convert("UTC")
    if finish > table.until:
        raise CalibrationError(
            f"--to {end}: the data is observed only up to {table.until.tz_convert(zone):%Y-%m-%d %H:%M}"
        )
    follow_hours = (table.until - begin).total_seconds() / 3600
    period_hours = (finish - begin).total_seconds() / 3600
    scenario = load_scenario(
        base.model_dump(mode="json") | {"start": first.isoformat(), "horizon": f"{follow_hours!r}h", "warmup": "0h"}
    )
    frame = table.frame
    cohort = frame[(frame[entry] >= begin) & (frame[entry] < finish)]
    if cohort.empty:
        raise CalibrationError(f"{actual}: no lead was created between {start} and {end}")
    seeds = replication_seeds(seed, reps)
    runs: list[dict[str, float]] = [{}] * reps
    for index, outcome in run_tasks(_period_outcomes, [(scenario, s, period_hours) for s in seeds], executor, workers):
        runs[index] = outcome
    simulated = pd.DataFrame(runs)
    rows = []
    channels = list(dict.fromkeys([*scenario.channels, *sorted(cohort["channel"].unique())]))
    won = cohort["won_at"].notna() if "won_at" in cohort else pd.Series(False, index=cohort.index)
    for quantity in QUANTITIES:
        for channel in [*channels, "all"] if quantity != "median days to win" else ["all"]:
            mine = cohort if channel == "all" else cohort[cohort["channel"] == channel]
            if quantity == "leads":
                value = float(len(mine))
            elif quantity == "won deals":
                value = float(won.loc[mine.index].sum())
            else:
                days = (cohort.loc[won, "won_at"] - cohort.loc[won, entry]).dt.total_seconds() / 86400
                value = float(days.median()) if len(days) else float("nan")
            column = f"{quantity}|{channel}"
            draws = simulated[column].dropna().to_numpy() if column in simulated else np.zeros(reps)
            low, mid, high = (np.quantile(draws, q) for q in (0.025, 0.5, 0.975)) if len(draws) else (np.nan,) * 3
            rows.append(
                {
                    "quantity": quantity,
                    "channel": channel,
                    "actual": value,
                    "sim_median": float(mid),
                    "sim_low": float(low),
                    "sim_high": float(high),
                    "inside": bool(low <= value <= high),
                }
            )
    return Backtest(scenario, pd.DataFrame(rows), (first, last), table.until, reps)
