"""Exact event counts of small fixed scenarios: a change that adds events to the hot path fails here.

Speed is measured by `funnelsim bench`, never by a timed test; what a test can pin is the work
the engine schedules. If a count changes on purpose, check docs/performance.md still holds,
then update the number (and say why in the commit).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from funnelsim import load_scenario, simulate

SEED = 20260105

# Three SDRs around the clock, one attempt that always reaches, nothing qualifies: the SAL
# queue alone, an M/M/3 queue at load 0.83 (about 1,700 leads in 4 weeks).
DESK_ONLY = {
    "name": "desk-only",
    "start": "2026-01-05",
    "horizon": "28d",
    "channels": {"web": {"leads_per_week": 420}},
    "nurture": {"touches": [], "mql": {"engagement_min": 0, "fit_min": 0}},
    "self_serve": {"trial": 0},
    "sales": {
        "sdr": {"count": 3, "calendar": "always", "attempts": ["0h"], "reach": 1,
                "handle_time": {"exponential": {"mean": "1h"}}},
        "qualify": 0,
    },
}  # fmt: skip

# An office week: shifts, holidays, a follow-up cadence, patience, decay, trials worked by reps
# and a tight AE pipeline (about 1,200 leads, 4 weeks).
OFFICE = {
    "name": "office",
    "start": "2026-03-30",
    "horizon": "28d",
    "timezone": "Europe/Berlin",
    "calendars": {"office": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00",
                             "holidays": ["2026-04-03", "2026-04-06"]}},
    "channels": {
        "search": {"leads_per_week": 200, "profile": "office_peak", "fit": {"beta": [2, 3]}},
        "social": {"leads_per_week": 100, "fit": {"beta": [1.5, 3]}},
    },
    "nurture": {"touches": ["0d", "1d", "3d"], "engage": 0.5, "opt_out": 0.02,
                "mql": {"fit_min": 0.2, "engagement_min": 1}},
    "self_serve": {"trial": 0.2, "convert": 0.1, "trial_length": "7d", "reps_work_trials": True},
    "sales": {
        "sdr": {"count": 2, "calendar": "office", "attempts": ["0h", "1h", "1d", "3d"], "reach": 0.6,
                "handle_time": {"lognormal": {"median": "12min", "p90": "30min"}}},
        "queue": "fifo",
        "decay": {"table": [["0min", 1.0], ["1h", 0.4], ["1d", 0.1]]},
        "patience": {"exponential": {"mean": "2d"}},
        "qualify": {"chance": 0.6, "fit_weight": 0.5},
        "ae": {"count": 1, "capacity": 3, "calendar": "office", "cycle": {"lognormal": {"median": "5d", "p90": "15d"}},
               "win": 0.3},
    },
}  # fmt: skip


def _records(data: dict, *overrides: str):
    return simulate(load_scenario(data, list(overrides)), SEED)


def _contacted(records) -> int:
    return int(np.count_nonzero(~np.isnan(records.leads["first_contact_at"])))


# (scenario, overrides) -> (events scheduled, leads, attempts, leads contacted)
# The first process-per-rep engine scheduled 3,880, 3,814, 2,064, 2,216 and 2,497 events for
# the same work; the callback engine that replaced it 2,203, 2,137, 1,143, 1,165 and 2,484; the
# desk as SimPy processes (docs/performance.md) 2,738, 2,606, 1,333, 1,549 and 3,743; with the
# cohort followed past the horizon and a cadence counted from the first call, 2,738, 2,606,
# 1,468, 1,555 and 3,638 (follow-ups that fall due while every SDR is busy or off shift cost no
# event, like MQLs); with AE slots as processes instead of a process per deal on a
# simpy.Resource (a deal: 1-2 events, was 5), 2,738, 2,606, 1,427, 1,423 and 3,510; with the
# longest-idle SDR waiting on the due lead's own event (a lead finding an SDR idle: 1 event,
# was 2), 2,207, 2,141, 1,377, 1,363 and 2,701; with a deal's close put on the calendar only
# when it is the earliest (a deal still open at the end of the run schedules none), the counts
# below.
PINNED = {
    "desk_only_fifo": (DESK_ONLY, (), (2207, 1671, 1671, 1671)),
    "desk_only_round_robin_lifo": (DESK_ONLY, ("sales.routing=round_robin", "sales.queue=lifo"),
                                   (2141, 1671, 1671, 1671)),
    "office_fifo": (OFFICE, (), (1377, 1189, 1263, 541)),
    "office_sla": (OFFICE, ("sales.queue=sla", "sales.sla=30min"), (1361, 1189, 1222, 621)),
    "office_unlimited_first_offset": (OFFICE, ("sales.sdr.count=unlimited", "sales.sdr.attempts=[15min, 1d]"),
                                      (2699, 1189, 931, 651)),
}  # fmt: skip


@pytest.mark.parametrize("case", PINNED)
def test_the_engine_schedules_exactly_the_pinned_number_of_events(case):
    data, overrides, (events, leads, attempts, contacted) = PINNED[case]
    records = _records(data, *overrides)
    # leads, attempts and contacts pin the behaviour; events pin the engine's work for it
    assert (records.n_leads, len(records.attempt_start), _contacted(records)) == (leads, attempts, contacted)
    assert records.events == events


def test_the_desk_schedules_one_event_per_attempt_and_one_per_lead_finding_a_rep_free():
    # 24/7 reps and one attempt: a timeout per attempt, and for a lead that arrives while a rep
    # waits, one event: the lead's own, which the rep that has waited longest waits on (its
    # Handoff, delivered when the lead falls due), so no separate wake-up; arrivals to a busy
    # desk cost no event at all. The 3 are the SDR processes starting; the 2 are SimPy's own:
    # the run's `until` event, which it queues once more when it stops the run.
    records = _records(DESK_ONLY)
    leads = records.leads
    served_on_arrival = np.count_nonzero(leads["first_contact_at"] == leads["sal_at"])
    assert 0 < served_on_arrival < records.n_leads
    assert records.events == 2 + 3 + len(records.attempt_start) + served_on_arrival


def test_events_per_attempt_stay_below_one_and_a_quarter_in_the_office_scenario():
    # 1,377 events for 1,263 attempts (722 of them follow-ups) and 791 SALs: an MQL or a
    # follow-up falling due while every SDR is busy or off shift costs no event; the bound
    # catches a return to one event per arrival or per follow-up
    records = _records(OFFICE)
    sals = np.count_nonzero(~np.isnan(records.leads["sal_at"]))
    assert records.events < 1.25 * len(records.attempt_start) + 0.05 * sals


def test_same_seed_gives_the_same_records_and_event_count():
    first, second = _records(OFFICE), _records(OFFICE)
    assert first.events == second.events
    for name, column in first.leads.items():
        np.testing.assert_array_equal(column, second.leads[name], err_msg=name)
    np.testing.assert_array_equal(first.attempt_start, second.attempt_start)
    np.testing.assert_array_equal(first.attempt_sdr, second.attempt_sdr)


def test_a_finished_desk_leaves_no_per_lead_column_waiting_for_the_garbage_collector():
    # the events pending at the horizon refer, through cycles, to the desk's processes; the
    # desk stops them and lets go of its columns (memoryviews of the per-lead arrays) itself,
    # so at 1M leads ~40 MB are freed at once, not at the next full collection (the process
    # desk before this left 21 views behind on this scenario)
    def live_views() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, memoryview))

    gc.collect()
    gc.disable()
    try:
        before = live_views()
        _records(OFFICE, "sales.ae.count=unlimited")
        _records(OFFICE, "sales.sdr.count=unlimited")
        left = live_views() - before
    finally:
        gc.enable()
    assert left == 0
