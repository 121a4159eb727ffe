"""The validation cases: which bundled scenario, what it measures, what its checks compare with."""

from __future__ import annotations

from collections.abc import Sequence

from funnelsim.scenario.loader import bundled_scenarios, load_scenario
from funnelsim.scenario.schema import Scenario
from funnelsim.validation import decay_fit
from funnelsim.validation.judging import Case
from funnelsim.validation.measurements import (
    measure_conversion_by_channel,
    measure_little,
    measure_response_delay,
    measure_retention,
    measure_sal_queue,
)
from funnelsim.validation.references import (
    calendar_checks,
    erlang_a_checks,
    erlang_c_checks,
    five_vs_thirty_checks,
    lead_response_checks,
    little_checks,
    product_checks,
    retention_checks,
)


def _erlang_c_case(stem: str, label: str, reps: int, quick_reps: int, quick_horizon: str | None) -> Case:
    about = "Only the SAL queue, M/M/c: Poisson MQLs, exponential handle time, 24/7 reps."
    return Case(f"Erlang C, {label}", f"validation/{stem}", measure_sal_queue, erlang_c_checks, reps, quick_reps,
                quick_horizon, about)  # fmt: skip


CASES: tuple[Case, ...] = (
    _erlang_c_case("erlang-c-c1-load50", "c=1, load 0.50", 40, 10, None),
    _erlang_c_case("erlang-c-c3-load80", "c=3, load 0.80", 40, 10, None),
    _erlang_c_case("erlang-c-c10-load95", "c=10, load 0.95", 50, 12, None),
    Case("Erlang A, c=4, load 1.05", "validation/erlang-a", measure_sal_queue, erlang_a_checks, 30, 6, "26w",
         "The Erlang C set-up plus exponential patience: M/M/c+M."),
    Case("Little's law", "validation/little", measure_little, little_checks, 30, 6, "40w",
         "Office hours, follow-ups, decay, patience and limited AE slots: Little's law needs no Markov assumptions."),
    Case("Product of stages", "validation/product-of-stages", measure_conversion_by_channel, product_checks, 20, 6,
         None, "Unlimited reps, no decay: conversion is the product of the stage chances, per channel."),
    Case("Calendar", "validation/calendar", measure_response_delay, calendar_checks, 20, 6, "28w",
         "Poisson leads around the clock, unlimited reps on weekday office hours."),
    Case("Retention", "validation/retention", measure_retention, retention_checks, 20, 6, None,
         "Constant monthly churn hazard, raised for poor fit."),
    Case("Lead-response calibration", "validation/lead-response", decay_fit.measure_first_call_buckets,
         lead_response_checks, 40, 8, "10y",
         "The bundled decay curve, one call per lead at hourly sweeps on weekday office hours, unlimited reps."),
    Case("Lead response, 5 vs 30 min", "validation/lead-response-5-30min", decay_fit.measure_first_call_buckets,
         five_vs_thirty_checks, 30, 6, "4y",
         "The bundled decay curve, one call per lead at hourly sweeps around the clock, every lead an MQL at once."),
)  # fmt: skip


def case_scenario(case: Case, quick: bool = False) -> Scenario:
    """The case's bundled scenario, shortened for a quick run."""
    path = bundled_scenarios()[case.scenario]
    overrides = {"horizon": case.quick_horizon} if quick and case.quick_horizon else {}
    return load_scenario(path, overrides)


def select_cases(names: Sequence[str] | None = None) -> list[Case]:
    """Cases whose name or scenario contains one of `names` (case-insensitive); all when None."""
    if not names:
        return list(CASES)
    wanted = [n.lower() for n in names]
    chosen = [c for c in CASES if any(w in c.name.lower() or w in c.scenario.lower() for w in wanted)]
    if not chosen:
        known = "; ".join(f"{c.name} ({c.scenario})" for c in CASES)
        raise ValueError(f"no validation case matches {', '.join(names)}; known: {known}")
    return chosen
