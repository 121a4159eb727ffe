"""Fuzz: mutated bundled scenarios either validate and run a short horizon, or fail with a
message naming a field; never a traceback, never a hang. FUNNELSIM_FUZZ_EXAMPLES sets the count."""

from __future__ import annotations

import copy
import math
import os
import time
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import ScenarioError, bundled_scenarios, load_scenario

EXAMPLES = int(os.environ.get("FUNNELSIM_FUZZ_EXAMPLES", "1000"))
BASES = {n: yaml.safe_load(p.read_text()) for n, p in bundled_scenarios().items() if not n.startswith("validation/")}
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 0.0, -1, 1e300, -1e300, 1e-300, math.inf, -math.inf, math.nan, 2**63, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["0d", "1e400d", "1000000y", "-5min", "2026-02-30", "Europe", "[bold]x[/]", ":100:", "x" * 300]),
    st.lists(st.integers(-5, 5), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, prefix + (index,))
    return found


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    base = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(base)
        path = draw(st.sampled_from(paths))
        parent: Any = base
        for part in path[:-1]:
            parent = parent[part]
        kind = draw(st.sampled_from(["value", "value", "delete", "nest"]))
        if kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif kind == "nest":
            nested: Any = 1
            for _ in range(draw(st.integers(1, 60))):
                nested = [nested]
            parent[path[-1]] = nested
        else:
            parent[path[-1]] = draw(WEIRD)
    return base


def _text(document: dict[str, Any], trick: int) -> str:
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if trick == 1:  # an anchor and aliases
        text = "x: &a [1, 2, 3]\ny: [*a, *a, *a]\n" + text
    elif trick == 2:  # an explicit tag with a bad value
        text = text.replace("count:", "count: !!int", 1)
    return text


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
)
@given(documents(), st.integers(0, 2))
def test_every_mutated_scenario_validates_and_runs_or_names_a_field(tmp_path_factory, document, trick):
    path = tmp_path_factory.mktemp("fuzz") / "scenario.yaml"
    path.write_text(_text(document, trick), encoding="utf-8")
    started = time.perf_counter()
    try:
        scenario = load_scenario(path, ["horizon=2d", "warmup=0d"])
    except ScenarioError as error:
        message = str(error)
        assert str(path) in message and ": " in message  # names the file, and a field or line
        assert "Traceback" not in message
        return
    assert time.perf_counter() - started < 5
    if scenario.expected_leads() > 200_000:
        return  # the size guard's job; not a short run
    simulate(scenario, 0)
    assert time.perf_counter() - started < 20
