"""The sales desk's batch side: every random number a lead needs there, drawn per lead up front.

The desk itself (the SAL queue, SDR shifts, follow-ups, patience: `model/sales.py`, with the
AE pipeline in `model/pipeline.py`) runs as SimPy processes on these inputs; here they are drawn
in SAL order from the sales streams, and the desk's results are written back to the lead columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.decay import InterestCurve
from funnelsim.model.records import NO_REASON, LeadColumns
from funnelsim.model.sales import SalesDesk, SalesLeads
from funnelsim.model.self_serve import trial_ends_at
from funnelsim.scenario.schema import Scenario

DESK_COLUMNS = ("first_contact_at", "reached_at", "sql_at", "ae_slot_at", "opportunity_at", "closed_at", "ended_at")


@dataclass
class Attempts:
    """One row per contact attempt the desk made."""

    start: np.ndarray  # clock hours
    end: np.ndarray  # clock hours, cut at the end of the run
    sdr: np.ndarray  # the SDR who made it
    lead: np.ndarray  # the lead (row of the lead columns) it called
    events: int  # events the desk's SimPy environment scheduled


def work_sales_desk(
    scenario: Scenario,
    leads: LeadColumns,
    to_sales: np.ndarray,
    draw: dict[str, np.random.Generator],
    calendars: dict[str, WorkCalendar],
    until: float,
    interest: InterestCurve,
    decay_slowdown: float,
) -> Attempts:
    """Draw every sales-stage random number per lead, run the desk, write results back."""
    sales = scenario.sales
    m, n_attempts = len(to_sales), len(sales.sdr.attempts)
    sal_at = leads.sal_at[to_sales]
    fit = leads.fit[to_sales]
    trial = leads.trial[to_sales]
    patience = sales.patience.sample(draw["patience"], m) if sales.patience is not None else np.full(m, np.inf)
    inputs = SalesLeads(
        sal_at=sal_at,
        fit=fit,
        channel=leads.channel[to_sales],
        trial=trial,
        gives_up_at=np.where(trial, np.inf, sal_at + patience),
        trial_ends_at=np.where(trial, trial_ends_at(scenario, sal_at), np.inf),
        qualify_chance=sales.qualify.at(fit),
        win_chance=sales.ae.win.at(fit),
        handle_hours=sales.sdr.handle_time.sample(draw["handle"], m * n_attempts),
        reach_draw=draw["reach"].random(m * n_attempts),
        qualify_draw=draw["qualify"].random(m),
        win_draw=draw["win"].random(m),
        cycle_hours=sales.ae.cycle.sample(draw["cycle"], m),
    )
    del patience
    desk = SalesDesk(
        inputs,
        channel_names=tuple(scenario.channels),
        attempt_offsets=sales.sdr.attempts,
        sdr_count=sales.sdr.count if isinstance(sales.sdr.count, int) else None,
        sdr_calendar=calendars[sales.sdr.calendar],
        discipline=sales.queue,
        routing=sales.routing,
        sla_hours=sales.sla,
        reach=sales.sdr.reach,
        interest=interest,
        decay_slowdown=decay_slowdown,
        ae_slots=sales.ae.count * sales.ae.capacity if isinstance(sales.ae.count, int) else None,
        ae_calendar=calendars[sales.ae.calendar],
        horizon_hours=until,
        min_gap_hours=sales.sdr.min_gap,
    )
    out = desk.run()
    for name in DESK_COLUMNS:
        leads[name][to_sales] = getattr(out, name)
    leads.attempts[to_sales] = out.attempts
    leads.sdr[to_sales] = out.sdr
    resolved = out.reason != NO_REASON
    leads.reason[to_sales[resolved]] = out.reason[resolved]
    return Attempts(
        start=out.attempt_start,
        end=out.attempt_end,
        sdr=out.attempt_sdr,
        lead=to_sales[out.attempt_lead],
        events=int(desk.events_scheduled),
    )
