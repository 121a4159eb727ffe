"""Probability distributions written in scenario files, and their vectorised sampling.

A distribution is parsed once into an immutable `Distribution` whose parameters are in model
units (hours for durations), then sampled in numpy batches by the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from funnelsim.scenario.units import parse_duration_hours

Kind = Literal["duration", "amount", "fraction"]

Z90 = 1.2815515655446004  # standard normal 90th percentile
MAX_AMOUNT = 1e12  # money and counts in a distribution: beyond this the figures would overflow
MAX_SIGMA = 10.0  # lognormal: p90 / median up to ~370,000
SHAPE_RANGE = (1e-3, 1e6)  # gamma shape (cv from 0.001 to ~30) and beta a, b
MAX_EMPIRICAL_VALUES = 10_000

FAMILIES: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "exponential": ("mean",),
    "lognormal": ("median", "p90", "sigma", "mean"),
    "gamma": ("mean", "shape", "cv"),
    "uniform": ("low", "high"),
    "beta": ("a", "b"),
    "empirical": ("values", "weights"),
}


@dataclass(frozen=True)
class Distribution:
    """A parsed distribution; `params` are floats (or float tuples) in model units."""

    family: str
    params: tuple[tuple[str, Any], ...]
    kind: Kind = "amount"

    def to_spec(self) -> Any:
        """The distribution as scenario-file data again (durations written in hours)."""

        def render(name: str, value: Any) -> Any:
            in_hours = self.kind == "duration" and name in DURATION_PARAMS
            if isinstance(value, tuple):
                return [f"{float(v)!r}h" if self.kind == "duration" and name == "values" else v for v in value]
            return f"{float(value)!r}h" if in_hours else value

        p = {name: render(name, value) for name, value in self.params}
        if self.family == "constant":
            return p["value"]
        return {self.family: p}

    def param(self, name: str) -> Any:
        return dict(self.params)[name]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw `size` values as a float64 array."""
        p = dict(self.params)
        if self.family == "constant":
            return np.full(size, p["value"], dtype=np.float64)
        if self.family == "exponential":
            return rng.exponential(p["mean"], size)
        if self.family == "lognormal":
            return np.exp(rng.normal(math.log(p["median"]), p["sigma"], size))
        if self.family == "gamma":
            return rng.gamma(p["shape"], p["mean"] / p["shape"], size)
        if self.family == "uniform":
            return rng.uniform(p["low"], p["high"], size)
        if self.family == "beta":
            return rng.beta(p["a"], p["b"], size)
        if self.family == "empirical":
            values = np.asarray(p["values"], dtype=np.float64)
            weights = np.asarray(p["weights"], dtype=np.float64)
            return values[rng.choice(len(values), size=size, p=weights / weights.sum())]
        raise AssertionError(f"unknown family {self.family}")

    def quantile(self, q: float) -> float:
        """The q-quantile, estimated from 20,000 draws of a fixed stream (the same every call)."""
        return float(np.quantile(self.sample(np.random.default_rng(0), 20_000), q))

    def mean(self) -> float:
        """The distribution's expected value (used for estimates and closed-form checks)."""
        p = dict(self.params)
        if self.family == "constant":
            return p["value"]
        if self.family in ("exponential", "gamma"):
            return p["mean"]
        if self.family == "lognormal":
            return p["median"] * math.exp(p["sigma"] ** 2 / 2)
        if self.family == "uniform":
            return (p["low"] + p["high"]) / 2
        if self.family == "beta":
            return p["a"] / (p["a"] + p["b"])
        values = np.asarray(p["values"], dtype=np.float64)
        weights = np.asarray(p["weights"], dtype=np.float64)
        return float((values * weights).sum() / weights.sum())

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.family}({args})"


DURATION_PARAMS = {"value", "mean", "median", "low", "high"}


def constant(value: float, kind: Kind = "amount") -> Distribution:
    return Distribution("constant", (("value", float(value)),), kind)


def _scalar(value: Any, kind: Kind, what: str) -> float:
    """One number of a distribution: a duration with unit, an amount, or a fraction."""
    if kind == "duration":
        return parse_duration_hours(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number for {what}, got {str(value)[:60]!r}")
    try:
        number = float(value)
    except OverflowError:
        digits = len(str(value))
        raise ValueError(f"expected at most {MAX_AMOUNT:g} for {what}, got a number with {digits} digits") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"expected a non-negative number for {what}, got {value!r}")
    if kind == "fraction" and number > 1:
        raise ValueError(f"expected a fraction in [0, 1] for {what}, got {value!r}")
    if number > MAX_AMOUNT:
        raise ValueError(f"expected at most {MAX_AMOUNT:g} for {what}, got {value!r}")
    return number


def _within(value: float, what: str, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ValueError(f"expected {what} between {low:g} and {high:g}, got {value:g}")
    return value


def _positive(value: float, what: str) -> float:
    if value <= 0:
        raise ValueError(f"expected {what} > 0, got {value!r}")
    return value


def parse_distribution(spec: Any, kind: Kind) -> Distribution:
    """Parse a scalar (a constant) or a one-key mapping such as {lognormal: {median: 12min, p90: 30min}}."""
    if isinstance(spec, Distribution):
        return spec
    if not isinstance(spec, dict):
        return constant(_scalar(spec, kind, "a constant"), kind)
    if len(spec) != 1:
        keys = sorted(str(k) for k in spec)[:10]
        raise ValueError(f"expected one distribution family ({', '.join(FAMILIES)}), got keys {keys}")
    family, args = next(iter(spec.items()))
    if family not in FAMILIES:
        raise ValueError(f"unknown distribution {family!r}; expected one of {', '.join(FAMILIES)}")
    if family == "beta" and isinstance(args, (list, tuple)) and len(args) == 2:
        args = {"a": args[0], "b": args[1]}
    if family == "constant" and not isinstance(args, dict):
        args = {"value": args}
    if family == "empirical" and isinstance(args, list):
        args = {"values": args}
    if not isinstance(args, dict):
        raise ValueError(f"expected a mapping of parameters for {family}, got {str(args)[:60]!r}")
    unknown = set(args) - set(FAMILIES[family])
    if unknown:
        names = sorted(str(u) for u in unknown)
        raise ValueError(f"unknown parameter(s) {names} for {family}; expected {', '.join(FAMILIES[family])}")
    try:
        built = _BUILDERS[family](args, kind)
    except ArithmeticError:
        raise ValueError(f"the parameters of {family} overflow; use smaller or larger values") from None
    return Distribution(built.family, built.params, kind)


def _need(args: dict, *names: str, family: str) -> None:
    missing = [n for n in names if n not in args]
    if missing:
        raise ValueError(f"{family} needs {', '.join(names)}; missing {', '.join(missing)}")


def _build_constant(args: dict, kind: Kind) -> Distribution:
    _need(args, "value", family="constant")
    return constant(_scalar(args["value"], kind, "value"))


def _build_exponential(args: dict, kind: Kind) -> Distribution:
    _need(args, "mean", family="exponential")
    mean = _positive(_scalar(args["mean"], kind, "mean"), "mean")
    return Distribution("exponential", (("mean", mean),))


def _build_lognormal(args: dict, kind: Kind) -> Distribution:
    if "median" in args:
        median = _positive(_scalar(args["median"], kind, "median"), "median")
    elif "mean" in args and "sigma" in args:
        median = None
    else:
        raise ValueError("lognormal needs median with p90 or sigma (or mean with sigma)")
    if "p90" in args:
        if median is None:
            raise ValueError("lognormal p90 goes with median")
        p90 = _scalar(args["p90"], kind, "p90")
        if p90 <= median:
            raise ValueError(
                f"lognormal p90 must exceed the median, got median {args['median']!r} and p90 {args['p90']!r}"
            )
        sigma = math.log(p90 / median) / Z90
        if sigma > MAX_SIGMA:
            raise ValueError(
                f"lognormal p90 / median is {p90 / median:.3g}; expected at most {math.exp(MAX_SIGMA * Z90):.3g}"
            )
    elif "sigma" in args:
        sigma = _within(_positive(_scalar(args["sigma"], "amount", "sigma"), "sigma"), "sigma", 0, MAX_SIGMA)
    else:
        raise ValueError("lognormal needs p90 or sigma besides the median")
    if median is None:
        mean = _positive(_scalar(args["mean"], kind, "mean"), "mean")
        median = mean * math.exp(-(sigma**2) / 2)
    return Distribution("lognormal", (("median", median), ("sigma", sigma)))


def _build_gamma(args: dict, kind: Kind) -> Distribution:
    _need(args, "mean", family="gamma")
    mean = _positive(_scalar(args["mean"], kind, "mean"), "mean")
    if "shape" in args:
        shape = _within(_scalar(args["shape"], "amount", "shape"), "gamma shape", *SHAPE_RANGE)
    elif "cv" in args:
        cv = _within(_scalar(args["cv"], "amount", "cv"), "gamma cv", SHAPE_RANGE[1] ** -0.5, SHAPE_RANGE[0] ** -0.5)
        shape = 1 / cv**2
    else:
        raise ValueError("gamma needs shape or cv besides the mean")
    return Distribution("gamma", (("mean", mean), ("shape", shape)))


def _build_uniform(args: dict, kind: Kind) -> Distribution:
    _need(args, "low", "high", family="uniform")
    low, high = _scalar(args["low"], kind, "low"), _scalar(args["high"], kind, "high")
    if high < low:
        raise ValueError(f"uniform needs low <= high, got {args['low']!r} and {args['high']!r}")
    return Distribution("uniform", (("low", low), ("high", high)))


def _build_beta(args: dict, kind: Kind) -> Distribution:
    if kind != "fraction":
        raise ValueError("beta describes fractions in [0, 1]; it is not allowed here")
    _need(args, "a", "b", family="beta")
    a = _within(_scalar(args["a"], "amount", "a"), "beta a", *SHAPE_RANGE)
    b = _within(_scalar(args["b"], "amount", "b"), "beta b", *SHAPE_RANGE)
    return Distribution("beta", (("a", a), ("b", b)))


def _build_empirical(args: dict, kind: Kind) -> Distribution:
    _need(args, "values", family="empirical")
    values = args["values"]
    if not isinstance(values, list) or not values:
        raise ValueError(f"empirical values must be a non-empty list, got {str(values)[:60]!r}")
    if len(values) > MAX_EMPIRICAL_VALUES:
        raise ValueError(f"empirical values: expected at most {MAX_EMPIRICAL_VALUES:,}, got {len(values):,}")
    parsed = tuple(_scalar(v, kind, "an empirical value") for v in values)
    weights = args.get("weights", [1] * len(parsed))
    if not isinstance(weights, list) or len(weights) != len(parsed):
        raise ValueError(f"empirical weights must be a list of {len(parsed)} numbers, got {str(weights)[:60]!r}")
    parsed_weights = tuple(_scalar(w, "amount", "a weight") for w in weights)
    if sum(parsed_weights) <= 0:
        raise ValueError("empirical weights must not all be zero")
    return Distribution("empirical", (("values", parsed), ("weights", parsed_weights)))


_BUILDERS = {
    "constant": _build_constant,
    "exponential": _build_exponential,
    "lognormal": _build_lognormal,
    "gamma": _build_gamma,
    "uniform": _build_uniform,
    "beta": _build_beta,
    "empirical": _build_empirical,
}
