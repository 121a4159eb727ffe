"""Fitting the two-speed decay curve to the published lead-response ratios, by first-call bucket.

Each published ratio is measured the way its study did: among SALs by the delay of their first
call, in the two lead-response validation cases (one attempt per lead, reach 1, unlimited reps
at hourly sweeps). With one attempt and no patience the delays do not depend on the curve, so
the cases are simulated once and the expected rate of a bucket under any curve is an average
over its simulated calls: P(reached) = f(d), P(SQL) = qualify(fit) x f(d)^2. The fit minimises
the squared log-ratio residuals; `benchmarks/fit_decay.py` reruns it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from funnelsim.experiment.runner import DEFAULT_SEED, replication_seeds
from funnelsim.model.decay import decay_slowdown, two_speed_factors
from funnelsim.model.records import Records
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import bundled_scenarios, load_scenario
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK

MINUTE = 1 / 60
# first-call delay buckets (hours, [low, high)): the MIT/InsideSales 5-minute axis and the HBR bands
BUCKETS: dict[str, tuple[float, float]] = {
    "within_5min": (0.0, 5 * MINUTE),
    "at_25_30min": (25 * MINUTE, 30 * MINUTE),
    "within_1h": (0.0, 1.0),
    "1h_to_24h": (1.0, 24.0),
    "over_24h": (24.0, math.inf),
}
BUCKET_LABELS = {
    "within_5min": "< 5 min",
    "at_25_30min": "25–30 min",
    "within_1h": "< 1 h",
    "1h_to_24h": "1 h – 24 h",
    "over_24h": "≥ 24 h",
}
HBR_CASE = "validation/lead-response"
MIT_CASE = "validation/lead-response-5-30min"
HBR = "Oldroyd, McElheran & Elkington, HBR 2011"
MIT = "MIT / InsideSales.com LRM study, 2007"


@dataclass(frozen=True)
class PublishedRatio:
    """A published ratio of first-call outcome rates between two delay buckets."""

    key: str
    outcome: str  # "sql" (qualified among called SALs) or "contact" (reached on the first call)
    fast: str  # bucket names
    slow: str
    value: float
    source: str
    quote: str
    case: str  # the validation scenario whose calls measure it
    at_least: bool = False  # "more than": only falling short counts as a residual

    @property
    def label(self) -> str:
        what = "SQL rate" if self.outcome == "sql" else "contact rate"
        return f"{what}: called {BUCKET_LABELS[self.fast]} vs {BUCKET_LABELS[self.slow]}"


PUBLISHED: tuple[PublishedRatio, ...] = (
    PublishedRatio("sql.within_1h/1h_to_24h", "sql", "within_1h", "1h_to_24h", 7.0, HBR,
                   "nearly 7 times as likely to qualify the lead (within an hour vs an hour or more later)", HBR_CASE),
    PublishedRatio("sql.within_1h/over_24h", "sql", "within_1h", "over_24h", 60.0, HBR,
                   "more than 60 times as likely as firms that waited 24 hours or longer", HBR_CASE, at_least=True),
    PublishedRatio("contact.within_5min/at_25_30min", "contact", "within_5min", "at_25_30min", 100.0, MIT,
                   "the odds of contacting a lead called in 5 minutes versus 30 minutes drop 100 times", MIT_CASE),
    PublishedRatio("sql.within_5min/at_25_30min", "sql", "within_5min", "at_25_30min", 21.0, MIT,
                   "the odds of qualifying a lead called in 5 minutes versus 30 minutes drop 21 times", MIT_CASE),
)  # fmt: skip


def first_call_outcomes(records: Records, scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(delay read on the curve in hours, qualify chance, reached, qualified) of every called SAL.

    SALs that arrived after the warm-up and at least a week before the horizon (settled); trial
    leads are left out. The delay is time from SAL to the first attempt, on the decay clock.
    """
    leads = records.leads
    arrival = leads["arrival_at"]
    called = (
        (arrival >= records.warmup_hours)
        & (arrival < records.horizon_hours - HOURS_PER_WEEK)
        & ~np.isnan(leads["sal_at"])
        & ~leads["trial"]
        & ~np.isnan(leads["first_contact_at"])
    )
    sales = scenario.sales
    clock = 1.0 / decay_slowdown(sales.auto_touch)
    delay = (leads["first_contact_at"] - leads["sal_at"])[called] * clock
    qualify = sales.qualify.at(leads["fit"][called])
    reached = ~np.isnan(leads["reached_at"][called])
    qualified = ~np.isnan(leads["sql_at"][called])
    return delay, qualify, reached, qualified


def measure_first_call_buckets(records: Records, scenario: Scenario) -> dict[str, float]:
    """Contact and SQL rates of called SALs by first-call bucket, and the published ratios' counterparts."""
    delay, _, reached, qualified = first_call_outcomes(records, scenario)
    out: dict[str, float] = {}
    for name, (low, high) in BUCKETS.items():
        inside = (delay >= low) & (delay < high)
        n = np.count_nonzero(inside)
        out[f"share.{name}"] = n / len(delay) if len(delay) else math.nan
        out[f"contact.{name}"] = float(reached[inside].mean()) if n else math.nan
        out[f"sql.{name}"] = float(qualified[inside].mean()) if n else math.nan
        out[f"sqls.{name}"] = float(np.count_nonzero(qualified & inside))
    for ratio in PUBLISHED:
        fast, slow = out[f"{ratio.outcome}.{ratio.fast}"], out[f"{ratio.outcome}.{ratio.slow}"]
        out[ratio.key] = fast / slow if slow > 0 else math.nan
    return out


# --- the fit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSample:
    """The first calls of one validation case: delays (hours on the decay clock) and qualify chances."""

    case: str
    delay: np.ndarray
    qualify: np.ndarray
    reach: float


@dataclass(frozen=True)
class TwoSpeed:
    """Parameters of the two-speed curve f(d) = share·2^(-d/fast) + (1 - share)·2^(-d/slow)."""

    fast_share: float
    fast_half_life_hours: float
    slow_half_life_hours: float

    def factors(self, delays_hours: np.ndarray) -> np.ndarray:
        return two_speed_factors(self.fast_share, self.fast_half_life_hours, self.slow_half_life_hours, delays_hours)


def collect_calls(
    cases: Sequence[str] = (HBR_CASE, MIT_CASE), reps: int = 4, seed: int = DEFAULT_SEED
) -> list[CallSample]:
    """Simulate each case `reps` times and keep its first calls (the curve does not move them)."""
    samples = []
    for case in cases:
        scenario = load_scenario(bundled_scenarios()[case])
        sales = scenario.sales
        if len(sales.sdr.attempts) != 1 or sales.patience is not None or sales.sdr.count != "unlimited":
            raise ValueError(f"{case}: the fit needs one attempt, no patience and unlimited reps")
        delays, chances = [], []
        for s in replication_seeds(seed, reps):
            delay, qualify, _, _ = first_call_outcomes(simulate(scenario, s), scenario)
            delays.append(delay)
            chances.append(qualify)
        samples.append(CallSample(case, np.concatenate(delays), np.concatenate(chances), sales.sdr.reach))
    return samples


def expected_rates(curve: TwoSpeed, sample: CallSample) -> dict[str, float]:
    """Expected contact and SQL rate per bucket of one case's calls under `curve`."""
    f = curve.factors(sample.delay)
    contact = sample.reach * f
    sql = contact * sample.qualify * f
    out = {}
    for name, (low, high) in BUCKETS.items():
        inside = (sample.delay >= low) & (sample.delay < high)
        if inside.any():
            out[f"contact.{name}"] = float(contact[inside].mean())
            out[f"sql.{name}"] = float(sql[inside].mean())
    return out


def implied_ratios(curve: TwoSpeed, samples: Sequence[CallSample]) -> dict[str, float]:
    """Each published ratio's counterpart under `curve`, in the case that measures it."""
    rates = {s.case: expected_rates(curve, s) for s in samples}
    out = {}
    for ratio in PUBLISHED:
        mine = rates[ratio.case]
        out[ratio.key] = mine[f"{ratio.outcome}.{ratio.fast}"] / mine[f"{ratio.outcome}.{ratio.slow}"]
    return out


def log_residuals(ratios: dict[str, float]) -> dict[str, float]:
    """log(curve's ratio / published ratio); a 'more than' figure counts only when the curve falls short."""
    out = {}
    for ratio in PUBLISHED:
        residual = math.log(ratios[ratio.key] / ratio.value)
        out[ratio.key] = min(residual, 0.0) if ratio.at_least else residual
    return out


def _curve_of(x: np.ndarray) -> TwoSpeed:
    """Unconstrained -> parameters: share in (0, 1), fast half-life > 0, slow half-life > fast."""
    share = 1.0 / (1.0 + math.exp(-x[0]))
    fast = math.exp(x[1])
    return TwoSpeed(share, fast, fast * (1.0 + math.exp(x[2])))


@dataclass(frozen=True)
class DecayFit:
    """The fitted curve, its ratios next to the published ones, and the residuals."""

    curve: TwoSpeed
    ratios: dict[str, float]
    residuals: dict[str, float]
    weights: dict[str, float]

    @property
    def loss(self) -> float:
        return sum(self.weights[k] * r * r for k, r in self.residuals.items())


GENTLEST = 1e-7
# The contact ratio is left out of the bundled fit: with one curve for reach and qualification,
# 100x contact means ~10,000x qualification (see docs/validation.md); weight it 1 to see the compromise.
BUNDLED_WEIGHTS = {"contact.within_5min/at_25_30min": 0.0}


def fit_two_speed(
    samples: Sequence[CallSample],
    weights: dict[str, float] | None = None,
    starts: Sequence[TwoSpeed] = (TwoSpeed(0.8, 10 * MINUTE, 24.0), TwoSpeed(0.5, 30 * MINUTE, 8.0)),
) -> DecayFit:
    """Least squares on the log-ratio residuals (weight 1 unless given), from a few starts."""
    weights = {r.key: 1.0 for r in PUBLISHED} | (weights or {})

    def loss(x: np.ndarray) -> float:
        residuals = log_residuals(implied_ratios(_curve_of(x), samples))
        # where several curves meet the figures, take the gentlest: the longest fast half-life
        return sum(weights[k] * r * r for k, r in residuals.items()) - GENTLEST * x[1]

    best: np.ndarray | None = None
    for start in starts:
        x0 = np.array(
            [
                math.log(start.fast_share / (1 - start.fast_share)),
                math.log(start.fast_half_life_hours),
                math.log(start.slow_half_life_hours / start.fast_half_life_hours - 1),
            ]
        )
        x = nelder_mead(loss, x0, step=0.5)
        if best is None or loss(x) < loss(best):
            best = x
    assert best is not None
    curve = _curve_of(best)
    ratios = implied_ratios(curve, samples)
    return DecayFit(curve, ratios, log_residuals(ratios), weights)


def nelder_mead(
    fn: Callable[[np.ndarray], float], x0: np.ndarray, step: float = 0.5, tol: float = 1e-9, max_iter: int = 2000
) -> np.ndarray:
    """Minimise `fn` from `x0` by the Nelder-Mead simplex (standard coefficients)."""
    n = len(x0)
    simplex = [x0.astype(float)] + [x0 + step * np.eye(n)[i] for i in range(n)]
    values = [fn(x) for x in simplex]
    for _ in range(max_iter):
        order = np.argsort(values)
        simplex, values = [simplex[i] for i in order], [values[i] for i in order]
        if values[-1] - values[0] < tol and np.max(np.abs(np.array(simplex) - simplex[0])) < 1e-6:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        fr = fn(reflected)
        if fr < values[0]:
            expanded = centroid + 2 * (centroid - simplex[-1])
            fe = fn(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            fc = fn(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:  # shrink towards the best point
                simplex = [simplex[0]] + [simplex[0] + 0.5 * (x - simplex[0]) for x in simplex[1:]]
                values = [values[0]] + [fn(x) for x in simplex[1:]]
    return simplex[int(np.argmin(values))]
