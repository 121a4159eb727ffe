"""The lead-response curve: smooth and monotone, its schema, its fit, and the baseline's bucket ratios."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from funnelsim import load_scenario, simulate
from funnelsim.cli import app
from funnelsim.experiment import decay_fit
from funnelsim.experiment.verify import hourly_sweep_ratios
from funnelsim.model.decay import interest_curve, interest_curve_of, two_speed_curve
from funnelsim.scenario.loader import ScenarioError

from .conftest import make_scenario

MINUTES_72H = np.arange(0, 72 * 60 + 1) / 60.0


def one_minute_drops(curve) -> np.ndarray:
    factors = np.array([curve(d) for d in MINUTES_72H])
    return factors[:-1] - factors[1:]


def has_no_cliff(curve) -> bool:
    """Falling everywhere, and each minute's drop no larger than the one before (up to rounding)."""
    drops = one_minute_drops(curve)
    return bool(np.all(drops > 0) and np.all(np.diff(drops) <= 1e-12))


# --- the curve ---------------------------------------------------------------------------------


def test_bundled_curve_is_one_at_zero_falling_and_without_cliffs():
    curve = interest_curve(load_scenario("baseline").sales.decay)
    assert curve(0.0) == 1.0
    drops = one_minute_drops(curve)
    assert has_no_cliff(curve)
    assert drops.max() < 0.16  # the steepest minute is the first, as the 5-minute studies say
    assert drops[30:].max() < 0.01  # after half an hour no minute loses more than a point
    assert drops[60:].max() < 0.002  # and after the hour no cliff like the old table's 0.11 a minute at 55 min
    assert curve(72.0) > 0  # never quite zero


def test_the_old_cliff_table_fails_the_no_cliff_check():
    old = interest_curve_of(None, [(0.0, 1.0), (55 / 60, 0.93), (1.0, 0.37), (23.0, 0.37), (24.0, 0.11)])
    assert not has_no_cliff(old)
    assert one_minute_drops(old)[55] == pytest.approx(0.56 / 5)


def test_two_speed_curve_is_the_mixture_of_its_half_lives():
    curve = two_speed_curve(0.8, 0.25, 24.0)
    assert curve(0.25) == pytest.approx(0.8 * 0.5 + 0.2 * 2 ** (-0.25 / 24))
    assert curve(24.0) == pytest.approx(0.8 * 2**-96 + 0.2 * 0.5)


def test_hourly_sweep_closed_form_matches_a_direct_average():
    scenario = load_scenario("validation/lead-response-5-30min")
    contact, sql = hourly_sweep_ratios(scenario)
    curve = interest_curve(scenario.sales.decay)
    # 6 minutes of arrivals in [0, 5 min): one called at once, five with delays uniform on (0, 5]
    fast = [curve(0.0)] + [curve(m / 60) for m in np.linspace(0, 5, 50001)[1:]]
    slow = [curve(m / 60) for m in np.linspace(25, 30, 50001)[1:]]
    f_fast = (fast[0] + 5 * np.mean(fast[1:])) / 6
    assert contact == pytest.approx(f_fast / np.mean(slow), rel=1e-3)
    f2_fast = (fast[0] ** 2 + 5 * np.mean(np.square(fast[1:]))) / 6
    assert sql == pytest.approx(f2_fast / np.mean(np.square(slow)), rel=1e-3)


def test_fit_recovers_a_curve_and_scores_published_ratios_by_log_residual():
    rng = np.random.default_rng(3)
    minutes = rng.uniform(0, 60, 20000) / 60
    hbr = decay_fit.CallSample(decay_fit.HBR_CASE, np.concatenate([minutes, rng.uniform(1, 72, 20000)]),
                               np.full(40000, 0.5), 1.0)  # fmt: skip
    mit = decay_fit.CallSample(decay_fit.MIT_CASE, minutes, np.full(20000, 0.5), 1.0)
    fit = decay_fit.fit_two_speed([hbr, mit], decay_fit.BUNDLED_WEIGHTS)
    for ratio in decay_fit.PUBLISHED:
        if ratio.outcome == "sql":
            assert abs(fit.residuals[ratio.key]) < 0.01, ratio.key
    contact = fit.ratios["contact.within_5min/at_25_30min"]
    # one curve for reach and qualification: 21x qualification leaves the contact ratio near √21, far from 100
    assert 3 < contact < 7
    assert fit.residuals["contact.within_5min/at_25_30min"] == pytest.approx(math.log(contact / 100))


# --- the schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decay", "message"),
    [
        ({"fast": {"share": 1.2, "half_life": "5min"}, "slow": {"half_life": "1d"}},
         r"sales\.decay\.fast\.share: expected less than 1"),
        ({"fast": {"share": 0.8, "half_life": "0min"}, "slow": {"half_life": "1d"}},
         r"sales\.decay\.fast\.half_life: .*greater than 0"),
        ({"fast": {"share": 0.8, "half_life": "2d"}, "slow": {"half_life": "1d"}},
         r"sales\.decay: expected fast\.half_life shorter than slow\.half_life, got 48 h and 24 h"),
        ({"fast": {"share": 0.8, "half_life": "5min"}}, r"sales\.decay: a two-speed decay needs both parts"),
        ({"fast": {"share": 0.8, "half_life": "5min"}, "slow": {"half_life": "1d"}, "table": [["0h", 1.0]]},
         r"sales\.decay: give one form of decay, not both fast/slow and table .*--set sales\.decay\.table=null"),
        ({"fast": {"share": 0.8}, "slow": {"half_life": "1d"}},
         r"sales\.decay\.fast\.half_life: required field is missing"),
    ],
)  # fmt: skip
def test_bad_two_speed_decay_names_the_field(decay, message):
    with pytest.raises(ScenarioError, match=message):
        make_scenario(sales={"decay": decay})


def test_bad_decay_exits_2_from_the_cli(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "extends: baseline\nname: mine\nsales:\n  decay:\n    fast: {share: 0.9, half_life: 3d}\n"
        "    slow: {half_life: 1d}\n"
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "sales.decay: expected fast.half_life shorter" in result.output
    assert "Traceback" not in result.output


# --- the baseline: faster first calls qualify more, as the curve says ---------------------------


@pytest.fixture(scope="module")
def baseline_first_calls():
    """Per called SAL of the baseline over 12 seeds: first-call delay, curve chance of an SQL on that call, outcomes."""
    scenario = load_scenario("baseline")
    curve = np.vectorize(interest_curve(scenario.sales.decay))
    rows = []
    for seed in range(12):
        leads = simulate(scenario, seed).leads
        called = ~np.isnan(leads["sal_at"]) & ~leads["trial"] & ~np.isnan(leads["first_contact_at"])
        delay = (leads["first_contact_at"] - leads["sal_at"])[called]
        f = curve(delay)
        chance = scenario.sales.sdr.reach * scenario.sales.qualify.at(leads["fit"][called]) * f * f
        sql = ~np.isnan(leads["sql_at"][called])
        # an SQL on the first call: reached at the first attempt's start
        on_first = sql & (leads["reached_at"][called] == leads["first_contact_at"][called])
        rows.append((delay, chance, sql, on_first))
    return tuple(np.concatenate(column) for column in zip(*rows))


BUCKETS_5_30 = {"0-5 min": (0.0, 5 / 60), "5-30 min": (5 / 60, 0.5)}


def test_baseline_first_call_sqls_by_bucket_match_the_curve(baseline_first_calls):
    delay, chance, _, on_first = baseline_first_calls
    observed, expected, variance = {}, {}, {}
    for name, (low, high) in BUCKETS_5_30.items():
        inside = (delay >= low) & (delay < high)
        assert np.count_nonzero(inside) > 300
        observed[name] = on_first[inside].mean()
        expected[name] = chance[inside].mean()
        variance[name] = np.sum(chance[inside] * (1 - chance[inside])) / np.count_nonzero(inside) ** 2
    ratio = observed["0-5 min"] / observed["5-30 min"]
    implied = expected["0-5 min"] / expected["5-30 min"]
    # CI-derived tolerance: 3 standard errors of log(ratio), from the binomial variance of each bucket
    se = math.sqrt(sum(variance[b] / expected[b] ** 2 for b in BUCKETS_5_30))
    assert abs(math.log(ratio / implied)) < 3 * se
    assert se < 0.2  # the test has the power to see a curve that treats both buckets alike
    assert implied > 3


def test_baseline_sql_rate_is_clearly_higher_within_5_minutes_than_at_5_to_30(baseline_first_calls):
    delay, _, sql, _ = baseline_first_calls
    rates, counts = {}, {}
    for name, (low, high) in BUCKETS_5_30.items():
        inside = (delay >= low) & (delay < high)
        rates[name], counts[name] = sql[inside].mean(), np.count_nonzero(inside)
    se = math.sqrt(sum((1 - rates[b]) / (rates[b] * counts[b]) for b in BUCKETS_5_30))
    ratio = rates["0-5 min"] / rates["5-30 min"]
    assert math.log(ratio) - 3 * se > math.log(1.5)  # the issue saw 1.04x with the cliff table
