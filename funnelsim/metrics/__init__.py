"""Figures of one replication from its records, and summaries with 95% confidence intervals.

A figure's meaning is fixed here; the experiment layer only repeats and aggregates. Lead-based
figures count the cohort of leads that arrived in the window [warmup, horizon), followed to
their outcome through the follow-up period after the horizon (cohort accounting); a lead still
open at its end is censored, and its share is a figure of its own. Time-based figures
(utilisation, queue length) are averages over the window; revenue in calendar time has its own
section.

The registry of figures is in `registry`, the per-replication computation in `replication`, the
intervals over replications in `intervals`; every public name is importable from here.
"""

from __future__ import annotations

from funnelsim.metrics.intervals import (
    CENSORED_WARNING_SHARE,
    censoring_warning,
    interval,
    paired_difference,
    paired_ratio,
    summarise,
    t_quantile_975,
)
from funnelsim.metrics.registry import (
    CHANNEL_FIGURES,
    COUNT_UNITS,
    DURATION_UNITS,
    FIGURES,
    FUNNEL_STAGES,
    HEADLINE,
    HOURS_PER_YEAR,
    ONE_LINE,
    PAGE_SECTIONS,
    RATE_UNITS,
    SPEED_SHARES,
    STOCK_COUNTS,
    SWEEP_DEFAULT,
    Figure,
    per_year_of_window,
)
from funnelsim.metrics.replication import figures, lifetime_value, open_hours_within, sal_wait_end, timeseries

__all__ = [
    "CENSORED_WARNING_SHARE",
    "CHANNEL_FIGURES",
    "COUNT_UNITS",
    "DURATION_UNITS",
    "FIGURES",
    "FUNNEL_STAGES",
    "HEADLINE",
    "HOURS_PER_YEAR",
    "ONE_LINE",
    "PAGE_SECTIONS",
    "RATE_UNITS",
    "SPEED_SHARES",
    "STOCK_COUNTS",
    "SWEEP_DEFAULT",
    "Figure",
    "censoring_warning",
    "figures",
    "interval",
    "lifetime_value",
    "open_hours_within",
    "paired_difference",
    "paired_ratio",
    "per_year_of_window",
    "sal_wait_end",
    "summarise",
    "t_quantile_975",
    "timeseries",
]
