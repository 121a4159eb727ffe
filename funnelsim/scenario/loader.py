"""Loading scenario files: safe YAML, `extends:` inheritance, `--set` overrides, clear errors.

Every failure is a `ScenarioError` whose message names the file, the field path and what was
expected, so the CLI can print it as one paragraph without a traceback.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from funnelsim.scenario import yaml_safety
from funnelsim.scenario.distributions import FAMILIES
from funnelsim.scenario.schema import Scenario


class ScenarioError(ValueError):
    """A user's mistake in a scenario file or override; the message is for the user."""


MAX_PROBLEMS_SHOWN = 50


def bundled_dir() -> Path:
    """The folder of scenario files shipped with funnelsim: the package data `funnelsim/scenarios`.

    In a source checkout `funnelsim/scenarios` is a link to the top-level `scenarios/` folder,
    so an installed copy and a checkout find them the same way.
    """
    return Path(str(resources.files("funnelsim").joinpath("scenarios")))


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario names (file stems) and their paths, validation cases included."""
    root = bundled_dir()
    found = {p.stem: p for p in sorted(root.glob("*.yaml"))}
    found.update({f"validation/{p.stem}": p for p in sorted(root.glob("validation/*.yaml"))})
    return found


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A path to a file, or the name of a bundled scenario such as 'baseline'."""
    path = Path(name_or_path)
    if _is_file(path):
        return path
    bundled = bundled_scenarios()
    key = str(name_or_path).removesuffix(".yaml")
    if key in bundled:
        return bundled[key]
    names = ", ".join(n for n in bundled if not n.startswith("validation/"))
    raise ScenarioError(f"{name_or_path}: no such file, and no bundled scenario of that name (bundled: {names})")


def _is_file(path: Path) -> bool:
    """is_file() that answers False (instead of raising) for names too long or with NUL."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def load_scenario(
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
) -> Scenario:
    """Load and validate a scenario from a file, a bundled name or a dict, applying overrides.

    `overrides` are `"dotted.path=value"` strings (values parsed as YAML) or a mapping of
    dotted paths to values.
    """
    if source is None:
        source = "baseline"
    lines: dict[tuple, Any]
    if isinstance(source, Mapping):
        data, origin, lines = copy.deepcopy(dict(source)), "<scenario>", {}
    else:
        path = resolve_scenario_path(source)
        data, lines = _read_with_extends(path, seen=())
        origin = str(source) if _is_file(Path(source)) else str(path)
    for dotted, value in _parse_overrides(overrides):
        _apply_override(data, dotted, value, origin)
        lines[tuple(_split_path(dotted))] = f"--set {dotted}"
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_format_validation_error(error, data, origin, lines)) from None


# --- YAML and extends -------------------------------------------------------------------


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple, int]]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read the file ({error.strerror})") from None
    try:
        data, node = yaml_safety.load(yaml_safety.decode(raw))
    except yaml_safety.YamlProblem as problem:
        where = f"{path}:{problem.line}" if problem.line else str(path)
        raise ScenarioError(f"{where}: {problem}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        what = getattr(error, "problem", None) or str(error)
        raise ScenarioError(f"{where}: malformed YAML: {what}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario fields at the top level, got {_kind(data)}")
    return data, yaml_safety.collect_lines(node)


def _kind(value: Any) -> str:
    """A value's kind in the words of a YAML file, not a Python class name."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value[:60]!r}"
    return f"the value {str(value)[:60]!r}"


def _read_with_extends(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], dict[tuple, Any]]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in seen + (resolved,))
        raise ScenarioError(f"{path}: extends: circular inheritance ({chain})")
    data, lines = _read_yaml(path)
    located: dict[tuple, Any] = {k: f"{path}:{v}" for k, v in lines.items()}
    parent = data.pop("extends", None)
    if parent is None:
        return data, located
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}:{lines.get(('extends',), '?')}: extends: expected a file name, got {parent!r}")
    if "\0" in parent or len(parent) > 1000:
        raise ScenarioError(
            f"{path}:{lines.get(('extends',), '?')}: extends: expected a file name, got {parent[:60]!r}"
        )
    parent_path = (path.parent / parent) if not Path(parent).is_absolute() else Path(parent)
    if not _is_file(parent_path):
        bundled = bundled_scenarios()
        if parent.removesuffix(".yaml") in bundled:
            parent_path = bundled[parent.removesuffix(".yaml")]
        else:
            raise ScenarioError(
                f"{path}:{lines.get(('extends',), '?')}: extends: the file {parent!r} does not exist "
                f"(looked for {parent_path}), and no bundled scenario has that name"
            )
    base, base_lines = _read_with_extends(parent_path, seen + (resolved,))
    base_lines.update(located)
    return _deep_merge(base, data), base_lines


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `override` replaces the base value."""
    merged = dict(base)
    for key, value in override.items():
        if _is_distribution(value) and _is_distribution(merged.get(key)) and set(value) != set(merged[key]):
            merged[key] = value  # a child may switch a distribution to another family
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _is_distribution(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in FAMILIES


# --- overrides --------------------------------------------------------------------------


def _parse_overrides(overrides: Iterable[str] | Mapping[str, Any]) -> list[tuple[str, Any]]:
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    parsed = []
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"--set {item}: expected KEY=VALUE, e.g. sales.sdr.count=3")
        try:
            value = yaml_safety.load(text)[0] if text.strip() else ""
        except yaml_safety.YamlProblem as problem:
            raise ScenarioError(f"--set {item[:200]}: {problem}") from None
        except yaml.YAMLError:
            value = text
        parsed.append((key.strip(), value))
    return parsed


def _split_path(dotted: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in dotted.split(".")]


def _apply_override(data: dict[str, Any], dotted: str, value: Any, origin: str) -> None:
    parts = _split_path(dotted)
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list) and isinstance(part, int):
            if part >= len(node):
                raise ScenarioError(f"--set {dotted}: index {part} is past the end of a list of {len(node)}")
            node = node[part]
            continue
        if not isinstance(node, dict):
            where = ".".join(map(str, parts[: depth + 1]))
            raise ScenarioError(f"--set {dotted}: {where} is not a mapping in {origin}")
        node = node.setdefault(part, {})
        if node is None:
            node = {}
    last = parts[-1]
    if isinstance(node, list) and isinstance(last, int):
        if last >= len(node):
            raise ScenarioError(f"--set {dotted}: index {last} is past the end of a list of {len(node)}")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"--set {dotted}: the parent of {last!r} is not a mapping in {origin}")


# --- error messages ---------------------------------------------------------------------


def _data_path(loc: tuple, data: Any) -> tuple:
    """Keep the parts of a pydantic location that are keys or indices of the data itself."""
    kept: list = []
    node = data
    for part in loc:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            kept.append(part)
            node = node[part]
        elif isinstance(node, Mapping) and isinstance(part, str) and "[" not in part and part not in _TYPE_TAGS:
            kept.append(part)  # a missing required field
            node = None
    return tuple(kept)


_TYPE_TAGS = {"int", "float", "str", "bool", "list", "dict", "date", "datetime", "tuple", "none", "union"}


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _allowed_fields(path: tuple) -> list[str]:
    """Field names allowed at a path of the schema (for unknown-key messages)."""
    annotation: Any = Scenario
    for part in path:
        model = _model_in(annotation)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
        if origin is dict and len(args) == 2:
            annotation = args[1]
        elif origin is list and args:
            annotation = args[0]
        else:
            return []
    model = _model_in(annotation)
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def _message(error: ErrorDetails, path: tuple) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(path[:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return f"unknown field {path[-1]!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "too_long":
        context = error.get("ctx", {})
        return f"expected at most {context.get('max_length')} item(s), got {context.get('actual_length')}"
    if kind == "too_short":
        context = error.get("ctx", {})
        return f"expected at least {context.get('min_length', 1)} item(s), got {context.get('actual_length', 0)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields, got {_kind(error.get('input'))}"
    text = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    text = text.replace("Input should be", "expected")
    text = re.sub(r" or instance of \w+", "", text)
    if "input" in error and kind not in ("value_error",) and not isinstance(error["input"], (dict, list)):
        text += f", got {_short(error['input'])}"
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _format_validation_error(error: ValidationError, data: Any, origin: str, lines: Mapping[tuple, Any]) -> str:
    by_path: dict[tuple, list[str]] = {}
    for item in error.errors():
        if item["type"] == "cross_field":  # several problems, each with its own field path
            for problem_path, problem in item.get("ctx", {}).get("problems", ()):
                by_path.setdefault(tuple(problem_path), []).append(problem)
            continue
        path = _data_path(item["loc"], data)
        message = _message(item, path)
        if message not in by_path.setdefault(path, []):
            by_path[path].append(message)
    rendered = []
    for path, messages in by_path.items():
        where = _where(path, origin, lines)
        rendered.append(f"{where}: {_dotted(path)}: {' or '.join(messages)}")
    if len(rendered) > MAX_PROBLEMS_SHOWN:
        rendered = rendered[:MAX_PROBLEMS_SHOWN] + [f"... and {len(rendered) - MAX_PROBLEMS_SHOWN} more problems"]
    return "\n".join(rendered)


def _where(path: tuple, origin: str, lines: Mapping[tuple, Any]) -> str:
    for cut in range(len(path), -1, -1):
        found = lines.get(path[:cut])
        if found is not None:
            return f"{origin}:{found}" if isinstance(found, int) else str(found)
    return origin
