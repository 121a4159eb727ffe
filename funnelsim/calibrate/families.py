"""Duration families fitted by maximum likelihood, with censoring and an unknown win share.

A deal's cycle is observed when it closes; an open deal is censored at the end of the data.
When losses are not recorded, a lead not won yet either never will be or is still in its
cycle, so the win share is fitted jointly (a mixture "cure" model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from funnelsim.calibrate.survival import Z95

MIN_HOURS = 1.0 / 60  # a duration of zero (same-minute stamps) counts as one minute


@dataclass(frozen=True)
class DurationFit:
    """One family's maximum-likelihood fit (durations in hours)."""

    family: str
    params: dict[str, float]  # lognormal: median, sigma; gamma: mean, shape; exponential: mean
    log_likelihood: float
    aic: float
    median: float
    median_interval: tuple[float, float]
    win_share: float | None  # fitted share of leads that ever win (mixture model only)
    n: int

    def frozen(self) -> stats.rv_continuous:
        return FITTED[self.family].frozen(self.params)

    def quantile(self, p: float) -> float:
        return float(self.frozen().ppf(p))

    def spec(self) -> dict[str, dict[str, Any]]:
        """The fit as a scenario distribution."""
        return FITTED[self.family].spec(self.params)


def hours_text(hours: float) -> str:
    """A duration for a scenario file, in the largest unit that keeps it readable."""
    if hours >= 48:
        return f"{hours / 24:.4g}d"
    if hours >= 2:
        return f"{hours:.4g}h"
    return f"{hours * 60:.4g}min"


class FittedFamily:
    """One family the calibration fits: its scipy law, its parameters from the optimiser's
    (log) coordinates, a starting point, and the scenario distribution it writes."""

    name: str

    def frozen(self, p: dict[str, float]) -> stats.rv_continuous:
        raise NotImplementedError

    def params(self, theta: np.ndarray) -> dict[str, float]:
        raise NotImplementedError

    def start(self, observed: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def spec(self, p: dict[str, float]) -> dict[str, dict[str, Any]]:
        raise NotImplementedError


class LognormalFit(FittedFamily):
    name = "lognormal"

    def frozen(self, p: dict[str, float]) -> stats.rv_continuous:
        return stats.lognorm(p["sigma"], scale=p["median"])

    def params(self, theta: np.ndarray) -> dict[str, float]:
        return {"median": math.exp(theta[0]), "sigma": math.exp(theta[1])}

    def start(self, observed: np.ndarray) -> np.ndarray:
        logs = np.log(observed)
        return np.array([logs.mean(), math.log(max(logs.std(), 0.05))])

    def spec(self, p: dict[str, float]) -> dict[str, dict[str, Any]]:
        return {"lognormal": {"median": hours_text(p["median"]), "sigma": max(round(p["sigma"], 4), 0.001)}}


class GammaFit(FittedFamily):
    name = "gamma"

    def frozen(self, p: dict[str, float]) -> stats.rv_continuous:
        return stats.gamma(p["shape"], scale=p["mean"] / p["shape"])

    def params(self, theta: np.ndarray) -> dict[str, float]:
        return {"mean": math.exp(theta[0]), "shape": math.exp(theta[1])}

    def start(self, observed: np.ndarray) -> np.ndarray:
        logs = np.log(observed)
        mean = observed.mean()
        s = math.log(mean) - logs.mean()
        shape = (3 - s + math.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s) if s > 0 else 10.0
        return np.array([math.log(mean), math.log(shape)])

    def spec(self, p: dict[str, float]) -> dict[str, dict[str, Any]]:
        return {"gamma": {"mean": hours_text(p["mean"]), "shape": max(round(p["shape"], 4), 0.001)}}


class ExponentialFit(FittedFamily):
    name = "exponential"

    def frozen(self, p: dict[str, float]) -> stats.rv_continuous:
        return stats.expon(scale=p["mean"])

    def params(self, theta: np.ndarray) -> dict[str, float]:
        return {"mean": math.exp(theta[0])}

    def start(self, observed: np.ndarray) -> np.ndarray:
        return np.array([math.log(observed.mean())])

    def spec(self, p: dict[str, float]) -> dict[str, dict[str, Any]]:
        return {"exponential": {"mean": hours_text(p["mean"])}}


FITTED: dict[str, FittedFamily] = {f.name: f for f in (LognormalFit(), GammaFit(), ExponentialFit())}
"""The duration families calibration fits, by name, in the order they are tried."""
FAMILIES = tuple(FITTED)


def fit_durations(
    won: np.ndarray,
    lost: np.ndarray | None,
    censored: np.ndarray,
    family: str,
) -> DurationFit:
    """Fit one family to won (and lost) durations with open leads censored.

    `lost` None means losses are not recorded: the win share is fitted with the family.
    All durations in hours.
    """
    won = np.maximum(np.asarray(won, dtype=np.float64), MIN_HOURS)
    lost_known = lost is not None
    lost = np.maximum(np.asarray(lost if lost is not None else [], dtype=np.float64), MIN_HOURS)
    censored = np.maximum(np.asarray(censored, dtype=np.float64), MIN_HOURS)
    closed = np.concatenate([won, lost])
    scale = float(np.median(closed))  # fit in units of the median for a well-scaled optimum
    w, lo, c = won / scale, lost / scale, censored / scale
    mixture = not lost_known and len(c) > 0
    law = FITTED[family]

    def negative_log_likelihood(theta: np.ndarray) -> float:
        k = len(theta) - (1 if mixture else 0)
        dist = law.frozen(law.params(theta[:k]))
        total = dist.logpdf(w).sum() + dist.logpdf(lo).sum()
        if mixture:
            share = 1.0 / (1.0 + math.exp(-theta[-1]))
            total += len(w) * math.log(share) + np.log1p(-share * dist.cdf(c)).sum()
        else:
            total += dist.logsf(c).sum()
        return -total if np.isfinite(total) else 1e300

    start = law.start(closed / scale)
    if mixture:
        share0 = min(max(len(w) / (len(w) + len(c)), 1e-3), 1 - 1e-3)
        start = np.append(start, math.log(share0 / (1 - share0)))
    result = optimize.minimize(
        negative_log_likelihood, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-6, "maxiter": 4000}
    )
    theta = result.x
    k = len(theta) - (1 if mixture else 0)
    unit = law.params(theta[:k])
    params = {name: value * scale if name in ("median", "mean") else value for name, value in unit.items()}
    log_likelihood = -float(result.fun) - len(closed) * math.log(scale)  # back to densities per hour
    covariance = _inverse_hessian(negative_log_likelihood, theta)

    def median_of(t: np.ndarray) -> float:
        return float(law.frozen(law.params(t[:k])).median()) * scale

    median = median_of(theta)
    gradient = _gradient(median_of, theta)
    se = math.sqrt(max(float(gradient @ covariance @ gradient), 0.0)) if covariance is not None else float("nan")
    share = 1.0 / (1.0 + math.exp(-theta[-1])) if mixture else None
    return DurationFit(
        family=family,
        params=params,
        log_likelihood=log_likelihood,
        aic=2 * len(theta) - 2 * log_likelihood,
        median=median,
        median_interval=(max(0.0, median - Z95 * se), median + Z95 * se),
        win_share=share,
        n=len(closed) + len(c),
    )


def best_fit(won: np.ndarray, lost: np.ndarray | None, censored: np.ndarray) -> tuple[DurationFit, list[DurationFit]]:
    """Every family fitted; the best by AIC (likelihood, one parameter fewer for exponential)."""
    fits = [fit_durations(won, lost, censored, family) for family in FAMILIES]
    return min(fits, key=lambda f: f.aic), fits


def _gradient(fun, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    grad = np.zeros(len(theta))
    for i in range(len(theta)):
        e = np.zeros(len(theta))
        e[i] = step
        grad[i] = (fun(theta + e) - fun(theta - e)) / (2 * step)
    return grad


def _inverse_hessian(fun, theta: np.ndarray, step: float = 1e-3) -> np.ndarray | None:
    """Observed information by central differences, inverted (None if not positive definite)."""
    k = len(theta)
    hessian = np.zeros((k, k))
    f0 = fun(theta)
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            if i == j:
                value = (fun(theta + ei) - 2 * f0 + fun(theta - ei)) / step**2
            else:
                value = (fun(theta + ei + ej) - fun(theta + ei - ej) - fun(theta - ei + ej) + fun(theta - ei - ej)) / (
                    4 * step**2
                )
            hessian[i, j] = hessian[j, i] = value
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return None
    return covariance if np.all(np.diag(covariance) >= 0) else None
