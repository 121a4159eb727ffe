"""The reference of every check, read from each case's own scenario file: closed forms or published studies.

Each builder raises ValueError when the scenario no longer has the shape its reference needs
(the case then fails with that reason instead of comparing against a wrong reference).
"""

from __future__ import annotations

import numpy as np

from funnelsim import theory
from funnelsim.model.decay import interest_curve
from funnelsim.scenario.schema import WEEKDAYS, Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK
from funnelsim.validation import decay_fit
from funnelsim.validation.judging import Check
from funnelsim.validation.measurements import RETENTION_MONTHS

ERLANG_C = "Erlang C formula (M/M/c)"
ERLANG_A = "M/M/c+M birth-death chain"
HBR = "Oldroyd et al., HBR 2011"
MIT = "MIT / InsideSales.com LRM study, 2007"


def _exponential_mean(dist, what: str) -> float:
    if dist is None or dist.family != "exponential":
        raise ValueError(f"{what} must be exponential for this case, got {dist and dist.describe()}")
    return dist.mean()


def _queue_parameters(scenario: Scenario) -> tuple[int, float, float]:
    """(c, λ per h, μ per h) of a SAL-queue-only scenario."""
    sales = scenario.sales
    if not isinstance(sales.sdr.count, int) or sales.sdr.calendar != "always":
        raise ValueError("an Erlang case needs a fixed number of reps on the 'always' calendar")
    if any(c.profile != "flat" or c.bursts for c in scenario.channels.values()):
        raise ValueError("an Erlang case needs flat Poisson arrivals without bursts")
    arrival_rate = sum(c.leads_per_week for c in scenario.channels.values()) / HOURS_PER_WEEK
    return sales.sdr.count, arrival_rate, 1.0 / _exponential_mean(sales.sdr.handle_time, "sales.sdr.handle_time")


def erlang_c_checks(scenario: Scenario) -> list[Check]:
    c, lam, mu = _queue_parameters(scenario)
    where = ERLANG_C
    return [
        Check("wait_probability", "P(wait)", theory.erlang_c_wait_probability(c, lam, mu), where, 0.005, "%"),
        Check("mean_wait_hours", "mean wait", theory.erlang_c_mean_wait(c, lam, mu), where, 0.05, "h", True),
    ]  # fmt: skip


def erlang_a_checks(scenario: Scenario) -> list[Check]:
    c, lam, mu = _queue_parameters(scenario)
    theta = 1.0 / _exponential_mean(scenario.sales.patience, "sales.patience")
    exact = theory.erlang_a(c, lam, mu, theta)
    where = f"{ERLANG_A}, θ = {theta:g}/h"
    return [
        Check("abandon_probability", "P(abandon)", exact.abandon_probability, where, 0.005, "%"),
        Check("mean_wait_hours", "mean wait (to contact or abandonment)", exact.mean_wait, where,
              0.03, "h", True),
        Check("wait_probability", "P(wait)", exact.wait_probability, where, 0.005, "%"),
        Check("abandon_over_theta_wait", "P(abandon) / (θ·mean wait)", 1.0,
              "identity P(abandon) = θ·E[wait]", 0.01),
    ]  # fmt: skip


def little_checks(scenario: Scenario) -> list[Check]:
    source = "Little's law, L = λW"
    return [
        Check("sal_queue", "SAL queue: L / (λ·W)", 1.0, source, 0.005),
        Check("ae_pipeline", "AE pipeline (SQL to close): L / (λ·W)", 1.0, source, 0.005),
        Check("ae_slots", "AE slots (opportunity to close): L / (λ·W)", 1.0, source, 0.005),
    ]


def stage_product(scenario: Scenario, channel: str) -> tuple[float, float]:
    """(P(MQL), P(customer)) of a lead of a fixed-fit channel: the product of its stage chances."""
    spec = scenario.channels[channel]
    if spec.fit.family != "constant":
        raise ValueError(f"channels.{channel}.fit must be a constant for the product-of-stages case")
    fit = spec.fit.param("value")
    nurture, self_serve, sales = scenario.nurture, scenario.self_serve, scenario.sales
    if sales.sdr.count != "unlimited" or sales.decay.decays or sales.patience is not None:
        raise ValueError("the product-of-stages case needs unlimited reps, no decay and no patience")
    if self_serve.reps_work_trials or nurture.max_length is not None:
        raise ValueError("the product-of-stages case needs reps_work_trials false and no max_length")
    touches = len(nurture.touches)
    mql = theory.nurture_mql_probability(touches, nurture.engage, nurture.opt_out, nurture.mql.engagement_min)
    mql *= float(fit >= nurture.mql.fit_min)

    reached = theory.reached_within_attempts(sales.sdr.reach, len(sales.sdr.attempts))
    assisted = sales.accept * reached * sales.qualify.at(fit) * sales.ae.win.at(fit)
    customer = mql * (self_serve.trial * self_serve.convert + (1 - self_serve.trial) * assisted)
    return mql, customer


def product_checks(scenario: Scenario) -> list[Check]:
    checks = []
    for name in scenario.channels:
        _, customer = stage_product(scenario, name)
        source = "product of stage chances"
        checks.append(Check(f"{name}.lead_to_customer", f"{name}: lead → customer", customer, source,
                            0.02, "%", True))  # fmt: skip
    return checks


def _weekly_open_hours(scenario: Scenario) -> list[tuple[float, float]]:
    spec = scenario.calendar(scenario.sales.sdr.calendar)
    if spec is None or spec.holidays or (spec.timezone or scenario.timezone) != "UTC" or scenario.timezone != "UTC":
        raise ValueError("the calendar case needs an office calendar in UTC without holidays")
    return theory.office_week([WEEKDAYS.index(d) for d in spec.days], spec.hours)


def calendar_checks(scenario: Scenario) -> list[Check]:
    week = _weekly_open_hours(scenario)
    if scenario.sales.sdr.count != "unlimited":
        raise ValueError("the calendar case needs unlimited reps, so they are never the bottleneck")
    source = "closed form of the calendar"
    within_1h = theory.calendar_delay_share_within(week, 1.0)
    within_24h = theory.calendar_delay_share_within(week, 24.0)
    mean = theory.calendar_mean_delay(week)
    return [
        Check("within_1h", "share first called within 1 h", within_1h, source, 0.002, "%"),
        Check("within_24h", "share first called within 24 h", within_24h, source, 0.002, "%"),
        Check("mean_delay_hours", "mean response delay", mean, "closed form: Σ gap²/2 / 168 h", 0.01, "h", True),
    ]


def retention_checks(scenario: Scenario) -> list[Check]:
    retention = scenario.retention
    hazards = {
        "good": retention.monthly_churn,
        "poor": min(1.0, retention.monthly_churn * retention.poor_fit_churn_factor),
    }
    checks = []
    for group, hazard in hazards.items():
        label = "good fit" if group == "good" else f"poor fit (hazard x {retention.poor_fit_churn_factor:g})"
        for months in RETENTION_MONTHS[group]:
            survival = theory.geometric_survival(hazard, months)
            source = f"geometric: (1 - {hazard:g})^{months}"
            checks.append(Check(f"{group}.survival_{months}", f"{label}: survival at {months} months", survival,
                                source, 0.005, "%"))  # fmt: skip
        checks.append(Check(f"{group}.hazard", f"{label}: monthly churn hazard", hazard,
                            "the scenario's hazard", 0.03, "%", True))  # fmt: skip
    return checks


def _bundled_curve_ratio(key: str) -> float:
    return next(r.value for r in decay_fit.PUBLISHED if r.key == key)


def lead_response_checks(scenario: Scenario) -> list[Check]:
    if not scenario.sales.decay.decays:
        raise ValueError("the lead-response case needs a decay curve")
    one_day, seven = "sql.within_1h/over_24h", "sql.within_1h/1h_to_24h"
    return [
        Check(seven, "SQL rate: called < 1 h vs 1-24 h", _bundled_curve_ratio(seven), f"{HBR}: 'nearly 7 times'",
              0.1, "x", True),
        Check(one_day, "SQL rate: called < 1 h vs ≥ 24 h", _bundled_curve_ratio(one_day),
              f"{HBR}: 'more than 60 times' (the fit sits at this floor)", 0.15, "x", True),
    ]  # fmt: skip


def hourly_sweep_ratios(scenario: Scenario) -> tuple[float, float]:
    """(contact, SQL) ratio of first calls < 5 min vs 25-30 min at hourly one-minute sweeps: closed forms of f.

    A lead arriving in a sweep minute is called at once (weight 1 minute at delay 0), any other at
    the next sweep (delay uniform over the hour): [(f(0) + ∫_0^5 f) / 6] / [∫_25^30 f / 5], and so with f².
    """
    spec = scenario.calendar(scenario.sales.sdr.calendar)
    sweeps = [(float(h), h + 1 / 60) for h in range(24)]
    if spec is None or len(spec.days) != 7 or spec.holidays or [tuple(r) for r in spec.hours] != sweeps:
        raise ValueError("the 5-vs-30-minute case needs one-minute sweeps at the top of every hour, every day")
    sales = scenario.sales
    if sales.sdr.count != "unlimited" or len(sales.sdr.attempts) != 1 or sales.patience is not None:
        raise ValueError("the 5-vs-30-minute case needs unlimited reps, one attempt and no patience")
    if sales.auto_touch.enabled or scenario.timezone != "UTC" or scenario.nurture.touches:
        raise ValueError("the 5-vs-30-minute case needs no automated touch, UTC and MQL on arrival (no nurture)")
    curve = interest_curve(sales.decay)
    minutes = np.linspace(0.0, 5.0, 2001)
    fast = np.array([curve(m / 60) for m in minutes])
    slow = np.array([curve((25.0 + m) / 60) for m in minutes])
    # mean factor per bucket: 6 minutes of arrivals land in [0, 5 min) (one of them at once), 5 in [25, 30 min)
    contact = ((fast[0] + integral(fast, minutes)) / 6) / (integral(slow, minutes) / 5)
    sql = ((fast[0] ** 2 + integral(fast**2, minutes)) / 6) / (integral(slow**2, minutes) / 5)
    return float(contact), float(sql)


def integral(values: np.ndarray, at: np.ndarray) -> float:
    """The trapezoid rule."""
    return float(np.sum((values[1:] + values[:-1]) * np.diff(at)) / 2)


def five_vs_thirty_checks(scenario: Scenario) -> list[Check]:
    contact, sql = hourly_sweep_ratios(scenario)
    key = "sql.within_5min/at_25_30min"
    return [
        Check(key, "SQL rate: called < 5 min vs 25-30 min", _bundled_curve_ratio(key),
              f"{MIT}: '21 times' the odds of qualifying", 0.08, "x", True),
        Check(key, "SQL rate: called < 5 min vs 25-30 min", sql, "closed form of the curve: ∫f² per bucket",
              0.08, "x", True),
        Check("contact.within_5min/at_25_30min", "contact rate: called < 5 min vs 25-30 min", contact,
              "closed form of the curve: ∫f per bucket (MIT: '100 times', cannot hold, see below)", 0.05, "x", True),
    ]  # fmt: skip
