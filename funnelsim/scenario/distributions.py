"""Probability distributions written in scenario files: one small class per family, by name.

A family is a frozen dataclass of its parameters in model units (hours for durations) that can
`parse` its scenario-file form, `sample` numpy batches, give its `mean` and `describe` itself;
`register` files it under its name, so a new family is one new class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from funnelsim.scenario.units import parse_duration_hours

Kind = Literal["duration", "amount", "fraction"]

Z90 = 1.2815515655446004  # standard normal 90th percentile
MAX_AMOUNT = 1e12  # money and counts in a distribution: beyond this the figures would overflow
MAX_SIGMA = 10.0  # lognormal: p90 / median up to ~370,000
SHAPE_RANGE = (1e-3, 1e6)  # gamma shape (cv from 0.001 to ~30) and beta a, b
MAX_EMPIRICAL_VALUES = 10_000


@dataclass(frozen=True)
class Distribution:
    """A parsed distribution: the protocol every family implements (`sample`, `mean`, `describe`).

    `kind` says what the numbers are (a duration in hours, an amount, a fraction); the
    parameters are the dataclass fields of each family."""

    family: ClassVar[str]
    accepts: ClassVar[tuple[str, ...]]  # the parameter names a scenario file may give
    durations: ClassVar[frozenset[str]] = frozenset()  # parameters in hours when the kind is a duration
    kind: Kind = field(default="amount", kw_only=True)

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        """The family from its scenario-file parameters (already checked against `accepts`)."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw `size` values as a float64 array."""
        raise NotImplementedError

    def mean(self) -> float:
        """The distribution's expected value (used for estimates and closed-form checks)."""
        raise NotImplementedError

    @property
    def params(self) -> tuple[tuple[str, Any], ...]:
        """(name, value) of each parameter, in model units."""
        return tuple((f.name, getattr(self, f.name)) for f in fields(self) if f.name != "kind")

    def param(self, name: str) -> Any:
        return dict(self.params)[name]

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.family}({args})"

    def to_spec(self) -> Any:
        """The distribution as scenario-file data again (durations written in hours)."""
        in_hours = self.durations if self.kind == "duration" else frozenset()

        def render(name: str, value: Any) -> Any:
            if isinstance(value, tuple):
                return [f"{float(v)!r}h" if name in in_hours else v for v in value]
            return f"{float(value)!r}h" if name in in_hours else value

        return {self.family: {name: render(name, value) for name, value in self.params}}

    def quantile(self, q: float) -> float:
        """The q-quantile, estimated from 20,000 draws of a fixed stream (the same every call)."""
        return float(np.quantile(self.sample(np.random.default_rng(0), 20_000), q))


FAMILIES: dict[str, type[Distribution]] = {}
"""Distribution families by the name a scenario file gives them."""

D = TypeVar("D", bound=type[Distribution])


def register(cls: D) -> D:
    """File a family under its name (a class decorator)."""
    FAMILIES[cls.family] = cls
    return cls


@register
@dataclass(frozen=True)
class Constant(Distribution):
    """Always the same value."""

    family: ClassVar[str] = "constant"
    accepts: ClassVar[tuple[str, ...]] = ("value",)
    durations: ClassVar[frozenset[str]] = frozenset({"value"})
    value: float

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        _need(args, "value", family=cls.family)
        return cls(_scalar(args["value"], kind, "value"), kind=kind)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=np.float64)

    def mean(self) -> float:
        return self.value

    def to_spec(self) -> Any:
        return f"{float(self.value)!r}h" if self.kind == "duration" else self.value


@register
@dataclass(frozen=True)
class Exponential(Distribution):
    """Memoryless, given by its mean."""

    family: ClassVar[str] = "exponential"
    accepts: ClassVar[tuple[str, ...]] = ("mean",)
    durations: ClassVar[frozenset[str]] = frozenset({"mean"})
    mean_value: float

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        _need(args, "mean", family=cls.family)
        return cls(_positive(_scalar(args["mean"], kind, "mean"), "mean"), kind=kind)

    @property
    def params(self) -> tuple[tuple[str, Any], ...]:
        return (("mean", self.mean_value),)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_value, size)

    def mean(self) -> float:
        return self.mean_value


@register
@dataclass(frozen=True)
class Lognormal(Distribution):
    """exp of a normal: given by its median with p90 or sigma, or by its mean with sigma."""

    family: ClassVar[str] = "lognormal"
    accepts: ClassVar[tuple[str, ...]] = ("median", "p90", "sigma", "mean")
    durations: ClassVar[frozenset[str]] = frozenset({"median"})
    median: float
    sigma: float

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        median: float | None
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
        return cls(median, sigma, kind=kind)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.exp(rng.normal(math.log(self.median), self.sigma, size))

    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


@register
@dataclass(frozen=True)
class Gamma(Distribution):
    """Given by its mean with a shape (or a coefficient of variation, cv = 1 / sqrt(shape))."""

    family: ClassVar[str] = "gamma"
    accepts: ClassVar[tuple[str, ...]] = ("mean", "shape", "cv")
    durations: ClassVar[frozenset[str]] = frozenset({"mean"})
    mean_value: float
    shape: float

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        _need(args, "mean", family=cls.family)
        mean = _positive(_scalar(args["mean"], kind, "mean"), "mean")
        if "shape" in args:
            shape = _within(_scalar(args["shape"], "amount", "shape"), "gamma shape", *SHAPE_RANGE)
        elif "cv" in args:
            low, high = SHAPE_RANGE[1] ** -0.5, SHAPE_RANGE[0] ** -0.5
            shape = 1 / _within(_scalar(args["cv"], "amount", "cv"), "gamma cv", low, high) ** 2
        else:
            raise ValueError("gamma needs shape or cv besides the mean")
        return cls(mean, shape, kind=kind)

    @property
    def params(self) -> tuple[tuple[str, Any], ...]:
        return (("mean", self.mean_value), ("shape", self.shape))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.gamma(self.shape, self.mean_value / self.shape, size)

    def mean(self) -> float:
        return self.mean_value


@register
@dataclass(frozen=True)
class Uniform(Distribution):
    """Evenly spread between low and high."""

    family: ClassVar[str] = "uniform"
    accepts: ClassVar[tuple[str, ...]] = ("low", "high")
    durations: ClassVar[frozenset[str]] = frozenset({"low", "high"})
    low: float
    high: float

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        _need(args, "low", "high", family=cls.family)
        low, high = _scalar(args["low"], kind, "low"), _scalar(args["high"], kind, "high")
        if high < low:
            raise ValueError(f"uniform needs low <= high, got {args['low']!r} and {args['high']!r}")
        return cls(low, high, kind=kind)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def mean(self) -> float:
        return (self.low + self.high) / 2


@register
@dataclass(frozen=True)
class Beta(Distribution):
    """A fraction in [0, 1] with shape parameters a and b (also written `beta: [a, b]`)."""

    family: ClassVar[str] = "beta"
    accepts: ClassVar[tuple[str, ...]] = ("a", "b")
    a: float
    b: float

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        if kind != "fraction":
            raise ValueError("beta describes fractions in [0, 1]; it is not allowed here")
        _need(args, "a", "b", family=cls.family)
        a = _within(_scalar(args["a"], "amount", "a"), "beta a", *SHAPE_RANGE)
        b = _within(_scalar(args["b"], "amount", "b"), "beta b", *SHAPE_RANGE)
        return cls(a, b, kind=kind)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.beta(self.a, self.b, size)

    def mean(self) -> float:
        return self.a / (self.a + self.b)


@register
@dataclass(frozen=True)
class Empirical(Distribution):
    """Observed values drawn with their weights (equal weights when none are given)."""

    family: ClassVar[str] = "empirical"
    accepts: ClassVar[tuple[str, ...]] = ("values", "weights")
    durations: ClassVar[frozenset[str]] = frozenset({"values"})
    values: tuple[float, ...]
    weights: tuple[float, ...]

    @classmethod
    def parse(cls, args: dict[str, Any], kind: Kind) -> Distribution:
        _need(args, "values", family=cls.family)
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
        return cls(parsed, parsed_weights, kind=kind)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        values = np.asarray(self.values, dtype=np.float64)
        weights = np.asarray(self.weights, dtype=np.float64)
        return values[rng.choice(len(values), size=size, p=weights / weights.sum())]

    def mean(self) -> float:
        values = np.asarray(self.values, dtype=np.float64)
        weights = np.asarray(self.weights, dtype=np.float64)
        return float((values * weights).sum() / weights.sum())


def constant(value: float, kind: Kind = "amount") -> Distribution:
    return Constant(float(value), kind=kind)


# Short forms a scenario file may write instead of the parameter mapping.
SHORTHANDS: dict[str, Callable[[Any], Any]] = {
    "beta": lambda args: {"a": args[0], "b": args[1]} if isinstance(args, (list, tuple)) and len(args) == 2 else args,
    "constant": lambda args: args if isinstance(args, dict) else {"value": args},
    "empirical": lambda args: {"values": args} if isinstance(args, list) else args,
}


def parse_distribution(spec: Any, kind: Kind) -> Distribution:
    """Parse a scalar (a constant) or a one-key mapping such as {lognormal: {median: 12min, p90: 30min}}."""
    if isinstance(spec, Distribution):
        return spec
    if not isinstance(spec, dict):
        return constant(_scalar(spec, kind, "a constant"), kind)
    if len(spec) != 1:
        keys = sorted(str(k) for k in spec)[:10]
        raise ValueError(f"expected one distribution family ({', '.join(FAMILIES)}), got keys {keys}")
    name, args = next(iter(spec.items()))
    family = FAMILIES.get(name) if isinstance(name, str) else None
    if family is None:
        raise ValueError(f"unknown distribution {name!r}; expected one of {', '.join(FAMILIES)}")
    args = SHORTHANDS.get(name, lambda a: a)(args)
    if not isinstance(args, dict):
        raise ValueError(f"expected a mapping of parameters for {name}, got {str(args)[:60]!r}")
    unknown = set(args) - set(family.accepts)
    if unknown:
        names = sorted(str(u) for u in unknown)
        raise ValueError(f"unknown parameter(s) {names} for {name}; expected {', '.join(family.accepts)}")
    try:
        return family.parse(args, kind)
    except ArithmeticError:
        raise ValueError(f"the parameters of {name} overflow; use smaller or larger values") from None


def _need(args: dict[str, Any], *names: str, family: str) -> None:
    missing = [n for n in names if n not in args]
    if missing:
        raise ValueError(f"{family} needs {', '.join(names)}; missing {', '.join(missing)}")


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
