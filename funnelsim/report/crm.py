"""Simulated leads written as a generic CRM export: one row per lead, real timestamps.

This is the layout `funnelsim calibrate` reads by default, so a simulated funnel can be
calibrated back from its own export (the round trip the calibration tests rely on).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from funnelsim.model.calendar import clock_zero
from funnelsim.model.records import LOST, LeadColumns, R, Records
from funnelsim.scenario.schema import Scenario

CRM_COLUMNS = (
    "lead_id",
    "created_at",
    "mql_at",
    "channel",
    "first_touch_at",
    "sql_at",
    "won_at",
    "lost_at",
    "deal_mrr",
    "rep_id",
    "fit",
)


def clock_to_datetimes(hours: np.ndarray, scenario: Scenario) -> pd.Series:
    """Clock hours as timestamps in the scenario's time zone, to the second (NaN -> NaT)."""
    zero = pd.Timestamp(clock_zero(scenario.start, scenario.timezone))
    seconds = np.round(np.asarray(hours, dtype=np.float64) * 3600.0)
    moments = zero + pd.to_timedelta(seconds, unit="s")
    return pd.Series(moments).dt.tz_convert(scenario.timezone)


def crm_frame(records: Records, scenario: Scenario) -> pd.DataFrame:
    """One row per lead: what a CRM would hold at the horizon (open stages stay empty)."""
    leads = records.leads
    outcome = records.outcome()
    customer = ~np.isnan(leads["customer_at"])
    lost = outcome == LOST
    # the export is taken at the horizon: a stage the model dates later has not happened yet
    hours = {
        name: np.where(values < records.horizon_hours, values, np.nan)
        for name, values in _stage_hours(leads, lost).items()
    }
    stamp = {name: clock_to_datetimes(values, scenario) for name, values in hours.items()}
    sdr = leads["sdr"]
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i:07d}" for i in range(records.n_leads)],
            "created_at": stamp["created_at"],
            "mql_at": stamp["mql_at"],
            "channel": pd.Categorical.from_codes(leads["channel"], pd.Index(records.channel_names)),
            "first_touch_at": stamp["first_touch_at"],
            "sql_at": stamp["sql_at"],
            "won_at": stamp["won_at"],
            "lost_at": stamp["lost_at"],
            "deal_mrr": np.where(customer & ~np.isnan(hours["won_at"]), np.round(leads["deal_mrr"], 2), np.nan),
            "rep_id": pd.array([f"sdr-{s + 1}" if s >= 0 else None for s in sdr], dtype="string"),
            "fit": np.round(leads["fit"], 4),
        }
    )
    return frame


def _stage_hours(leads: LeadColumns, lost: np.ndarray) -> dict[str, np.ndarray]:
    won_at = np.where(leads["reason"] == R["assisted"], leads["closed_at"], leads["customer_at"])
    return {
        "created_at": leads["arrival_at"],
        "mql_at": leads["mql_at"],
        "first_touch_at": leads["first_contact_at"],
        "sql_at": leads["sql_at"],
        "won_at": won_at,
        "lost_at": np.where(lost, leads["ended_at"], np.nan),
    }


def write_crm(frame: pd.DataFrame, path: Path) -> Path:
    """CSV (ISO timestamps with UTC offset) or parquet (time-zone-aware columns), by suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            text = frame.copy()
            for column in text.columns:
                if isinstance(text[column].dtype, pd.DatetimeTZDtype):
                    stamp = text[column].dt.strftime("%Y-%m-%d %H:%M:%S%z")  # +0100 -> +01:00 below
                    text[column] = stamp.str[:-2] + ":" + stamp.str[-2:]
            text.to_csv(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
