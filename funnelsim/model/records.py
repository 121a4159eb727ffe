"""Columnar records of one replication: one row per lead, one row per contact attempt.

Outcomes and reasons are small integer codes into the tuples below, so a million leads cost
a few bytes each per column and no Python object per lead survives the replication.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTCOMES = ("in_progress", "customer", "lost", "recycled")
IN_PROGRESS, CUSTOMER, LOST, RECYCLED = range(4)

# Why a lead ended where it did (or the stage it is in at the horizon).
REASONS = (
    "in_nurture",
    "in_trial",
    "in_sal",
    "in_opportunity",
    "self_serve",
    "assisted",
    "assisted_trial",
    "poor_fit",
    "opted_out",
    "not_engaged",
    "rejected_by_sales",
    "trial_expired",
    "abandoned",
    "unreached",
    "not_qualified",
    "deal_lost",
)
R = {name: code for code, name in enumerate(REASONS)}
OUTCOME_OF_REASON = np.array([IN_PROGRESS] * 4 + [CUSTOMER] * 3 + [LOST, LOST, RECYCLED] + [LOST] * 6, dtype=np.int8)

# Per-lead columns: name -> dtype. Times are clock hours (NaN when the stage was not reached).
LEAD_COLUMNS: dict[str, str] = {
    "channel": "int16",
    "arrival_at": "float64",
    "fit": "float64",
    "intent": "float64",
    "deal_mrr": "float64",
    "engagement": "int16",
    "mql_at": "float64",
    "trial": "bool",
    "sal_at": "float64",
    "first_contact_at": "float64",
    "attempts": "int16",
    "sdr": "int32",
    "reached_at": "float64",
    "sql_at": "float64",
    "ae_slot_at": "float64",
    "opportunity_at": "float64",
    "closed_at": "float64",
    "customer_at": "float64",
    "churned_at": "float64",
    "months_billed": "int32",
    "revenue": "float64",
    "cohort_revenue": "float64",
    "mrr_at_horizon": "float64",
    "reason": "int8",
    "ended_at": "float64",
}


@dataclass
class Records:
    """Everything one replication produced, as numpy columns."""

    leads: dict[str, np.ndarray]
    attempt_start: np.ndarray
    attempt_end: np.ndarray
    attempt_sdr: np.ndarray
    attempt_lead: np.ndarray  # the lead (row of `leads`) each attempt called
    channel_names: tuple[str, ...]
    horizon_hours: float  # arrivals stop here; capacity and calendar figures end here
    warmup_hours: float  # the window of the cohort is [warmup_hours, horizon_hours)
    until_hours: float  # the model ran until here: the horizon plus the follow-up period
    sdr_count: int | None
    ae_slots: int | None
    sdr_open_hours: float  # one SDR's open hours in [warmup, horizon]
    events: int = 0

    @property
    def n_leads(self) -> int:
        return len(self.leads["arrival_at"])

    def outcome(self) -> np.ndarray:
        return OUTCOME_OF_REASON[self.leads["reason"]]

    def leads_frame(self, replication: int | None = None) -> pd.DataFrame:
        """The per-lead table with readable categories (one row per lead)."""
        frame = pd.DataFrame({k: v for k, v in self.leads.items() if k not in ("channel", "reason")})
        frame.insert(0, "lead_id", np.arange(self.n_leads, dtype=np.int64))
        frame.insert(
            1, "channel", pd.Categorical.from_codes(self.leads["channel"], categories=list(self.channel_names))
        )
        frame["outcome"] = pd.Categorical.from_codes(self.outcome(), categories=list(OUTCOMES))
        frame["reason"] = pd.Categorical.from_codes(self.leads["reason"], categories=list(REASONS))
        if replication is not None:
            frame.insert(0, "replication", np.int32(replication))
        return frame


def empty_columns(n: int, **given: np.ndarray) -> dict[str, np.ndarray]:
    """Preallocated per-lead columns: NaN times, zero counts, -1 rep ids; `given` ones as they are."""
    columns: dict[str, np.ndarray] = {}
    for name, dtype in LEAD_COLUMNS.items():
        if name in given:
            columns[name] = np.asarray(given[name], dtype=dtype)
        elif dtype == "float64":
            columns[name] = np.full(n, np.nan)
        elif name == "sdr":
            columns[name] = np.full(n, -1, dtype=dtype)
        else:
            columns[name] = np.zeros(n, dtype=dtype)
    return columns
