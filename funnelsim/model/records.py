"""Columnar records of one replication: one row per lead, one row per contact attempt.

Outcomes and reasons are small integer codes (`Outcome`, `Reason`), so a million leads cost a
few bytes each per column and no Python object per lead survives the replication.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Annotated, get_type_hints

import numpy as np
import pandas as pd


class Outcome(IntEnum):
    """Where a lead's story ended, in four words."""

    IN_PROGRESS = 0  # still in a stage at the end of the run (censored)
    CUSTOMER = 1
    LOST = 2
    RECYCLED = 3  # handed back to marketing (engaged too little to qualify)

    @property
    def label(self) -> str:
        return self.name.lower()


class Reason(IntEnum):
    """Why a lead ended where it did, or the stage it is in at the end of the run; its outcome is `outcome`."""

    IN_NURTURE = 0
    IN_TRIAL = 1
    IN_SAL = 2
    IN_OPPORTUNITY = 3
    SELF_SERVE = 4  # a trial that converted with no rep
    ASSISTED = 5  # a deal the AE won
    ASSISTED_TRIAL = 6  # a trial a rep reached, converted
    POOR_FIT = 7  # below the MQL fit threshold
    OPTED_OUT = 8  # unsubscribed during nurture
    NOT_ENGAGED = 9  # fit, but engaged too little by the end of nurture
    REJECTED_BY_SALES = 10
    TRIAL_EXPIRED = 11
    ABANDONED = 12  # patience ran out before a rep reached it
    UNREACHED = 13  # the cadence ran out
    NOT_QUALIFIED = 14  # reached, but not an SQL
    DEAL_LOST = 15

    @property
    def outcome(self) -> Outcome:
        """Customer, lost, recycled or still in progress: what this reason means for the lead."""
        return OUTCOME_BY_REASON[self]

    @property
    def label(self) -> str:
        """The reason as the per-lead table writes it."""
        return self.name.lower()


OUTCOME_BY_REASON: dict[Reason, Outcome] = {
    Reason.IN_NURTURE: Outcome.IN_PROGRESS,
    Reason.IN_TRIAL: Outcome.IN_PROGRESS,
    Reason.IN_SAL: Outcome.IN_PROGRESS,
    Reason.IN_OPPORTUNITY: Outcome.IN_PROGRESS,
    Reason.SELF_SERVE: Outcome.CUSTOMER,
    Reason.ASSISTED: Outcome.CUSTOMER,
    Reason.ASSISTED_TRIAL: Outcome.CUSTOMER,
    Reason.POOR_FIT: Outcome.LOST,
    Reason.OPTED_OUT: Outcome.LOST,
    Reason.NOT_ENGAGED: Outcome.RECYCLED,
    Reason.REJECTED_BY_SALES: Outcome.LOST,
    Reason.TRIAL_EXPIRED: Outcome.LOST,
    Reason.ABANDONED: Outcome.LOST,
    Reason.UNREACHED: Outcome.LOST,
    Reason.NOT_QUALIFIED: Outcome.LOST,
    Reason.DEAL_LOST: Outcome.LOST,
}
"""Each reason's outcome, written as data: a new reason without one fails at import."""
if set(OUTCOME_BY_REASON) != set(Reason):
    raise RuntimeError("every Reason needs its outcome in OUTCOME_BY_REASON")

OUTCOMES = tuple(o.label for o in Outcome)
IN_PROGRESS, CUSTOMER, LOST, RECYCLED = Outcome
REASONS = tuple(r.label for r in Reason)
OUTCOME_OF_REASON = np.array([r.outcome for r in Reason], dtype=np.int8)

NO_REASON = -1  # a stage's own marker: the lead left this stage unsettled (an MQL, or still open)
NO_REP = -1  # the `sdr` of a lead no SDR called


# Column types: a numpy array whose dtype is the annotation's metadata.
Float64 = Annotated[np.ndarray, "float64"]
Int8 = Annotated[np.ndarray, "int8"]
Int16 = Annotated[np.ndarray, "int16"]
Int32 = Annotated[np.ndarray, "int32"]
Bool = Annotated[np.ndarray, "bool"]


@dataclass(eq=False)
class LeadColumns:
    """The per-lead table: one numpy array per column, one row per lead in arrival order.

    Times are clock hours since the scenario's start (NaN when the lead never got there).
    """

    channel: Int16
    """The channel's position in scenario.channels."""
    arrival_at: Float64
    """When the lead was captured."""
    fit: Float64
    """ICP fit in [0, 1], drawn from its channel."""
    intent: Float64
    """Buying intent in [0, 1]: scales each touch's engagement chance."""
    deal_mrr: Float64
    """The monthly revenue the lead would bring as a customer."""
    engagement: Int16
    """Touches engaged with by the end of nurture (or by MQL)."""
    mql_at: Float64
    """When the lead became marketing-qualified."""
    trial: Bool
    """Whether the MQL started a self-serve trial."""
    sal_at: Float64
    """When sales accepted it into the SAL queue (its MQL time)."""
    first_contact_at: Float64
    """When an SDR started the first attempt."""
    attempts: Int16
    """Contact attempts made."""
    sdr: Int32
    """The SDR who made the first attempt (NO_REP if none)."""
    reached_at: Float64
    """When the attempt that reached the lead started."""
    sql_at: Float64
    """When the conversation that qualified it ended."""
    ae_slot_at: Float64
    """When the deal got an AE slot."""
    opportunity_at: Float64
    """When the AE started work (next open hour after the slot)."""
    closed_at: Float64
    """When the deal was won or lost."""
    customer_at: Float64
    """When it became a customer (deal won, or trial converted)."""
    churned_at: Float64
    """When the customer churned, if by the horizon."""
    months_billed: Int32
    """Months billed by the horizon."""
    revenue: Float64
    """Revenue billed by the horizon (calendar time)."""
    cohort_revenue: Float64
    """Revenue over its first cohort_months months as a customer."""
    mrr_at_horizon: Float64
    """MRR at the horizon (0 if churned or not yet a customer)."""
    reason: Int8
    """A `Reason` code: why it ended there, or where it is at the end."""
    ended_at: Float64
    """When it reached its outcome (NaN while in progress)."""

    @classmethod
    def empty(cls, n: int, **given: np.ndarray) -> LeadColumns:
        """Preallocated columns: NaN times, zero counts, NO_REP rep ids; `given` ones as they are."""
        columns: dict[str, np.ndarray] = {}
        for name, dtype in LEAD_COLUMNS.items():
            if name in given:
                columns[name] = np.asarray(given[name], dtype=dtype)
            elif dtype == "float64":
                columns[name] = np.full(n, np.nan)
            elif name == "sdr":
                columns[name] = np.full(n, NO_REP, dtype=dtype)
            else:
                columns[name] = np.zeros(n, dtype=dtype)
        return cls(**columns)

    # Mapping access by column name, for code that loops over the columns or names one in a string.
    def __getitem__(self, name: str) -> np.ndarray:
        if name not in LEAD_COLUMNS:
            raise KeyError(name)
        column: np.ndarray = getattr(self, name)
        return column

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        if name not in LEAD_COLUMNS:
            raise KeyError(name)
        setattr(self, name, values)

    def __contains__(self, name: object) -> bool:
        return name in LEAD_COLUMNS

    def __iter__(self) -> Iterator[str]:
        return iter(LEAD_COLUMNS)

    def __len__(self) -> int:
        return len(LEAD_COLUMNS)

    def keys(self) -> Iterator[str]:
        return iter(LEAD_COLUMNS)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        return ((name, getattr(self, name)) for name in LEAD_COLUMNS)


LEAD_COLUMNS: dict[str, str] = {
    f.name: get_type_hints(LeadColumns, include_extras=True)[f.name].__metadata__[0] for f in fields(LeadColumns)
}
"""Per-lead column name -> numpy dtype, in table order."""


@dataclass
class Records:
    """Everything one replication produced, as numpy columns."""

    leads: LeadColumns
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
        return len(self.leads.arrival_at)

    def outcome(self) -> np.ndarray:
        return OUTCOME_OF_REASON[self.leads.reason]

    def leads_frame(self, replication: int | None = None) -> pd.DataFrame:
        """The per-lead table with readable categories (one row per lead)."""
        frame = pd.DataFrame({k: v for k, v in self.leads.items() if k not in ("channel", "reason")})
        frame.insert(0, "lead_id", np.arange(self.n_leads, dtype=np.int64))
        frame.insert(1, "channel", _categories(self.leads.channel, self.channel_names, frame.index))
        frame["outcome"] = _categories(self.outcome(), OUTCOMES, frame.index)
        frame["reason"] = _categories(self.leads.reason, REASONS, frame.index)
        if replication is not None:
            frame.insert(0, "replication", np.int32(replication))
        return frame


def _categories(codes: np.ndarray, names: tuple[str, ...], index: pd.Index) -> pd.Series:
    """Integer codes as a categorical column of readable names."""
    categories = pd.Categorical.from_codes(codes.astype(np.int64, copy=False), categories=pd.Index(list(names)))
    return pd.Series(categories, index=index)
