"""Scenario files: units, distributions, extends, overrides, and one clear message per mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest

from funnelsim.scenario.distributions import parse_distribution
from funnelsim.scenario.loader import ScenarioError, bundled_scenarios, load_scenario
from funnelsim.scenario.units import parse_duration_hours

from .conftest import MINIMAL, make_scenario


@pytest.mark.parametrize(
    ("text", "hours"),
    [("90s", 0.025), ("5min", 5 / 60), ("2h", 2.0), ("3d", 72.0), ("2w", 336.0), ("1.5h", 1.5), (0, 0.0)],
)
def test_durations_are_parsed_into_hours(text, hours):
    assert parse_duration_hours(text) == pytest.approx(hours)


@pytest.mark.parametrize("text", [5, "5", "5 parsecs", "h", "-3d", True])
def test_a_duration_needs_a_known_unit(text):
    with pytest.raises(ValueError, match="duration with a unit"):
        parse_duration_hours(text)


def test_lognormal_from_median_and_p90_hits_both_quantiles():
    dist = parse_distribution({"lognormal": {"median": "12min", "p90": "30min"}}, "duration")
    draws = dist.sample(np.random.default_rng(3), 200_000)
    assert np.median(draws) == pytest.approx(0.2, rel=0.01)
    assert np.quantile(draws, 0.9) == pytest.approx(0.5, rel=0.01)


def test_gamma_and_empirical_means():
    rng = np.random.default_rng(4)
    gamma = parse_distribution({"gamma": {"mean": "2h", "cv": 0.5}}, "duration")
    assert gamma.sample(rng, 100_000).mean() == pytest.approx(2.0, rel=0.01)
    table = parse_distribution({"empirical": {"values": [100, 1000], "weights": [3, 1]}}, "amount")
    assert table.mean() == 325.0
    assert table.sample(rng, 100_000).mean() == pytest.approx(325.0, rel=0.02)


@pytest.mark.parametrize("source", ["baseline", "speed-to-lead", None])
def test_resolved_scenario_round_trips_through_its_own_dump(source):
    scenario = make_scenario() if source is None else load_scenario(source)  # None: mostly defaults
    assert load_scenario(scenario.model_dump(mode="json")) == scenario


def test_every_bundled_scenario_is_valid():
    names = bundled_scenarios()
    assert {"baseline"} <= set(names)
    for name in names:
        assert load_scenario(name).name


def test_extends_merges_mappings_and_replaces_the_rest(scenario_file):
    scenario_file("name: parent\nstart: 2026-01-05\nhorizon: 30d\nchannels: {web: {leads_per_week: 10}}\n"
                  "sales: {sdr: {count: 2, attempts: [0h, 1d]}, queue: fifo}\n", "parent.yaml")  # fmt: skip
    child = scenario_file("extends: parent.yaml\nname: child\nsales: {sdr: {count: 5}, queue: lifo}\n", "child.yaml")
    scenario = load_scenario(child)
    assert scenario.name == "child"
    assert scenario.sales.sdr.count == 5
    assert scenario.sales.sdr.attempts == [0.0, 24.0]  # kept from the parent
    assert scenario.sales.queue == "lifo"


def test_extends_can_name_a_bundled_scenario(scenario_file):
    child = scenario_file("extends: baseline\nname: three-sdrs\nsales: {sdr: {count: 3}}\n")
    scenario = load_scenario(child)
    assert scenario.sales.sdr.count == 3
    assert scenario.channels == load_scenario("baseline").channels


def test_set_overrides_any_field_by_dotted_path():
    overrides = ["sales.sdr.count=3", "sales.queue=lifo", "channels.paid_search.leads_per_week=0"]
    to_half_life = ["sales.decay.half_life=2h", "sales.decay.fast=null", "sales.decay.slow=null"]
    scenario = load_scenario("baseline", [*overrides, *to_half_life])
    assert scenario.sales.sdr.count == 3
    assert scenario.sales.queue == "lifo"
    assert scenario.channels["paid_search"].leads_per_week == 0
    assert scenario.sales.decay.half_life == 2.0


def test_set_into_an_unknown_field_names_it():
    with pytest.raises(ScenarioError, match=r"--set sales\.sdr\.cuont.*sales\.sdr\.cuont: unknown field 'cuont'"):
        load_scenario("baseline", ["sales.sdr.cuont=3"])


def test_circular_extends_is_refused(scenario_file):
    scenario_file("extends: b.yaml\nname: a\n", "a.yaml")
    b = scenario_file("extends: a.yaml\nname: b\n", "b.yaml")
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(b)


@pytest.mark.parametrize(
    ("override", "path", "expected"),
    [
        ({"sales": {"sdr": {"colour": "red"}}}, "sales.sdr.colour", "unknown field 'colour'; expected one of: count"),
        ({"sales": {"sdr": {"count": "two"}}}, "sales.sdr.count", "got 'two'"),
        ({"channels": {"web": {"leads_per_week": -5}}}, "channels.web.leads_per_week", "greater than or equal to 0"),
        ({"sales": {"qualify": 1.5}}, "sales.qualify", "less than or equal to 1"),
        ({"nurture": {"opt_out": -0.1}}, "nurture.opt_out", "greater than or equal to 0"),
        ({"sales": {"sla": 5}}, "sales.sla", "duration with a unit"),
        ({"sales": {"patience": {"exponential": {"mean": "3 parsecs"}}}}, "sales.patience", "duration with a unit"),
        ({"sales": {"queue": "random"}}, "sales.queue", "expected one of fifo, lifo, score, sla"),
        (
            {"channels": {"web": {"leads_per_week": 1, "profile": "nope"}}},
            "channels.web.profile",
            "unknown profile 'nope'",
        ),
        ({"warmup": "60d"}, "warmup", "warm-up shorter than the horizon"),
    ],
)
def test_bad_values_name_the_field_and_what_was_expected(override, path, expected):
    with pytest.raises(ScenarioError) as caught:
        make_scenario(**override)
    message = str(caught.value)
    assert f"{path}:" in message
    assert expected in message


def test_error_names_file_and_line(scenario_file):
    path = scenario_file("name: x\nstart: 2026-01-05\nhorizon: 10d\nchannels:\n  web: {leads_per_week: 1}\n"
                         "sales:\n  sdr:\n    count: 0\n")  # fmt: skip
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    expected = "sales.sdr.count: expected a whole number of people (at least 1) or 'unlimited', got 0"
    assert str(caught.value).startswith(f"{path}:8: {expected}")


def test_missing_required_field_is_named():
    data = {k: v for k, v in MINIMAL.items() if k != "horizon"}
    with pytest.raises(ScenarioError, match="horizon: required field is missing"):
        load_scenario(data)


def test_switching_decay_form_explains_how():
    with pytest.raises(ScenarioError, match=r"not both .*sales\.decay\.table=null"):
        make_scenario(sales={"decay": {"half_life": "2h", "table": [["0h", 1.0], ["1h", 0.5]]}})


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"nurture": {"touches": ["2d", "1d"]}}, "nurture.touches: expected offsets in increasing order"),
        ({"sales": {"sdr": {"attempts": ["1d", "1h"]}}}, "sales.sdr.attempts: expected offsets in increasing order"),
        ({"sales": {"sdr": {"attempts": []}}}, "sales.sdr.attempts: expected at least 1 item(s), got 0"),
    ],
)
def test_cadences_must_be_in_order_and_not_empty(override, expected):
    with pytest.raises(ScenarioError) as caught:
        make_scenario(**override)
    assert str(caught.value) == f"<scenario>: {expected}"


def test_decay_table_must_increase():
    with pytest.raises(ScenarioError, match=r"sales\.decay: .*increasing"):
        make_scenario(sales={"decay": {"table": [["1h", 0.5], ["30min", 0.9]]}})


def test_expected_leads_counts_bursts():
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 70, "bursts": [{"at": "2026-01-07", "extra_leads": 30}]}}
    )
    assert scenario.expected_leads() == pytest.approx(70 * 4 + 30)
    assert math.isfinite(scenario.horizon)
