"""The lead-response (decay) curve: how much of a lead's interest is left after a delay.

One home for the curve, used by the sales desk (reach and qualification) and by worked trials.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence

import numpy as np

from funnelsim.scenario.schema import AutoTouch, Decay

InterestCurve = Callable[[float], float]


def decay_slowdown(auto_touch: AutoTouch) -> float:
    """How many times slower interest fades after the instant automated touch (1: no touch)."""
    return auto_touch.decay_slowdown if auto_touch.enabled else 1.0


def no_decay(delay_hours: float) -> float:
    """Interest never fades."""
    return 1.0


def interest_curve(decay: Decay) -> InterestCurve:
    """The scenario's decay curve: share of interest left after `delay` hours (1.0 at zero)."""
    if decay.fast is not None and decay.slow is not None:
        return two_speed_curve(decay.fast.share, decay.fast.half_life, decay.slow.half_life)
    return interest_curve_of(decay.half_life, decay.table)


def two_speed_curve(fast_share: float, fast_half_life_hours: float, slow_half_life_hours: float) -> InterestCurve:
    """A mixture of a fast and a slow exponential: smooth, strictly falling, 1.0 at zero."""
    fast_rate = math.log(2) / fast_half_life_hours
    slow_rate = math.log(2) / slow_half_life_hours
    slow_share = 1.0 - fast_share
    exp = math.exp
    minus_fast, minus_slow = -fast_rate, -slow_rate  # negated once here, not twice per call

    def two_speed(delay: float) -> float:
        return fast_share * exp(minus_fast * delay) + slow_share * exp(minus_slow * delay)

    return two_speed


def two_speed_factors(
    fast_share: float, fast_half_life_hours: float, slow_half_life_hours: float, delays_hours: np.ndarray
) -> np.ndarray:
    """`two_speed_curve` on an array of delays (the curve fit evaluates it many times)."""
    fast = np.exp2(-delays_hours / fast_half_life_hours)
    slow = np.exp2(-delays_hours / slow_half_life_hours)
    return fast_share * fast + (1.0 - fast_share) * slow


def interest_curve_of(half_life_hours: float | None, table: Sequence[tuple[float, float]] | None) -> InterestCurve:
    """A half-life curve, a table interpolated linearly (flat after its last point), or none."""
    if half_life_hours is not None:
        rate = math.log(2) / half_life_hours
        return lambda delay: math.exp(-rate * delay)
    if table:
        delays = [float(d) for d, _ in table]
        factors = [float(f) for _, f in table]
        if delays[0] > 0:
            delays.insert(0, 0.0)
            factors.insert(0, 1.0)

        def from_table(delay: float) -> float:
            if delay >= delays[-1]:
                return factors[-1]
            i = bisect_right(delays, delay)
            d0, d1 = delays[i - 1], delays[i]
            return factors[i - 1] + (factors[i] - factors[i - 1]) * (delay - d0) / (d1 - d0)

        return from_table
    return no_decay
