"""The matrix of sales-desk variants that the desk's per-lead records are pinned on.

discipline x routing x calendar x capacity x patience x trials, on a small two-channel funnel
whose office calendar spans a daylight-saving change (Europe/Berlin, 2026-03-29) and two
holidays (Good Friday, Easter Monday).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from funnelsim import load_scenario, simulate
from funnelsim.scenario.schema import Scenario

SEEDS = (11, 22, 33)

# What the desk decides for each lead: the records the identity is checked on.
DESK_COLUMNS = (
    "reason",
    "first_contact_at",
    "attempts",
    "reached_at",
    "sql_at",
    "opportunity_at",
    "closed_at",
    "ended_at",
    "sdr",
)

BASE: dict[str, Any] = {
    "name": "desk-matrix",
    "start": "2026-03-23",
    "horizon": "21d",
    "timezone": "Europe/Berlin",
    "calendars": {"office": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00",
                             "holidays": ["2026-04-03", "2026-04-06"]}},
    "channels": {
        "search": {"leads_per_week": 160, "profile": "office_peak", "fit": {"beta": [2, 3]}},
        "social": {"leads_per_week": 80, "fit": {"beta": [1.5, 3]}},
    },
    "nurture": {"touches": ["0d", "1d"], "engage": 0.6, "opt_out": 0.02,
                "mql": {"fit_min": 0.15, "engagement_min": 1}},
    "self_serve": {"trial": 0.0, "convert": 0.1, "trial_length": "7d", "reps_work_trials": True},
    "sales": {
        "sdr": {"count": 2, "calendar": "office", "attempts": ["0h", "1h", "1d", "3d"], "reach": 0.6,
                "handle_time": {"lognormal": {"median": "12min", "p90": "30min"}}},
        "sla": "1h",
        "decay": {"half_life": "10h"},
        "qualify": {"chance": 0.6, "fit_weight": 0.5},
        "ae": {"count": 1, "capacity": 3, "calendar": "office",
               "cycle": {"lognormal": {"median": "3d", "p90": "8d"}}, "win": 0.3},
    },
}  # fmt: skip

AXES: dict[str, tuple[str, ...]] = {
    "queue": ("fifo", "lifo", "score", "sla"),
    "routing": ("pooled", "round_robin"),
    "calendar": ("always", "office"),
    "capacity": ("limited", "unlimited"),
    "patience": ("patience", "no_patience"),
    "trials": ("trials_worked", "no_trials"),
}


def variants() -> list[tuple[str, ...]]:
    """Every cell of the matrix (round robin with unlimited SDRs is pooled: left out)."""
    cells = itertools.product(*AXES.values())
    return [c for c in cells if not (c[1] == "round_robin" and c[3] == "unlimited")]


def variant_scenario(cell: tuple[str, ...]) -> Scenario:
    queue, routing, calendar, capacity, patience, trials = cell
    limited = capacity == "limited"
    overrides = {
        "sales.queue": queue,
        "sales.routing": routing,
        "sales.sdr.calendar": calendar,
        "sales.ae.calendar": calendar,
        "sales.sdr.count": 2 if limited else "unlimited",
        "sales.ae.count": 1 if limited else "unlimited",
        "sales.patience": {"exponential": {"mean": "1d"}} if patience == "patience" else None,
        "self_serve.trial": 0.25 if trials == "trials_worked" else 0.0,
    }
    return load_scenario(BASE, overrides)


def desk_records(scenario: Scenario, seed: int) -> dict[str, np.ndarray]:
    leads = simulate(scenario, seed).leads
    return {name: leads[name] for name in DESK_COLUMNS}
