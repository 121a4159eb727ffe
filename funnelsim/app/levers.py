"""The levers a planner moves on the what-if page, and the overrides they make.

Every lever names a dotted path of the scenario schema; a changed lever becomes one override
for `load_scenario(source, overrides)`, exactly as `funnelsim run --set path=value` would, so a
bad value is reported by the schema and never reaches the model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from funnelsim.scenario.loader import ScenarioError, load_scenario, resolve_scenario_path
from funnelsim.scenario.schema import QUEUE_DISCIPLINES, Calendar, Scenario, format_hour_range

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SDR_CALENDAR = "sdr_whatif"
"""When SDR hours or days change, the SDRs get a calendar of their own (a copy of theirs), so the
AEs who may share it keep their hours."""


@dataclass
class Lever:
    """One control of the page: what it changes, how it is shown, and the scenario's value."""

    id: str
    label: str
    path: str
    kind: str  # text, select, bool, days, percent
    default: Any
    group: str
    options: list[str] = field(default_factory=list)
    help: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def sdr_calendar_of(scenario: Scenario) -> Calendar:
    """The SDRs' calendar; the 24/7 one written out as every day, 00:00-24:00."""
    calendar = scenario.calendar(scenario.sales.sdr.calendar)
    return (
        calendar
        if calendar is not None
        else Calendar.model_validate({"days": list(WEEKDAYS), "hours": ["00:00-24:00"]})
    )


def _hours_text(hours: Sequence[tuple[float, float]]) -> str:
    return ", ".join(format_hour_range(a, b) for a, b in hours)


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def levers_for(scenario: Scenario) -> list[Lever]:
    """The page's levers with the scenario's values as defaults."""
    sales = scenario.sales
    sdr_calendar = sdr_calendar_of(scenario)
    levers = [
        Lever(
            "sdr_count",
            "SDRs",
            "sales.sdr.count",
            "text",
            str(sales.sdr.count),
            "SDR desk",
            help="people, or 'unlimited'",
        ),
        Lever(
            "sdr_hours",
            "SDR hours",
            f"calendars.{SDR_CALENDAR}.hours",
            "text",
            _hours_text(sdr_calendar.hours),
            "SDR desk",
            help="e.g. 09:00-17:00, or 08:00-12:00, 13:00-18:00, or a night shift 22:00-06:00",
        ),
        Lever("sdr_days", "SDR days", f"calendars.{SDR_CALENDAR}.days", "days", list(sdr_calendar.days), "SDR desk"),
        Lever(
            "queue", "Queue order", "sales.queue", "select", sales.queue, "SDR desk", options=list(QUEUE_DISCIPLINES)
        ),
        Lever(
            "routing",
            "Routing",
            "sales.routing",
            "select",
            sales.routing,
            "SDR desk",
            options=["pooled", "round_robin"],
        ),
        Lever("sla", "SLA", "sales.sla", "text", f"{sales.sla:g}h", "SDR desk", help="a duration, e.g. 1h or 30min"),
        Lever(
            "auto_touch",
            "Automated first touch",
            "sales.auto_touch.enabled",
            "bool",
            bool(sales.auto_touch.enabled),
            "SDR desk",
            help="an instant automated reply on MQL",
        ),
        Lever("ae_count", "AEs", "sales.ae.count", "text", str(sales.ae.count), "Account executives"),
        Lever(
            "ae_capacity",
            "Open deals per AE",
            "sales.ae.capacity",
            "text",
            str(sales.ae.capacity),
            "Account executives",
        ),
        Lever(
            "fit_min",
            "MQL fit threshold",
            "nurture.mql.fit_min",
            "text",
            _number_text(scenario.nurture.mql.fit_min),
            "Qualification",
            help="0 to 1; higher is stricter",
        ),
    ]
    for name, channel in scenario.channels.items():
        levers.append(
            Lever(
                f"volume.{name}",
                f"{name.replace('_', ' ')} leads",
                f"channels.{name}.leads_per_week",
                "percent",
                "100",
                "Lead volume (% of the scenario)",
                help=f"100% = {channel.leads_per_week:g} a week",
            )
        )
    return levers


def _parse(text: Any) -> Any:
    """A text box's value as `--set` would read it (YAML), anything else as given."""
    if not isinstance(text, str):
        return text
    if not text.strip():
        return ""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _changed(lever: Lever, value: Any) -> bool:
    if lever.kind == "days":
        return sorted(map(str, value or [])) != sorted(lever.default)
    if lever.kind in ("text", "percent"):
        return str(value).strip() != str(lever.default)
    return value != lever.default


def lever_overrides(scenario: Scenario, lever: Lever, value: Any) -> dict[str, Any]:
    """The overrides one changed lever makes (dotted path -> value)."""
    if lever.kind == "percent":
        base = scenario.channels[lever.id.split(".", 1)[1]].leads_per_week
        try:
            percent = float(str(value).strip().removesuffix("%"))
        except ValueError:
            return {lever.path: _parse(value)}  # the schema says what it expected
        return {lever.path: base * percent / 100.0}
    if lever.id in ("sdr_hours", "sdr_days"):
        if lever.id == "sdr_hours" and isinstance(value, str):
            parts = [p.strip() for p in value.split(",")]
            parsed: Any = parts[0] if len(parts) == 1 else parts
        else:
            parsed = list(value) if isinstance(value, (list, tuple)) else value
        return {lever.path: parsed}
    if lever.kind == "text":
        return {lever.path: _parse(value)}
    return {lever.path: value}


def _calendar_copy(scenario: Scenario) -> dict[str, Any]:
    """The SDRs' own calendar, a copy of the one they had (the levers then change it)."""
    calendar = sdr_calendar_of(scenario).model_dump(mode="json")
    overrides = {f"calendars.{SDR_CALENDAR}.{key}": value for key, value in calendar.items() if value is not None}
    overrides["sales.sdr.calendar"] = SDR_CALENDAR
    return overrides


@dataclass
class Variant:
    """The page's settings resolved: overrides, the scenario they make, or the errors per control."""

    overrides: dict[str, Any]
    scenario: Scenario | None
    errors: dict[str, str]

    @property
    def sets(self) -> list[str]:
        """The same overrides as `--set` arguments."""
        return [f"{path}={_yaml_text(value)}" for path, value in self.overrides.items()]


def _yaml_text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip().removesuffix("...").strip()


def build_variant(
    source: str | Path,
    scenario: Scenario,
    values: Mapping[str, Any],
    extra: Sequence[Mapping[str, Any]] = (),
) -> Variant:
    """Overrides from the changed levers and the extra dotted paths, validated by the schema.

    `values` maps lever ids to the controls' values; `extra` is a list of {"path", "value"} with
    the value as YAML text. Errors are keyed by lever id, or `extra.<i>` for an extra field, or
    `general` when only the combination fails.
    """
    by_id = {lever.id: lever for lever in levers_for(scenario)}
    parts: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for key, value in values.items():
        lever = by_id.get(key)
        if lever is None:
            errors["general"] = f"unknown control {key!r}"
            continue
        if _changed(lever, value):
            parts[key] = lever_overrides(scenario, lever, value)
    if "sdr_hours" in parts or "sdr_days" in parts:
        parts["sdr_calendar"] = _calendar_copy(scenario)
    for index, item in enumerate(extra):
        path = str(item.get("path", "")).strip()
        if not path:
            continue
        if "=" in path or " " in path:
            errors[f"extra.{index}"] = f"{path!r}: expected a dotted path such as sales.sdr.reach"
            continue
        parts[f"extra.{index}"] = {path: _parse(item.get("value", ""))}
    overrides: dict[str, Any] = {}
    # the calendar copy goes first, so the levers' days and hours replace its values
    for key in sorted(parts, key=lambda k: k != "sdr_calendar"):
        overrides.update(parts[key])
    if errors:
        return Variant(overrides, None, errors)
    try:
        return Variant(overrides, load_scenario(source, overrides), {})
    except ScenarioError as error:
        combined = str(error)
    for key, part in parts.items():
        if key == "sdr_calendar":
            continue
        alone = {**parts["sdr_calendar"], **part} if key in ("sdr_hours", "sdr_days") else part
        try:
            load_scenario(source, alone)
        except ScenarioError as error:
            errors[key] = str(error)
    if not errors:
        errors["general"] = combined
    return Variant(overrides, None, errors)


def nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted-path overrides as the nested mapping a scenario file holds."""
    tree: dict[str, Any] = {}
    for dotted, value in overrides.items():
        node = tree
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return tree


class SaveError(ValueError):
    """A scenario could not be saved where asked; `exists` when only confirmation is missing."""

    def __init__(self, message: str, exists: bool = False) -> None:
        super().__init__(message)
        self.exists = exists


def writable_path(
    target: str, suffixes: tuple[str, ...], overwrite: bool = False, root: Path | None = None, example: str = ""
) -> Path:
    """Where the page may write a file the user named: under `root` (the cwd), with one of `suffixes`."""
    root = (root or Path.cwd()).resolve()
    text = target.strip()
    if not text:
        raise SaveError(f"type a file name, e.g. {example or 'whatif' + suffixes[0]}")
    path = (root / text).resolve()
    if not path.is_relative_to(root):
        raise SaveError(f"{text}: only files under the current directory ({root}) can be written")
    if path.suffix not in suffixes:
        raise SaveError(f"{text}: expected a file name ending in {suffixes[0]}")
    if path.exists() and not overwrite:
        raise SaveError(f"{text} exists; confirm to overwrite it", exists=True)
    if not path.parent.is_dir():
        raise SaveError(f"{text}: the folder {path.parent} does not exist")
    return path


def save_variant(
    source: str | Path, overrides: Mapping[str, Any], target: str, overwrite: bool = False, root: Path | None = None
) -> Path:
    """Write a scenario that `extends` the original with these overrides, under `root` (the cwd)."""
    path = writable_path(target, (".yaml", ".yml"), overwrite, root, example="whatif.yaml")
    source_path = Path(source)
    if source_path.is_file():
        extends = os.path.relpath(source_path.resolve(), path.parent)
    else:
        resolve_scenario_path(source)  # a bundled name: extends resolves it by name
        extends = str(source).removesuffix(".yaml")
    body: dict[str, Any] = {"extends": extends, "name": path.stem}
    body.update(nested(overrides))
    header = f"# Saved from the funnelsim what-if page: {extends} with {len(overrides)} change(s).\n"
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
