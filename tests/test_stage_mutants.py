"""The stage specs can fail: one changed comparison in a stage's batch code makes its spec disagree.

Each mutant recompiles one function of funnelsim/model with one piece of its source changed,
patches it where it is called, and replays a scenario of tests/test_stage_specs.py that shows it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import pytest

from funnelsim.model import arrivals as arrivals_stage
from funnelsim.model import nurture as nurture_stage
from funnelsim.model import retention, self_serve, simulate

from .test_stage_specs import SCENARIOS, SEEDS, STAGES, replicate


def mutant(module: ModuleType, function: str, original: str, changed: str) -> Callable:
    """`module.function` recompiled with one piece of its source changed."""
    source = inspect.getsource(getattr(module, function))
    assert source.count(original) == 1, f"{original!r} not found once in {function}"
    namespace = dict(vars(module))
    exec(compile(source.replace(original, changed), inspect.getfile(module), "exec"), namespace)
    return namespace[function]


@dataclass(frozen=True)
class Mutant:
    """One change to a stage's batch code, where it is defined and called, and a scenario that shows it."""

    stage: str
    defined_in: ModuleType
    called_from: ModuleType
    function: str
    original: str
    changed: str
    scenario: str


MUTANTS = {
    # burst leads all land in the campaign's first hour instead of spread over it
    "arrivals": Mutant(
        "arrivals",
        arrivals_stage,
        arrivals_stage,
        "draw_arrivals",
        "begin + burst.over * channel_rng",
        "begin + channel_rng",
        "campaigns",
    ),
    # one engaged touch too many before an MQL
    "nurture": Mutant(
        "nurture",
        nurture_stage,
        nurture_stage,
        "draw_nurture",
        "cumulative >= rule.engagement_min",
        "cumulative > rule.engagement_min",
        "baseline",
    ),
    # nurture ends are booked only up to the horizon, not through the follow-up
    "nurture-follow-up": Mutant(
        "nurture", nurture_stage, simulate, "nurture_leads", "ended < until", "ended < scenario.horizon", "baseline"
    ),
    # the trial decision reads the acceptance draw
    "routing": Mutant(
        "routing",
        self_serve,
        simulate,
        "route_mqls",
        "route_u[:, 0] < self_serve.trial",
        "route_u[:, 1] < self_serve.trial",
        "churn",
    ),
    # worked trials lose their assisted uplift
    "trials": Mutant(
        "trials", self_serve, simulate, "resolve_trials", "< chance", "< self_serve.convert", "product-led"
    ),
    # trials ending in the follow-up are left running
    "trials-follow-up": Mutant(
        "trials",
        self_serve,
        simulate,
        "resolve_trials",
        "reason = np.where(ends < until",
        "reason = np.where(ends < scenario.horizon",
        "product-led",
    ),
    # good fit churns faster instead of poor fit
    "retention": Mutant(
        "retention",
        retention,
        retention,
        "monthly_hazard",
        "fit < retention.poor_fit_below",
        "fit > retention.poor_fit_below",
        "churn",
    ),
    # a customer won over a month after the horizon is billed a negative number of months there
    "retention-won-after-horizon": Mutant(
        "retention",
        retention,
        retention,
        "draw_retention",
        "np.where(customer_at < horizon_hours, months_since_won, 0)",
        "months_since_won",
        "product-led",
    ),
    # cohort revenue counts the months billed by the horizon instead of the first cohort months
    "retention-cohort": Mutant(
        "retention",
        retention,
        retention,
        "draw_retention",
        "np.minimum(paid_total, cohort_months)",
        "billed",
        "churn",
    ),
}


@pytest.mark.parametrize("mutation", MUTANTS)
def test_a_broken_vectorised_stage_fails_its_spec(mutation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    change = MUTANTS[mutation]
    stage = change.stage
    broken_code = mutant(change.defined_in, change.function, change.original, change.changed)
    monkeypatch.setattr(change.called_from, change.function, broken_code)
    broken = replicate(SCENARIOS[change.scenario](), SEEDS[0])
    assert broken.mismatches[stage], f"the {stage} spec did not notice {change.original!r} -> {change.changed!r}"
    assert all(not broken.mismatches[earlier] for earlier in STAGES[: STAGES.index(stage)])
