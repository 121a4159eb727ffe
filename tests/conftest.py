"""Shared helpers: small scenarios built from a minimal base, and common run settings."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario

# Every lead is an MQL at arrival and goes straight to one 24/7 SDR; nothing is random
# downstream unless a test says so.
MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "start": "2026-01-05",
    "horizon": "28d",
    "timezone": "Europe/Berlin",
    "channels": {"web": {"leads_per_week": 100}},
    "nurture": {"touches": [], "mql": {"engagement_min": 0, "fit_min": 0}},
    "self_serve": {"trial": 0},
    "sales": {
        "sdr": {"count": 1, "handle_time": "10min", "attempts": ["0h"], "reach": 1.0},
        "qualify": 0.0,
        "ae": {"count": "unlimited", "cycle": "7d", "win": 0.0},
    },
    "retention": {"monthly_churn": 0.0},
}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def make_scenario(**override: Any) -> Scenario:
    """The minimal scenario with nested overrides, e.g. make_scenario(sales={"queue": "lifo"}).

    `channels`, when given, replaces the minimal scenario's channels instead of merging.
    """
    data = deep_merge(MINIMAL, {k: v for k, v in override.items() if k != "channels"})
    if "channels" in override:
        data["channels"] = copy.deepcopy(override["channels"])
    return load_scenario(data)


@pytest.fixture
def scenario_file(tmp_path):
    """Write YAML text to a file and return its path."""

    def write(text: str, name: str = "scenario.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
