"""One-at-a-time sensitivity: which assumption moves a figure most, on common random numbers.

Each parameter is set to its low and then its high value with everything else as in the
scenario, all runs with the same seed; an effect is the paired difference against the
scenario as it is, so its interval is narrow even with few replications.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from funnelsim import metrics
from funnelsim.experiment.grid import GridError, check_metrics, load_point
from funnelsim.experiment.points import ExecutorOptions, PointStore, run_points
from funnelsim.experiment.runner import DEFAULT_SEED, RunResult
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import format_hours, parse_duration_hours

DEFAULT_SENSITIVITY_REPS = 10
DEFAULT_SWING = 0.25  # default low/high: the scenario's value -25% / +25%
# The numbers the bundled scenarios mark as assumptions (no public source pins them down).
# `funnelsim sensitivity` with no --param varies each one present in the scenario by ±25%.
DEFAULT_ASSUMPTIONS: tuple[str, ...] = (
    "sales.sdr.reach",
    "sales.sdr.handle_time.lognormal.median",
    "sales.patience.exponential.mean",
    "sales.ae.capacity",
    "sales.auto_touch.decay_slowdown",
    "nurture.mql.fit_min",
    "self_serve.trial",
    "sales.deal_mrr.lognormal.median",
    "retention.poor_fit_below",
    "retention.poor_fit_churn_factor",
)
PROBABILITY_FIELDS = ("reach", "fit_min", "trial", "poor_fit_below")


class SensitivityError(GridError):
    """A parameter range that cannot be used (unknown field, reversed, or excluding the scenario's value)."""


@dataclass(frozen=True)
class Parameter:
    """A field, its low and high values, and the scenario's own value between them."""

    key: str
    low: float
    base: float
    high: float
    duration: bool = False  # values are hours, written back with a unit
    whole: bool = False  # the field takes whole numbers

    def override(self, value: float) -> str:
        if self.duration:
            return f"{self.key}={value:g}h"
        return f"{self.key}={round(value) if self.whole else value:g}"

    def shown(self, value: float) -> str:
        return format_hours(value).replace(" ", "") if self.duration else f"{value:g}"


def _value_at(scenario: Scenario, key: str) -> Any:
    node: Any = scenario.model_dump(mode="json")
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _number(value: Any, what: str) -> tuple[float, bool]:
    """A number, or a duration in hours (second item True)."""
    if isinstance(value, bool):
        raise SensitivityError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value), False
    try:
        return parse_duration_hours(value), True
    except ValueError:
        raise SensitivityError(f"{what}: expected a number or a duration such as 3d, got {value!r}") from None


def parse_parameter(spec: str, scenario: Scenario) -> Parameter:
    """`KEY=LOW..HIGH` around the scenario's own value (which the range must include)."""
    key, sep, text = spec.partition("=")
    key = key.strip()
    current = _value_at(scenario, key)
    if current is None or isinstance(current, (Mapping, list)):
        raise SensitivityError(
            f"--param {key}: {'no such field' if current is None else 'not a single number'} in scenario "
            f"{scenario.name!r}; give the dotted path of a number, e.g. sales.sdr.reach or "
            "sales.patience.exponential.mean"
        )
    base, duration = _number(current, f"--param {key}")
    whole = isinstance(current, int) and not isinstance(current, bool)
    if not sep:
        return default_parameter(key, base, duration, whole)
    low_text, dots, high_text = text.partition("..")
    if not dots or not low_text.strip() or not high_text.strip():
        raise SensitivityError(f"--param {spec}: expected KEY=LOW..HIGH, e.g. sales.sdr.reach=0.6..0.9")
    low, low_duration = _number(_scalar(low_text), f"--param {key}")
    high, high_duration = _number(_scalar(high_text), f"--param {key}")
    if low_duration != duration or high_duration != duration:
        unit = "a duration with a unit, e.g. 3d..14d" if duration else "plain numbers"
        raise SensitivityError(f"--param {spec}: {key} takes {unit}")
    if high < low:
        raise SensitivityError(f"--param {spec}: the range is reversed (low {low:g} > high {high:g})")
    if high == low:
        raise SensitivityError(f"--param {spec}: the range is empty (low = high = {low:g})")
    if not low <= base <= high:
        shown = f"{base:g}h" if duration else f"{base:g}"
        raise SensitivityError(
            f"--param {spec}: the range excludes the scenario's own value {key} = {shown}; "
            "a one-at-a-time range must lie around it"
        )
    return Parameter(key, low, base, high, duration, whole)


def _scalar(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text.strip())
    except yaml.YAMLError:
        return text.strip()


def default_parameter(key: str, base: float, duration: bool = False, whole: bool = False) -> Parameter:
    """The scenario's value -25% / +25% (probabilities kept within 0..1, whole numbers rounded)."""
    low, high = (float(f"{base * (1 + sign * DEFAULT_SWING):.6g}") for sign in (-1, 1))
    if key.split(".")[-1] in PROBABILITY_FIELDS:
        high = min(high, 1.0)
    if key.endswith("decay_slowdown"):
        low = max(low, 1.0)
    if whole:
        low, high = float(math.floor(low)), float(math.ceil(high))
    return Parameter(key, low, base, high, duration, whole)


def default_parameters(scenario: Scenario) -> list[Parameter]:
    """Every default assumption the scenario has, with a non-zero value (a ±25% range of 0 is empty)."""
    found = []
    for key in DEFAULT_ASSUMPTIONS:
        if key.startswith("sales.auto_touch.") and not scenario.sales.auto_touch.enabled:
            continue  # the slowdown only acts when the automated touch is on
        value = _value_at(scenario, key)
        if value is None or isinstance(value, (Mapping, list, bool)):
            continue
        number, duration = _number(value, key)
        if number > 0:
            found.append(default_parameter(key, number, duration, isinstance(value, int)))
    return found


@dataclass
class SensitivityResult:
    """Effects of each parameter at its low and high value on each metric, largest swing first."""

    scenario: Scenario
    parameters: list[Parameter]
    metrics: list[str]
    base: RunResult
    table: pd.DataFrame
    computed: int = 0
    reused: int = 0
    notes: list[str] = field(default_factory=list)

    def metric(self, name: str) -> pd.DataFrame:
        return self.table[self.table["metric"] == name].reset_index(drop=True)


def sensitivity(
    source: str | Path | Mapping[str, Any] | None,
    params: Sequence[str | Parameter] | None = None,
    metric_names: Sequence[str] = ("customers",),
    reps: int = DEFAULT_SENSITIVITY_REPS,
    seed: int = DEFAULT_SEED,
    overrides: Sequence[str] = (),
    *,
    store: PointStore | Path | str | None = None,
    executor: str = "processes",
    workers: int | None = None,
    dask_address: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SensitivityResult:
    """Vary each parameter to its low and high value alone (same seed) and pair the effects."""
    names = check_metrics(metric_names)
    if reps < 2:
        raise SensitivityError("sensitivity needs at least 2 replications for an interval")
    base_scenario = load_point(source, list(overrides), {})
    parameters = [p if isinstance(p, Parameter) else parse_parameter(p, base_scenario) for p in (params or [])]
    if not params:
        parameters = default_parameters(base_scenario)
    if not parameters:
        raise SensitivityError("no parameters to vary: give --param KEY=LOW..HIGH")
    scenarios = [base_scenario]
    for p in parameters:
        for value in (p.low, p.high):
            scenarios.append(_load(source, overrides, p, value))
    points = store if isinstance(store, PointStore) else PointStore(None if store is None else Path(store))
    before = (points.computed, points.reused)
    options = ExecutorOptions(executor, workers, dask_address)  # type: ignore[arg-type]
    results = run_points(scenarios, reps, seed, points, options, progress)
    base = results[0]
    rows = []
    for i, p in enumerate(parameters):
        low_diff = _paired(base, results[1 + 2 * i])
        high_diff = _paired(base, results[2 + 2 * i])
        for name in names:
            row: dict[str, Any] = {"parameter": p.key, "low": p.low, "base": p.base, "high": p.high, "metric": name}
            row["base_mean"] = base.figure(name)[0] if name in set(base.summary["metric"]) else math.nan
            for side, diff in (("low", low_diff), ("high", high_diff)):
                found = name in diff.index
                row[f"{side}_effect"] = float(diff["difference"][name]) if found else math.nan
                row[f"{side}_ci_low"] = float(diff["ci_low"][name]) if found else math.nan
                row[f"{side}_ci_high"] = float(diff["ci_high"][name]) if found else math.nan
            row["swing"] = abs(row["high_effect"] - row["low_effect"])
            rows.append(row)
    table = pd.DataFrame(rows).sort_values(["metric", "swing"], ascending=[True, False], kind="stable")
    notes = []
    if any(p.key.startswith("sales.auto_touch.") for p in parameters) and not base_scenario.sales.auto_touch.enabled:
        notes.append(
            f"sales.auto_touch is disabled in {base_scenario.name}, so its parameters have no effect; "
            "add --set sales.auto_touch.enabled=true to test them"
        )
    return SensitivityResult(
        base_scenario,
        parameters,
        names,
        base,
        table.reset_index(drop=True),
        points.computed - before[0],
        points.reused - before[1],
        notes,
    )


def _load(source: Any, overrides: Sequence[str], parameter: Parameter, value: float) -> Scenario:
    try:
        return load_scenario(source, [*overrides, parameter.override(value)])
    except ScenarioError as error:
        raise SensitivityError(f"--param {parameter.key}={parameter.shown(value)}: {error}") from None


def _paired(base: RunResult, variant: RunResult) -> pd.DataFrame:
    ok = base.replications[base.replications["error"].isna()]
    other = variant.replications[variant.replications["error"].isna()]
    return metrics.paired_difference(ok, other).set_index("metric")
