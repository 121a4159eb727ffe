"""The size guard: what a run is expected to cost in leads and memory, refused over the limits.

A run over the limits needs `allow_large` (--allow-large); an estimate that is not finite never runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from funnelsim.scenario.schema import Scenario

MAX_LEADS_WITHOUT_FLAG = 50_000_000
BYTES_PER_LEAD = 400  # measured ~340 at 1M leads (docs/performance.md), with headroom
BYTES_PER_HORIZON_HOUR = 64  # arrival bins: local hour, weekday, offset, rates, counts
BYTES_PER_CHANNEL_HOUR = 24
BYTES_PER_CALENDAR_DAY = 200  # open intervals as Python floats, per calendar
MAX_MEMORY_MB_WITHOUT_FLAG = 4_000  # per replication (each runs in one worker)


class TooMuchWork(ValueError):
    """A run would simulate more leads than is sensible without asking for it explicitly."""


@dataclass(frozen=True)
class WorkEstimate:
    """What a run is expected to cost: leads, contact attempts (at most), memory, replications."""

    leads_per_replication: float
    attempts_per_replication: float
    horizon_hours: float
    memory_mb_per_replication: float
    reps: int

    @property
    def leads(self) -> float:
        return self.leads_per_replication * self.reps

    def describe(self) -> str:
        return (
            f"about {self.leads:,.0f} leads in all ({self.leads_per_replication:,.0f} per replication x "
            f"{self.reps} replications), up to {self.attempts_per_replication:,.0f} contact attempts and about "
            f"{self.memory_mb_per_replication:,.0f} MB per replication over a {self.horizon_hours:,.0f} h horizon"
        )


def estimate_work(scenario: Scenario, reps: int) -> WorkEstimate:
    """The size guard's estimate (bursts count only inside the horizon)."""
    leads = scenario.expected_leads()
    hours = scenario.horizon
    memory = (
        leads * BYTES_PER_LEAD
        + hours * (BYTES_PER_HORIZON_HOUR + BYTES_PER_CHANNEL_HOUR * len(scenario.channels))
        + 2 * (hours / 24 + 64) * BYTES_PER_CALENDAR_DAY
    )
    return WorkEstimate(leads, leads * len(scenario.sales.sdr.attempts), hours, memory / 1e6, reps)


def check_size(scenario: Scenario, reps: int, allow_large: bool = False) -> float:
    """Refuse runs over MAX_LEADS_WITHOUT_FLAG leads in all, or MAX_MEMORY_MB_WITHOUT_FLAG per
    replication, unless `allow_large`; an estimate that is not a finite number is always refused.
    Returns the estimated number of leads."""
    work = estimate_work(scenario, reps)
    figures = (work.leads, work.memory_mb_per_replication, work.attempts_per_replication)
    if not all(math.isfinite(f) for f in figures):
        raise TooMuchWork(f"{scenario.name}: the size of this run cannot be estimated ({work.describe()})")
    too_big = work.leads > MAX_LEADS_WITHOUT_FLAG or work.memory_mb_per_replication > MAX_MEMORY_MB_WITHOUT_FLAG
    if too_big and not allow_large:
        raise TooMuchWork(
            f"{scenario.name}: this run would simulate {work.describe()}; the limits without --allow-large are "
            f"{MAX_LEADS_WITHOUT_FLAG:,} leads in all and {MAX_MEMORY_MB_WITHOUT_FLAG:,} MB per replication; "
            "pass --allow-large (allow_large=True) if you mean it"
        )
    return work.leads


def check_sizes(scenarios: Sequence[Scenario], reps: int, allow_large: bool = False) -> None:
    """The size guard over the scenarios of one command, each counted with all their replications."""
    for scenario in scenarios:
        check_size(scenario, reps * len(scenarios), allow_large)
