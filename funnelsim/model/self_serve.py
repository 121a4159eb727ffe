"""Self-serve (bottom of the funnel): an MQL may start a trial and buy with no rep at all.

At MQL each lead draws whether it starts a trial and whether sales accepts it; sales works the
accepted non-trial leads, and the trial leads too when reps work trials. A trial converts at
its end, with its self-serve chance, or at `assisted_uplift` times that if a rep reached it
while the trial ran (less the interest lost before the call). Drawn in vectorised batches.
"""

from __future__ import annotations

import numpy as np

from funnelsim.model.decay import InterestCurve
from funnelsim.model.records import LeadColumns, Reason
from funnelsim.scenario.schema import Scenario


def route_mqls(
    scenario: Scenario, leads: LeadColumns, mql: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The MQL splits: self-serve trial, rejected by sales, or the SAL queue (in SAL order).

    Returns the leads the SAL desk works, in SAL order, and the trial leads."""
    self_serve, sales = scenario.self_serve, scenario.sales
    route_u = rng.random((len(mql), 2))
    trial = route_u[:, 0] < self_serve.trial
    accepted = route_u[:, 1] < sales.accept
    del route_u
    leads.trial[mql] = trial
    rejected = mql[~trial & ~accepted]
    leads.reason[rejected] = Reason.REJECTED_BY_SALES
    leads.ended_at[rejected] = leads.mql_at[rejected]
    to_sales = mql[accepted & (~trial | self_serve.reps_work_trials)]
    to_sales = to_sales[np.argsort(leads.mql_at[to_sales], kind="stable")]  # the desk works in SAL order
    leads.sal_at[to_sales] = leads.mql_at[to_sales]
    return to_sales, mql[trial]


def trial_ends_at(scenario: Scenario, started_at: np.ndarray) -> np.ndarray:
    """When trials started at `started_at` (their MQL time) end."""
    return started_at + scenario.self_serve.trial_length


def resolve_trials(
    scenario: Scenario,
    leads: LeadColumns,
    trial_leads: np.ndarray,
    until: float,
    rng: np.random.Generator,
    interest: InterestCurve,
    decay_slowdown: float,
) -> None:
    """A trial converts at its end: on its own, or at `assisted_uplift` times that if a rep reached it."""
    self_serve, sales = scenario.self_serve, scenario.sales
    ends = trial_ends_at(scenario, leads.mql_at[trial_leads])
    reached = leads.reached_at[trial_leads]
    worked = reached <= ends  # False for NaN
    decay_clock = 1.0 / decay_slowdown
    chance = np.full(len(trial_leads), self_serve.convert)
    for i in np.flatnonzero(worked):
        delay = (reached[i] - leads.mql_at[trial_leads[i]]) * decay_clock
        chance[i] = min(1.0, self_serve.convert * sales.assisted_uplift * interest(delay))
    converts = rng.random(len(trial_leads)) < chance
    reason = np.where(converts, np.where(worked, Reason.ASSISTED_TRIAL, Reason.SELF_SERVE), Reason.TRIAL_EXPIRED)
    reason = np.where(ends < until, reason, Reason.IN_TRIAL).astype(np.int8)
    leads.reason[trial_leads] = reason
    leads.ended_at[trial_leads] = np.where(ends < until, ends, np.nan)
