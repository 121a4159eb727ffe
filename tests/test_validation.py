"""The validation suite: closed forms, the quick `funnelsim verify`, and broken models it catches."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from funnelsim import theory
from funnelsim.cli import app
from funnelsim.model.calendar import WorkCalendar
from funnelsim.report.verification import render_markdown
from funnelsim.validation import CASES, QUICK_TOLERANCE_FACTOR, Check, case_scenario, judge, select_cases, verify

# --- closed forms -----------------------------------------------------------------------------


def test_erlang_c_matches_the_mm1_and_mm2_textbook_values():
    # M/M/1: P(wait) = ρ, E[Wq] = ρ / (μ - λ); M/M/2 at a = 1: C = 1/3, E[Wq] = C / (2μ - λ)
    assert theory.erlang_c_wait_probability(1, 0.5, 1.0) == pytest.approx(0.5)
    assert theory.erlang_c_mean_wait(1, 0.5, 1.0) == pytest.approx(1.0)
    assert theory.erlang_c_wait_probability(2, 1.0, 1.0) == pytest.approx(1 / 3)
    assert theory.erlang_c_mean_wait(2, 1.0, 1.0) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="unstable"):
        theory.erlang_c_wait_probability(2, 2.0, 1.0)


def test_erlang_a_reduces_to_erlang_c_and_to_an_infinite_server_queue():
    # vanishing patience rate: the Erlang C figures
    almost_c = theory.erlang_a(3, 2.4, 1.0, 1e-9)
    assert almost_c.wait_probability == pytest.approx(theory.erlang_c_wait_probability(3, 2.4, 1.0), rel=1e-6)
    assert almost_c.mean_wait == pytest.approx(theory.erlang_c_mean_wait(3, 2.4, 1.0), rel=1e-6)
    # θ = μ: deaths at nμ in every state, N ~ Poisson(λ/μ), so E[(N - 1)+] = e^-1 at λ = μ = 1
    mm_inf = theory.erlang_a(1, 1.0, 1.0, 1.0)
    assert mm_inf.mean_queue == pytest.approx(math.exp(-1))
    assert mm_inf.wait_probability == pytest.approx(1 - math.exp(-1))
    assert mm_inf.abandon_probability == pytest.approx(1.0 * mm_inf.mean_wait)


def test_calendar_closed_form_of_weekday_office_hours():
    week = theory.office_week(range(5), [(9.0, 17.0)])
    assert theory.weekly_closed_gaps(week) == [16.0, 16.0, 16.0, 16.0, 64.0]
    assert theory.calendar_delay_share_within(week, 1.0) == pytest.approx(45 / 168)
    assert theory.calendar_delay_share_within(week, 24.0) == pytest.approx(128 / 168)
    assert theory.calendar_mean_delay(week) == pytest.approx((4 * 16**2 + 64**2) / 2 / 168)


def test_nurture_and_survival_closed_forms():
    assert theory.nurture_mql_probability(3, 0.5, 0.0, 2) == pytest.approx(0.5)  # P(Binomial(3, 1/2) >= 2)
    assert theory.nurture_mql_probability(1, 0.3, 0.1, 1) == pytest.approx(0.27)
    assert theory.geometric_survival(0.03, 12) == pytest.approx(0.97**12)


def test_references_are_read_from_the_scenario_files():
    by_name = {case.name: case for case in CASES}
    calendar = by_name["Calendar"]
    refs = {c.key: c.reference for c in calendar.checks(case_scenario(calendar))}
    assert refs["within_1h"] == pytest.approx(45 / 168)
    product = by_name["Product of stages"]
    refs = {c.key: c.reference for c in product.checks(case_scenario(product))}
    assert refs["search.lead_to_customer"] == pytest.approx(0.44976268 * (0.02 + 0.72 * 0.875 * 0.57 * 0.38))
    erlang = by_name["Erlang C, c=10, load 0.95"]
    refs = {c.key: c.reference for c in erlang.checks(case_scenario(erlang))}
    assert refs["mean_wait_hours"] == pytest.approx(theory.erlang_c_mean_wait(10, 19.0, 2.0))


# --- the pass rule ------------------------------------------------------------------------------


def test_an_underpowered_check_fails_even_when_its_mean_is_right():
    check = Check("x", "a share", 0.5, "theory", 0.01, "%")
    verdict = judge(CASES[0], check, np.array([0.45, 0.55, 0.5]), 1.0)
    assert verdict.mean == pytest.approx(0.5)
    assert not verdict.passed
    assert "half-width" in verdict.note


def test_a_tight_interval_off_the_reference_fails_and_one_on_it_passes():
    check = Check("x", "a share", 0.5, "theory", 0.01, "%")
    off = judge(CASES[0], check, np.array([0.52, 0.521, 0.519, 0.52]), 1.0)
    on = judge(CASES[0], check, np.array([0.502, 0.503, 0.501, 0.502]), 1.0)
    assert (off.passed, on.passed) == (False, True)
    assert off.relative_error == pytest.approx(0.04)


def test_a_lower_bound_needs_the_whole_interval_above_it():
    check = Check("x", "ratio", 60.0, "study", 10.0, "x", at_least=True)
    assert judge(CASES[0], check, np.array([80.0, 82.0, 78.0]), 1.0).passed
    assert not judge(CASES[0], check, np.array([61.0, 59.0, 60.0]), 1.0).passed


def _needs_exponential_handle_time(scenario):
    raise ValueError("sales.sdr.handle_time must be exponential for this case")


def test_a_case_whose_file_lost_its_required_shape_fails_with_the_reason():
    broken = replace(select_cases(["erlang-c-c1"])[0], checks=_needs_exponential_handle_time)
    result = verify(quick=True, cases=[broken], workers=1)
    assert [(r.passed, r.note) for r in result.checks] == [
        (False, "validation/erlang-c-c1-load50: sales.sdr.handle_time must be exponential for this case")
    ]


# --- the suite ----------------------------------------------------------------------------------


def test_quick_suite_passes_every_case():
    result = verify(quick=True)
    assert len(result.checks) == 30
    failures = [(r.case, r.check.quantity, r.mean, r.check.reference, r.note) for r in result.failures]
    assert failures == []
    for r in result.checks:
        tolerance = r.check.absolute_tolerance(QUICK_TOLERANCE_FACTOR)
        assert r.half_width <= tolerance
        if r.check.at_least:
            assert r.ci_low >= r.check.reference
        else:
            assert abs(r.mean - r.check.reference) <= tolerance
    calendar = {r.check.key: r for r in result.checks if r.case == "Calendar"}
    assert calendar["within_1h"].mean == pytest.approx(45 / 168, abs=0.004)
    markdown = render_markdown(result)
    assert "| Calendar | share first called within 1 h | 26.79% |" in markdown
    assert "30 of 30 checks pass" in markdown


def _always_open(cls, spec, start, clock_timezone, horizon_hours):
    return WorkCalendar.always()


def test_reps_that_ignore_their_calendar_fail_the_calendar_case(monkeypatch):
    monkeypatch.setattr(WorkCalendar, "build", classmethod(_always_open))
    result = verify(quick=True, cases=select_cases(["calendar"]), workers=1)  # in-process: the patch applies
    by_key = {r.check.key: r for r in result.checks}
    assert not result.passed
    assert by_key["within_1h"].mean == pytest.approx(1.0)  # everyone answered at once, against 26.8%
    assert by_key["mean_delay_hours"].mean < 0.1
    assert {r.check.key for r in result.failures} == {"within_1h", "within_24h", "mean_delay_hours"}


def test_poor_fit_churning_at_the_base_hazard_fails_the_retention_case(monkeypatch):
    import funnelsim.model.retention as retention

    monkeypatch.setattr(retention, "monthly_hazard", lambda spec, fit: np.full(len(fit), spec.monthly_churn))
    result = verify(quick=True, cases=select_cases(["retention"]), workers=1)
    by_key = {r.check.key: r for r in result.checks}
    assert by_key["poor.hazard"].mean == pytest.approx(0.03, rel=0.05)
    assert not by_key["poor.hazard"].passed and not by_key["poor.survival_12"].passed
    assert by_key["good.hazard"].passed


def test_verify_command_prints_the_table_and_writes_markdown(tmp_path):
    target = tmp_path / "validation.md"
    done = CliRunner().invoke(app, ["verify", "--quick", "--case", "calendar", "--workers", "1", "--out", str(target)])
    assert done.exit_code == 0, done.output
    assert "3 of 3 checks pass" in done.output
    text = target.read_text()
    assert "| Calendar | share first called within 24 h | 76.19% |" in text


def test_verify_command_exits_1_when_a_check_fails(monkeypatch):
    monkeypatch.setattr(WorkCalendar, "build", classmethod(_always_open))
    done = CliRunner().invoke(app, ["verify", "--quick", "--case", "calendar", "--workers", "1"])
    assert done.exit_code == 1
    assert "FAIL" in done.output
