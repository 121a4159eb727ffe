"""Nurture and MQL: every lead through the cadence of automated touches, in vectorised batches.

At each touch the opt-out chance comes first; a lead that stays may engage; it is an MQL as soon
as its fit and engagement pass the thresholds. Leads that never qualify are recycled or lost.
"""

from __future__ import annotations

import numpy as np

from funnelsim.model.records import NO_REASON, LeadColumns, Reason
from funnelsim.scenario.schema import Scenario

NURTURE_CHUNK = 200_000  # leads per batch of touch draws, to bound memory


def nurture_leads(scenario: Scenario, leads: LeadColumns, until: float, rng: np.random.Generator) -> np.ndarray:
    """Nurture every lead; record those that end it before `until`; return the MQLs (indices)."""
    offset, engagement, reason = draw_nurture(scenario, leads.fit, leads.intent, rng)
    leads.engagement = engagement
    ended = leads.arrival_at + offset
    del offset
    in_horizon = ended < until
    is_mql = reason == NO_REASON
    mql = np.flatnonzero(is_mql & in_horizon)
    leads.mql_at[mql] = ended[mql]  # later ones are still in nurture
    finished = np.flatnonzero(~is_mql & in_horizon)
    leads.reason[:] = Reason.IN_NURTURE
    leads.reason[finished] = reason[finished]
    leads.ended_at[finished] = ended[finished]
    return mql


def draw_nurture(
    scenario: Scenario, fit: np.ndarray, intent: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run every lead through the touch cadence.

    Returns, per lead, the offset in hours from arrival to MQL or to the end of nurture, the
    engagement reached, and the reason code (NO_REASON for an MQL). At each touch the opt-out chance
    comes first; a lead that stays may engage; it is an MQL as soon as both thresholds hold.
    """
    nurture = scenario.nurture
    rule = nurture.mql
    touches = np.asarray(
        [t for t in nurture.touches if nurture.max_length is None or t <= nurture.max_length], dtype=np.float64
    )
    n, n_touches = len(fit), len(touches)
    offset = np.zeros(n)
    engagement = np.zeros(n, dtype=np.int16)
    reason = np.full(n, NO_REASON, dtype=np.int8)
    fits = fit >= rule.fit_min
    if rule.engagement_min == 0:
        reason[~fits] = Reason.POOR_FIT
        return offset, engagement, reason
    end_of_nurture = touches[-1] if n_touches else 0.0
    draws = np.empty((min(NURTURE_CHUNK, n), n_touches))  # one buffer for every chunk's draws
    for lo in range(0, n, NURTURE_CHUNK):
        hi = min(lo + NURTURE_CHUNK, n)
        size = hi - lo
        if n_touches == 0:
            opt_index = np.full(size, n_touches)
            mql_index = np.full(size, n_touches)
            engaged_total = np.zeros(size, dtype=np.int16)
            engaged_by = None
        else:
            u = rng.random(out=draws[:size])
            opted = u < nurture.opt_out
            u = rng.random(out=draws[:size])
            engage = nurture.engage * intent[lo:hi]  # each lead's chance per touch
            engaged = u < engage[:, None]
            engaged &= ~opted
            # touch by touch (a column at a time: numpy is slow along rows of a few touches)
            engaged_by = np.empty((n_touches, size), dtype=np.int16)  # engaged touches so far, per touch
            cumulative = np.zeros(size, dtype=np.int16)
            mql_index = np.full(size, n_touches)
            opt_index = np.full(size, n_touches)
            for touch in range(n_touches):
                cumulative += engaged[:, touch]
                engaged_by[touch] = cumulative
                mql_index -= cumulative >= rule.engagement_min  # it only grows: count the touches it holds at
            for touch in reversed(range(n_touches)):  # the first opt-out
                opt_index[opted[:, touch]] = touch
            engaged_total = cumulative
        is_mql = fits[lo:hi] & (mql_index < opt_index)
        opted_out = ~is_mql & (opt_index < n_touches)
        chunk_offset = np.full(size, end_of_nurture)
        chunk_offset[is_mql] = touches[mql_index[is_mql]]
        chunk_offset[opted_out] = touches[opt_index[opted_out]]
        chunk_reason = np.where(fits[lo:hi], Reason.NOT_ENGAGED, Reason.POOR_FIT).astype(np.int8)
        chunk_reason[opted_out] = Reason.OPTED_OUT
        chunk_reason[is_mql] = NO_REASON
        if engaged_by is not None:
            stop = np.minimum(np.where(is_mql, mql_index, opt_index), n_touches - 1)
            engaged_total = np.where(is_mql | opted_out, engaged_by[stop, np.arange(size)], engaged_total)
        offset[lo:hi] = chunk_offset
        engagement[lo:hi] = engaged_total
        reason[lo:hi] = chunk_reason
    return offset, engagement, reason
