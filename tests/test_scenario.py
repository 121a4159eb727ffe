"""Scenario files: units, distributions, extends, overrides, and one clear message per mistake."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

from funnelsim.scenario.distributions import FAMILIES, Distribution, parse_distribution, register
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


SPECS = {
    "constant": ("12min", 0.2, "constant(value=0.2)"),
    "exponential": ({"exponential": {"mean": "30min"}}, 0.5, "exponential(mean=0.5)"),
    "lognormal": ({"lognormal": {"median": "1h", "sigma": 0.5}}, math.exp(0.125), "lognormal(median=1.0, sigma=0.5)"),
    "gamma": ({"gamma": {"mean": "2h", "shape": 4}}, 2.0, "gamma(mean=2.0, shape=4.0)"),
    "uniform": ({"uniform": {"low": "1h", "high": "3h"}}, 2.0, "uniform(low=1.0, high=3.0)"),
    "empirical": (
        {"empirical": {"values": ["1h", "4h"], "weights": [3, 1]}}, 1.75,
        "empirical(values=(1.0, 4.0), weights=(3.0, 1.0))",
    ),
}  # fmt: skip


@pytest.mark.parametrize("family", sorted(SPECS))
def test_each_duration_family_parses_to_its_class_with_its_mean_and_description(family):
    spec, mean, described = SPECS[family]
    dist = parse_distribution(spec, "duration")
    assert type(dist) is FAMILIES[family] and dist.family == family
    assert dist.mean() == pytest.approx(mean, rel=1e-12)
    assert dist.describe() == described
    assert parse_distribution(dist.to_spec(), "duration") == dist  # the spec it writes reads back the same


def test_every_family_is_covered_by_a_test():
    assert set(SPECS) | {"beta"} == set(FAMILIES)
    beta = parse_distribution({"beta": [2, 6]}, "fraction")
    assert beta.mean() == 0.25 and beta.describe() == "beta(a=2.0, b=6.0)"


def test_a_new_family_is_one_registered_class():
    @register
    @dataclass(frozen=True)
    class Triangular(Distribution):
        family: ClassVar[str] = "triangular"
        accepts: ClassVar[tuple[str, ...]] = ("low", "mode", "high")
        low: float
        mode: float
        high: float

        @classmethod
        def parse(cls, args: dict[str, Any], kind: Any) -> Distribution:
            return cls(*(parse_distribution(args[k], kind).mean() for k in cls.accepts), kind=kind)

        def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
            return rng.triangular(self.low, self.mode, self.high, size)

        def mean(self) -> float:
            return (self.low + self.mode + self.high) / 3

    try:
        handle_time = {"triangular": {"low": "5min", "mode": "10min", "high": "45min"}}
        handle = make_scenario(sales={"sdr": {"handle_time": handle_time}}).sales.sdr.handle_time
        assert handle.mean() == pytest.approx((5 + 10 + 45) / 60 / 3)
        assert handle.describe() == f"triangular(low={5 / 60}, mode={10 / 60}, high=0.75)"
        unknown = r"unknown parameter\(s\) \['peak'\] for triangular; expected low, mode, high"
        with pytest.raises(ScenarioError, match=unknown):
            make_scenario(sales={"sdr": {"handle_time": {"triangular": {"peak": "5min"}}}})
    finally:
        FAMILIES.pop("triangular")


def test_the_same_seed_draws_the_same_numbers_as_numpy_directly():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    lognormal = parse_distribution({"lognormal": {"median": "1h", "p90": "3h"}}, "duration")
    expected = np.exp(rng_b.normal(0.0, math.log(3) / 1.2815515655446004, 5))
    np.testing.assert_array_equal(lognormal.sample(rng_a, 5), expected)
    gamma = parse_distribution({"gamma": {"mean": "2h", "shape": 4}}, "duration")
    np.testing.assert_array_equal(gamma.sample(rng_a, 5), rng_b.gamma(4.0, 0.5, 5))


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


def test_expected_leads_counts_only_the_part_of_a_burst_inside_the_horizon():
    # 28 days from Monday 2026-01-05: the horizon is 2026-02-02 00:00; each burst is half inside
    bursts = [
        {"at": "2026-02-01T12:00", "extra_leads": 30, "over": "1d"},  # its second half runs past the horizon
        {"at": "2026-01-04T12:00", "extra_leads": 10, "over": "1d"},  # its first half is before the clock's zero
    ]
    scenario = make_scenario(channels={"web": {"leads_per_week": 0, "bursts": bursts}})
    assert scenario.expected_leads() == pytest.approx(15 + 5)
