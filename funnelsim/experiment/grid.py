"""Full factorial grids over scenario fields (`--vary KEY=VALUES`), as one tidy table, resumable.

Values are lists (`fifo,lifo`), integer ranges (`1..8`) or float ranges with a step
(`0.1..0.5:0.1`); every grid point is checked against the schema before anything runs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from funnelsim import metrics
from funnelsim.experiment.points import ExecutorOptions, PointStore, point_key, run_points
from funnelsim.experiment.precision import run_points_to_precision
from funnelsim.experiment.runner import DEFAULT_REPS, DEFAULT_SEED, RunResult, check_sizes
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.schema import Scenario

MAX_GRID_POINTS = 10_000


class GridError(ScenarioError):
    """A grid the user asked for cannot be built (bad range, unknown field or metric)."""


@dataclass(frozen=True)
class Axis:
    """One varied field and the values it takes."""

    key: str
    values: tuple[Any, ...]


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_values(text: str, what: str = "--vary") -> list[Any]:
    """`a,b,c`, an integer range `1..8` (inclusive), or a float range `0.1..0.5:0.1`."""
    text = text.strip()
    if not text:
        raise GridError(f"{what}: no values given; expected a list (fifo,lifo), a range (1..8) or 0.1..0.5:0.1")
    if ".." not in text:
        values = [_scalar(v.strip()) for v in text.split(",") if v.strip()]
        if not values:
            raise GridError(f"{what}: no values given")
        return values
    bounds, _, step_text = text.partition(":")
    low_text, _, high_text = bounds.partition("..")
    low, high = _scalar(low_text.strip()), _scalar(high_text.strip())
    step = _scalar(step_text.strip()) if step_text else None
    if not (_is_number(low) and _is_number(high)) or (step is not None and not _is_number(step)):
        raise GridError(f"{what}: range {text!r}: expected numbers, e.g. 1..8 or 0.1..0.5:0.1")
    if high < low:
        raise GridError(f"{what}: range {text!r} is reversed (low {low} > high {high}); write {high}..{low}")
    if step is None:
        if not (isinstance(low, int) and isinstance(high, int)):
            raise GridError(f"{what}: range {text!r}: a range of fractional numbers needs a step, e.g. {text}:0.1")
        return list(range(low, high + 1))
    if step <= 0:
        raise GridError(f"{what}: range {text!r}: the step must be positive, got {step}")
    count = math.floor((high - low) / step + 1e-9) + 1
    if count > MAX_GRID_POINTS:
        raise GridError(f"{what}: range {text!r} has {count:,} values, more than {MAX_GRID_POINTS:,}")
    if all(isinstance(v, int) for v in (low, high, step)):
        return list(range(low, high + 1, step))
    digits = max(0, -math.floor(math.log10(step)) + 3)
    return [round(low + i * step, digits) for i in range(count)]


def parse_axis(spec: str, what: str = "--vary") -> Axis:
    """`KEY=VALUES` as one axis."""
    key, sep, values = spec.partition("=")
    if not sep or not key.strip():
        raise GridError(
            f"{what} {spec}: expected KEY=VALUES, e.g. {what} sales.sdr.count=1..4 or sales.queue=fifo,lifo"
        )
    return Axis(key.strip(), tuple(parse_values(values, f"{what} {key.strip()}")))


def parse_axes(specs: Iterable[str], what: str = "--vary") -> list[Axis]:
    axes = [parse_axis(s, what) for s in specs]
    seen = set()
    for axis in axes:
        if axis.key in seen:
            raise GridError(f"{what} {axis.key}: given twice; give all its values in one {what}")
        seen.add(axis.key)
    return axes


def grid_settings(axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the last axis varying fastest."""
    count = math.prod(len(a.values) for a in axes)
    if count > MAX_GRID_POINTS:
        raise GridError(f"the grid has {count:,} points, more than {MAX_GRID_POINTS:,}; narrow a range")
    return [dict(zip((a.key for a in axes), combo)) for combo in itertools.product(*(a.values for a in axes))]


def _override(key: str, value: Any) -> str:
    return f"{key}={value}" if not isinstance(value, str) else f"{key}={yaml.safe_dump(value).strip()}"


def load_point(
    source: str | Path | Mapping[str, Any] | None, overrides: Sequence[str], setting: Mapping[str, Any]
) -> Scenario:
    """The scenario at one grid setting; an unknown field or a value of the wrong type is a GridError."""
    try:
        return load_scenario(source, [*overrides, *(_override(k, v) for k, v in setting.items())])
    except ScenarioError as error:
        where = ", ".join(f"{k}={v}" for k, v in setting.items())
        text = str(error)
        for key in setting:
            text = text.replace(f"--set {key}: ", "")
        raise GridError(f"--vary {where}: {text}") from None


def check_metrics(names: Iterable[str], known: Iterable[str] = ()) -> list[str]:
    """The metric names, or a GridError listing the valid ones."""
    names = list(names)
    valid = set(metrics.FIGURES) | set(known)
    unknown = [m for m in names if m not in valid and not _is_channel_figure(m)]
    if unknown:
        raise GridError(
            f"unknown metric(s) {', '.join(unknown)}; valid metrics: {', '.join([*metrics.FIGURES, *known])}"
            f" (and channel.<channel>.<{'|'.join(metrics.CHANNEL_FIGURES)}>)"
        )
    return names


def _is_channel_figure(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 3 and parts[0] == "channel" and parts[2] in metrics.CHANNEL_FIGURES


@dataclass
class GridResult:
    """One run per grid point; `table` is tidy: parameter columns, metric, mean, ci_low, ci_high, n."""

    axes: list[Axis]
    settings: list[dict[str, Any]]
    results: list[RunResult]
    keys: list[str] = field(default_factory=list)
    computed: int = 0
    reused: int = 0

    @property
    def table(self) -> pd.DataFrame:
        frames = []
        for setting, result, key in zip(self.settings, self.results, self.keys or [""] * len(self.results)):
            frame = result.summary[["metric", "mean", "ci_low", "ci_high", "n"]].copy()
            for position, (name, value) in enumerate(setting.items()):
                frame.insert(position, name, value)
            frame["point"] = key
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def metric(self, name: str) -> pd.DataFrame:
        """The tidy table's rows of one metric."""
        table = self.table
        return table[table["metric"] == name].reset_index(drop=True)


def grid(
    source: str | Path | Mapping[str, Any] | None,
    vary: Mapping[str, Sequence[Any]] | Sequence[Axis] | Sequence[str],
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    overrides: Sequence[str] = (),
    *,
    store: PointStore | Path | str | None = None,
    executor: str = "processes",
    workers: int | None = None,
    dask_address: str | None = None,
    allow_large: bool = False,
    precision: float | None = None,
    max_reps: int | None = None,
    progress: Callable[[int], None] | None = None,
    size_checked: bool = False,
) -> GridResult:
    """Run every point of the full factorial grid with the same seeds; stored points are not rerun.

    `vary` maps dotted fields to values (or is a list of Axis, or of "KEY=VALUES" strings).
    `store` is a folder of finished points (None: nothing stored). `size_checked`: the caller
    has run the size guard over the grid already (`grid_points` does).
    """
    axes = _as_axes(vary)
    settings = grid_settings(axes)
    scenarios = grid_points(source, settings, reps, overrides, allow_large, size_checked)
    points = store if isinstance(store, PointStore) else PointStore(None if store is None else Path(store))
    before_computed, before_reused = points.computed, points.reused
    options = ExecutorOptions(executor, workers, dask_address)  # type: ignore[arg-type]
    if precision is None:
        results = run_points(scenarios, reps, seed, points, options, progress)
        keys = [point_key(s, seed, reps) for s in scenarios]
    else:
        outcome = run_points_to_precision(scenarios, reps, seed, precision, max_reps, points, options, progress)
        results, keys = outcome.results, outcome.keys
    return GridResult(axes, settings, results, keys, points.computed - before_computed, points.reused - before_reused)


def grid_points(
    source: str | Path | Mapping[str, Any] | None,
    settings: Sequence[Mapping[str, Any]],
    reps: int,
    overrides: Sequence[str] = (),
    allow_large: bool = False,
    size_checked: bool = False,
) -> list[Scenario]:
    """The scenario at every grid setting, each checked against the schema; the size guard counts
    the replications of the whole grid (unless `size_checked`)."""
    scenarios = [load_point(source, list(overrides), s) for s in settings]
    if not size_checked:
        check_sizes(scenarios, reps, allow_large)
    return scenarios


def _as_axes(vary: Mapping[str, Sequence[Any]] | Sequence[Axis] | Sequence[str]) -> list[Axis]:
    if isinstance(vary, Mapping):
        axes = [Axis(k, tuple(v)) for k, v in vary.items()]
    elif all(isinstance(v, str) for v in vary):
        axes = parse_axes(vary)  # type: ignore[arg-type]
    else:
        axes = list(vary)  # type: ignore[arg-type]
    if not axes:
        raise GridError("a grid needs at least one varied field")
    for axis in axes:
        if not axis.values:
            raise GridError(f"--vary {axis.key}: no values given")
    return axes
