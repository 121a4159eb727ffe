"""Input a hostile or careless user might write: each is refused with exit 2 and a message naming
the field (and line), never a traceback, never a hang; output never reads user text as markup."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from funnelsim.cli import app
from funnelsim.experiment.runner import TooMuchWork, check_size, estimate_work
from funnelsim.scenario.loader import load_scenario
from tests.conftest import make_scenario

cli = CliRunner()
BASE = """\
name: tiny
start: 2026-01-05
horizon: 30d
channels:
  web: {leads_per_week: 50}
sales:
  sdr: {count: 1}
"""


def _bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + BASE


def with_sdr(extra: str) -> str:
    return BASE.replace("sdr: {count: 1}", "sdr: {count: 1, " + extra + "}")


# case -> (document, text the message must contain)
CASES: dict[str, tuple[str, str]] = {
    "alias bomb": (_bomb(), "expands to more than"),
    "alias containing itself": (BASE + "description: &x [*x]\n", "contains it"),
    "deep nesting": (BASE + "description: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    "impossible date": (BASE.replace("2026-01-05", "2026-02-30"), ":2: '2026-02-30' is not a valid timestamp"),
    "hour 25": (
        BASE + "profiles: {}\n" + "calendars: {c: {holidays: [2026-01-06 25:00:00]}}\n",
        "is not a valid timestamp",
    ),
    "bad !!int": (BASE.replace("count: 1", "count: !!int abc"), ":7: 'abc' is not a valid int"),
    "bad !!float": (BASE.replace("count: 1", "count: !!float xyz"), "is not a valid float"),
    "python tag": (BASE.replace("count: 1", "count: !!python/object:os.system x"), ":7: malformed YAML"),
    "1e300 is a number": (BASE.replace("leads_per_week: 50", "leads_per_week: 1e300"), "leads_per_week: expected"),
    "5000 digits": (BASE.replace("count: 1", "count: " + "9" * 5000), "thousands of digits"),
    "4000 digits": (BASE.replace("count: 1", "count: " + "9" * 4000), "sales.sdr.count: expected at most"),
    "time zone folder": (BASE + "timezone: Europe\n", "timezone: expected an IANA time zone"),
    "time zone 300 chars": (BASE + "timezone: " + "A" * 300 + "\n", "timezone: expected an IANA time zone"),
    "time zone path": (BASE + "timezone: ../../../etc/passwd\n", "timezone: expected an IANA time zone"),
    "tiny gamma cv": (with_sdr("handle_time: {gamma: {mean: 5min, cv: 1e-200}}"), "sales.sdr.handle_time"),
    "huge gamma shape": (with_sdr("handle_time: {gamma: {mean: 5min, shape: 1e300}}"), "sales.sdr.handle_time"),
    "huge sigma": (with_sdr("handle_time: {lognormal: {median: 5min, sigma: 1e200}}"), "sales.sdr.handle_time"),
    "huge p90": (with_sdr("handle_time: {lognormal: {median: 1s, p90: 1000000000d}}"), "sales.sdr.handle_time"),
    "a billion SDRs": (BASE.replace("count: 1", "count: 1000000000"), "sales.sdr.count: expected at most"),
    "infinite horizon": (BASE.replace("horizon: 30d", "horizon: 1e400d"), "horizon: expected a duration of at most"),
    "million-year horizon": (BASE.replace("horizon: 30d", "horizon: 1000000y"), "horizon: expected a duration"),
    "start in year 9999": (BASE.replace("2026-01-05", "9999-12-30"), "start: expected a date from 1900"),
    "start in year 1": (BASE.replace("2026-01-05", "0001-01-01"), "start: expected a date from 1900"),
    "burst in year 9999": (
        BASE.replace("leads_per_week: 50", "leads_per_week: 50, bursts: [{at: 9999-12-31, extra_leads: 5}]"),
        "bursts[0].at: expected a date",
    ),
    "calendar with no days": (
        BASE.replace("count: 1", "count: 1, calendar: c") + "calendars: {c: {days: []}}\n",
        "calendars.c.days",
    ),
    "calendar with no hours": (BASE + "calendars: {c: {hours: []}}\n", "calendars.c.hours"),
    "zero patience": (BASE.replace("sdr: {count: 1}", "sdr: {count: 1}\n  patience: 0"), "sales.patience"),
    "engagement counter wrap": (
        BASE + "nurture: {touches: [" + ", ".join(["1d"] * 40000) + "], mql: {engagement_min: 40000}}\n",
        "nurture.touches: expected at most 1000",
    ),
    "unreachable MQL threshold": (
        BASE + "nurture: {touches: [0d, 1d], mql: {engagement_min: 3}}\n",
        "nurture.mql.engagement_min: expected at most the number of nurture touches (2)",
    ),
    "huge profile weights": (
        BASE.replace("leads_per_week: 50", "leads_per_week: 50, profile: p")
        + "profiles: {p: {hours: ["
        + ", ".join(["1e308"] * 24)
        + "]}}\n",
        "profiles.p.hours[0]",
    ),
    "overflowing expansion": (BASE + "retention: {expansion_per_year: 1e300}\n", "retention.expansion_per_year"),
    "overflowing costs": (BASE + "costs: {sdr_per_month: 1e300}\n", "costs.sdr_per_month"),
    "nan": (BASE.replace("leads_per_week: 50", "leads_per_week: .nan"), "channels.web.leads_per_week"),
    "wrong type for a section": (BASE + "retention: [1, 2]\n", "retention: expected a mapping of fields"),
    "list at the top": ("- 1\n- 2\n", "expected a mapping of scenario fields at the top level, got a list"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_refused_with_a_message_naming_it(tmp_path, case):
    text, expected = CASES[case]
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    result = cli.invoke(app, ["validate", str(path)], catch_exceptions=False)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 2, result.output
    assert expected in result.output, result.output
    for internal in ("Traceback", "Distribution", "Calendar", "Scenario(", "Retention", "Strict"):
        assert internal not in result.output


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("tiny", "caf\xe9").encode("latin-1"))
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and ":1: the file is not UTF-8 text (byte 0xe9)" in result.output


def test_a_300_character_file_name_is_refused_cleanly(tmp_path):
    result = cli.invoke(app, ["validate", str(tmp_path / ("x" * 300 + ".yaml"))])
    assert result.exit_code == 2 and "no such file" in result.output


def test_cross_field_errors_are_listed_together_each_at_its_line(tmp_path):
    text = BASE.replace("leads_per_week: 50", "leads_per_week: 50, profile: nope").replace(
        "count: 1", "count: 1, calendar: nocal"
    )
    path = tmp_path / "s.yaml"
    path.write_text(text + "warmup: 40d\n")
    message = cli.invoke(app, ["validate", str(path)]).output
    assert f"{path}:5: channels.web.profile: unknown profile 'nope'" in message
    assert f"{path}:7: sales.sdr.calendar: unknown calendar 'nocal'" in message
    assert f"{path}:8: warmup: expected a warm-up shorter than the horizon" in message


def test_a_child_file_can_switch_a_distribution_family(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: baseline\nname: child\nsales:\n  sdr:\n    handle_time: {gamma: {mean: 10min, cv: 0.5}}\n"
    )
    scenario = load_scenario(child)
    assert scenario.sales.sdr.handle_time.family == "gamma"
    assert scenario.sales.sdr.handle_time.param("shape") == pytest.approx(4.0)


def test_user_text_is_never_read_as_markup_and_line_100_stays_a_number(tmp_path):
    text = BASE.replace("name: tiny", "name: 'x[bold]y'").replace("web:", "'w[i]':")
    path = tmp_path / "s.yaml"
    path.write_text(text + "description: '[red]z :100:'\n" + "\n" * 91 + "horizon2: 1d\n")
    result = cli.invoke(app, ["validate", str(path)])
    assert f"{path}:100: horizon2: unknown field" in result.output and "💯" not in result.output
    path.write_text(text + "description: '[red]z :100:'\n")
    assert "x[bold]y" in cli.invoke(app, ["validate", str(path)]).output
    shown = cli.invoke(app, ["show", str(path)]).output
    assert "[red]z :100:" in shown
    ran = cli.invoke(app, ["run", str(path), "-n", "2", "-w", "1", "-q", "--no-charts", "--out", str(tmp_path / "o")])
    assert ran.exit_code == 0, ran.output
    assert "x[bold]y —" in ran.output and "│ w[i] " in ran.output


def test_the_size_guard_counts_horizon_memory_and_only_bursts_inside_the_horizon():
    inside = {"leads_per_week": 0, "bursts": [{"at": "2026-01-10", "extra_leads": 1000}]}
    outside = {"leads_per_week": 0, "bursts": [{"at": "2027-06-01", "extra_leads": 1000}]}
    assert make_scenario(channels={"web": inside}).expected_leads() == pytest.approx(1000)
    assert make_scenario(channels={"web": outside}).expected_leads() == 0
    long = make_scenario(horizon="100y", channels={"web": {"leads_per_week": 0}})
    work = estimate_work(long, 1)
    assert work.horizon_hours == 876600 and work.memory_mb_per_replication > 50
    with pytest.raises(TooMuchWork, match="MB per replication"):
        check_size(make_scenario(channels={"web": {"leads_per_week": 2_000_000}}, horizon="100y"), 1)
    with pytest.raises(TooMuchWork, match="leads in all"):
        check_size(make_scenario(channels={"web": {"leads_per_week": 1_000_000}}), 20)
    assert check_size(make_scenario(channels={"web": {"leads_per_week": 1_000_000}}), 20, allow_large=True) > 5e7


def test_the_size_guard_prints_its_estimate_on_the_command_line(tmp_path):
    result = cli.invoke(app, ["run", "--set", "channels.social.leads_per_week=10000000", "-q"])
    assert result.exit_code == 2
    assert (
        "leads in all" in result.output and "MB per replication" in result.output and "--allow-large" in result.output
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--seed", "-1"], "--seed"),
        (["--executor", "bogus", "-n", "1"], "--executor"),
        (["--workers", "0"], "--workers"),
        (["--reps", "0"], "--reps"),
        (["--dask-address", "tcp://127.0.0.1:1"], "--dask-address goes with --executor dask"),
    ],
)
def test_options_are_checked_before_anything_runs(tmp_path, args, expected):
    result = cli.invoke(app, ["run", *args, "-q", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert expected in result.output
    assert not (tmp_path / "o").exists()


def test_an_unreachable_dask_scheduler_fails_within_5_seconds(tmp_path):
    command = [sys.executable, "-m", "funnelsim.cli", "run", "-n", "2", "-q", "--executor", "dask"]
    command += ["--dask-address", "tcp://127.0.0.1:1", "--out", str(tmp_path / "o")]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    took = time.perf_counter() - started
    assert result.returncode == 2, result.stderr
    assert "cannot reach a Dask scheduler" in result.stderr and "Traceback" not in result.stderr
    assert took < 5, f"took {took:.1f} s"
    assert not (tmp_path / "o").exists()
