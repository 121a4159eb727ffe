"""A calibrated scenario as YAML text, each fitted number with a comment saying where it came from."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import yaml

from funnelsim.calibrate.fit import Calibration

WIDTH = 116


def plain(value: Any) -> Any:
    """numpy scalars as Python numbers, recursively, so the YAML holds plain values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _flow(value: Any) -> str:
    text = yaml.safe_dump(
        plain(value), default_flow_style=True, width=10_000, sort_keys=False, allow_unicode=True
    ).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _comment_lines(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, WIDTH - len(indent) - 2)]


def _emit(data: dict[str, Any], comments: dict[tuple[str, ...], str], path: tuple[str, ...], depth: int) -> list[str]:
    indent = "  " * depth
    lines: list[str] = []
    for key, value in data.items():
        here = (*path, str(key))
        if here in comments:
            lines += _comment_lines(comments[here], indent)
        name = _flow(key)
        if isinstance(value, dict) and value and not _is_leaf(here):
            lines.append(f"{indent}{name}:")
            lines += _emit(value, comments, here, depth + 1)
        else:
            lines.append(f"{indent}{name}: {_flow(value)}")
    return lines


def _is_leaf(path: tuple[str, ...]) -> bool:
    """Small mappings written on one line: distributions, chances, profiles, calendars."""
    return path[-1] in ("cycle", "win", "qualify", "deal_mrr", "fit", "mql", "handle_time") or (
        len(path) == 2 and path[0] in ("profiles", "calendars")
    )


def scenario_yaml(calibration: Calibration, header: list[str]) -> str:
    """The scenario file: a header of provenance and warnings, then the commented fields."""
    lines = [f"# {line}" for line in header]
    for note in calibration.notes:
        lines += _comment_lines("note: " + note, "")
    for warning in calibration.warnings:
        lines += _comment_lines("warning: " + warning, "")
    lines += _emit(calibration.scenario, calibration.comments, (), 0)
    return "\n".join(lines) + "\n"
