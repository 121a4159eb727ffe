"""Kaplan–Meier with competing outcomes (Aalen–Johansen), for stages observed up to a date.

A lead still open when the data ends is censored, never counted as lost: the chance of
reaching a stage is the cumulative incidence of that stage, with losses as a competing event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CENSORED, REACHED, COMPETING = 0, 1, 2
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Incidence:
    """Cumulative incidence of REACHED at each distinct event time, with its final value."""

    times: np.ndarray  # distinct times with any event, increasing
    cif: np.ndarray  # chance of having reached the stage by each time
    survival: np.ndarray  # chance of being still open just after each time
    final: float
    variance: float  # delta-method variance of `final`
    n: int
    reached: int
    competing: int
    censored: int

    @property
    def interval(self) -> tuple[float, float]:
        half = Z95 * np.sqrt(max(self.variance, 0.0))
        return max(0.0, self.final - half), min(1.0, self.final + half)

    def quantile_of_reached(self, p: float) -> float:
        """Time by which a share p of those who ever reach the stage have reached it."""
        if self.final <= 0:
            return float("nan")
        i = int(np.searchsorted(self.cif / self.final, p - 1e-12))
        return float(self.times[min(i, len(self.times) - 1)])


def cumulative_incidence(duration: np.ndarray, event: np.ndarray) -> Incidence:
    """Aalen–Johansen estimate; with no competing events it is 1 − Kaplan–Meier.

    The variance is the delta-method one (Marubini & Valsecchi 1995, eq. 10.12), which is
    Greenwood's formula when there is a single kind of event.
    """
    duration = np.asarray(duration, dtype=np.float64)
    event = np.asarray(event, dtype=np.int8)
    order = np.argsort(duration, kind="stable")
    t, e = duration[order], event[order]
    times, first = np.unique(t, return_index=True)
    n = len(t)
    at_risk = n - first
    bounds = np.append(first, n)
    reached = np.add.reduceat((e == REACHED).astype(np.int64), first) if n else np.zeros(0, np.int64)
    any_event = np.add.reduceat((e != CENSORED).astype(np.int64), first) if n else np.zeros(0, np.int64)
    del bounds
    keep = any_event > 0
    times, at_risk, reached, any_event = times[keep], at_risk[keep], reached[keep], any_event[keep]
    survival_after = np.cumprod(1.0 - any_event / at_risk)
    survival_before = np.concatenate([[1.0], survival_after[:-1]])
    cif = np.cumsum(survival_before * reached / at_risk)
    final = float(cif[-1]) if len(cif) else 0.0
    gap = final - cif
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.where(at_risk > any_event, any_event / (at_risk * (at_risk - any_event)), 0.0)
    variance = float(
        np.sum(
            gap**2 * greenwood
            + survival_before**2 * reached * (at_risk - reached) / at_risk**3
            - 2 * gap * survival_before * reached * (at_risk - reached) / at_risk**3
        )
    )
    return Incidence(
        times=times,
        cif=cif,
        survival=survival_after,
        final=final,
        variance=variance,
        n=n,
        reached=int((event == REACHED).sum()),
        competing=int((event == COMPETING).sum()),
        censored=int((event == CENSORED).sum()),
    )
