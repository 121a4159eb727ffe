"""funnelsim calibrate: parameter recovery from funnelsim's own CRM exports, and bad input.

Recovery: simulate a known scenario, export it, calibrate from the export; the fitted arrival
rates, stage conversions and cycle median must hold the true values inside their 95% intervals.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from typer.testing import CliRunner

from funnelsim import load_scenario, simulate
from funnelsim.calibrate.api import calibrate_files
from funnelsim.cli import app
from funnelsim.report.crm import crm_frame, write_crm
from tests.conftest import MINIMAL, deep_merge

# No first-touch times: one 24/7 SDR, no decay; conversion per channel through a constant fit.
WITHOUT_TOUCH = deep_merge(
    MINIMAL,
    {
        "name": "no-touch",
        "horizon": "182d",
        "channels": {
            "web": {"leads_per_week": 300, "profile": "office_peak", "fit": 0.9},
            "ads": {
                "leads_per_week": 200,
                "fit": 0.5,
                "bursts": [{"at": "2026-03-02", "extra_leads": 400, "over": "2d"}],
            },
            "events": {"leads_per_week": 80, "fit": 0.3},
        },
        "sales": {
            "qualify": {"chance": 0.6, "fit_weight": 1.0},
            "ae": {"count": "unlimited", "cycle": {"lognormal": {"median": "10d", "p90": "30d"}}, "win": 0.4},
        },
    },
)
# First-touch times: three SDRs on Berlin office hours, fit drawn per lead, chances with fit effect.
WITH_TOUCH = deep_merge(
    MINIMAL,
    {
        "name": "with-touch",
        "horizon": "182d",
        "calendars": {"office": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}},
        "channels": {
            "web": {"leads_per_week": 180, "profile": "office_peak", "fit": {"beta": [4, 2]}},
            "ads": {"leads_per_week": 120, "fit": {"beta": [2, 4]}},
        },
        "sales": {
            "sdr": {"count": 3, "calendar": "office", "handle_time": "15min", "attempts": ["0h"], "reach": 1.0},
            "qualify": {"chance": 0.7, "fit_weight": 0.5},
            "ae": {
                "count": "unlimited",
                "cycle": {"gamma": {"mean": "20d", "shape": 2}},
                "win": {"chance": 0.5, "fit_weight": 0.8},
            },
        },
    },
)
for spec in (WITHOUT_TOUCH, WITH_TOUCH):
    spec["channels"] = {k: v for k, v in spec["channels"].items() if k != "web" or "fit" in v}
WITHOUT_TOUCH["channels"] = {k: WITHOUT_TOUCH["channels"][k] for k in ("web", "ads", "events")}
WITH_TOUCH["channels"] = {k: WITH_TOUCH["channels"][k] for k in ("web", "ads")}
UNTIL = "2026-07-06"  # start + 182 days: the export is taken at the horizon


def _export(spec: dict, tmp_path: Path, seed: int) -> Path:
    scenario = load_scenario(spec)
    path = tmp_path / f"{spec['name']}.csv"
    write_crm(crm_frame(simulate(scenario, seed), scenario), path)
    return path


def _inside(figure, truth: float) -> bool:
    return figure.ci_low <= truth <= figure.ci_high


def _beta_moments(a: float, b: float) -> tuple[float, float]:
    return a / (a + b), a * (a + 1) / ((a + b) * (a + b + 1))


def test_recovers_rates_conversion_and_cycle_without_first_touch(tmp_path):
    path = _export(WITHOUT_TOUCH, tmp_path, seed=5)
    run = calibrate_files(
        path, ["first_touch_at=", "rep_id=", "fit="], until=UNTIL, timezone="Europe/Berlin", name="recovered"
    )
    cal = run.calibration
    for channel, spec in WITHOUT_TOUCH["channels"].items():
        rate = cal.figure("leads_per_week", channel)
        assert _inside(rate, spec["leads_per_week"]), (channel, rate)
        qualify = cal.figure("mql_to_sql", channel)
        assert _inside(qualify, 0.6 * spec["fit"]), (channel, qualify)
        assert qualify.fitted == pytest.approx(qualify.observed)  # the scenario carries it exactly
    assert _inside(cal.figure("sql_to_won"), 0.4)
    cycle = cal.figure("cycle_median_hours")
    assert _inside(cycle, 240.0), cycle
    assert cal.cycle_fits[0].family == "lognormal" == min(cal.cycle_fits, key=lambda f: f.aic).family
    # the campaign week is found and its extra leads taken out of the base rate
    bursts = run.scenario.channels["ads"].bursts
    assert len(bursts) == 1 and abs(bursts[0].extra_leads - 400) < 4 * math.sqrt(400 + 200)
    assert str(bursts[0].at.date()) == "2026-03-02"
    assert run.scenario.sales.sdr.count == "unlimited" and run.scenario.sales.decay.table is None
    # the calibrated scenario runs and lands on the exported counts
    rerun = simulate(run.scenario, 1)
    won_true = int(pd.read_csv(path)["won_at"].notna().sum())
    won_again = int((rerun.leads["reason"] == 5).sum())
    assert abs(won_again - won_true) < 4 * math.sqrt(won_true)


def test_recovers_rates_conversion_cycle_and_desk_with_first_touch(tmp_path):
    path = _export(WITH_TOUCH, tmp_path, seed=9)
    run = calibrate_files(path, [], until=UNTIL, timezone="Europe/Berlin", name="recovered")
    cal = run.calibration
    q, wq, w, ww = 0.7, 0.5, 0.5, 0.8
    for channel, spec in WITH_TOUCH["channels"].items():
        assert _inside(cal.figure("leads_per_week", channel), spec["leads_per_week"])
        m1, _ = _beta_moments(*spec["fit"]["beta"])
        qualify_true = q * ((1 - wq) + wq * m1)
        assert _inside(cal.figure("mql_to_sql", channel), qualify_true)
    # SQL -> won over all SQLs: E[qualify(f) win(f)] / E[qualify(f)] over the lead mix
    shares = {c: spec["leads_per_week"] for c, spec in WITH_TOUCH["channels"].items()}
    joint = qualified = 0.0
    for channel, spec in WITH_TOUCH["channels"].items():
        m1, m2 = _beta_moments(*spec["fit"]["beta"])
        weight = shares[channel] / sum(shares.values())
        qualified += weight * q * ((1 - wq) + wq * m1)
        joint += weight * q * w * ((1 - wq) * (1 - ww) + ((1 - wq) * ww + wq * (1 - ww)) * m1 + wq * ww * m2)
    assert _inside(cal.figure("sql_to_won"), joint / qualified), cal.figure("sql_to_won")
    truth = stats.gamma(2, scale=240).median()
    assert _inside(cal.figure("cycle_median_hours"), truth)
    sales = run.scenario.sales
    assert sales.sdr.count == 3
    desk = run.scenario.calendars[sales.sdr.calendar]
    assert desk.days == ["mon", "tue", "wed", "thu", "fri"] and desk.hours == [(9.0, 17.0)]
    assert sales.qualify.fit_weight == pytest.approx(wq, abs=0.2)
    # no decay in the truth: every fitted decay factor's interval holds 1
    factors = [f for f in cal.figures if f.name.startswith("decay_factor")]
    assert len(factors) >= 2 and all(f.ci_low <= 1.0 <= f.ci_high + 1e-9 for f in factors)


def test_calibrate_cli_writes_a_runnable_scenario_and_a_report(tmp_path):
    path = _export(WITHOUT_TOUCH, tmp_path, seed=2)
    out, report = tmp_path / "fitted.yaml", tmp_path / "calibration"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "calibrate",
            str(path),
            "--out",
            str(out),
            "--report",
            str(report),
            "--timezone",
            "Europe/Berlin",
            "--until",
            UNTIL,
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "Poisson rate" in text and "Kaplan–Meier" in text and "by likelihood" in text
    assert yaml.safe_load(text)["channels"]["web"]["leads_per_week"] > 0
    figures = pd.read_csv(report / "calibration.csv")
    assert {"leads_per_week", "mql_to_sql", "sql_to_won", "cycle_median_hours"} <= set(figures["name"])
    assert {p.name for p in (report / "charts").iterdir()} >= {"arrivals.png", "conversion.png", "cycle.png"}
    ran = runner.invoke(
        app,
        ["run", str(out), "-n", "2", "-q", "--no-charts", "--executor", "serial", "--out", str(tmp_path / "results")],
    )
    assert ran.exit_code == 0, ran.output


# --- bad input: exit 2, row and column named, nothing written -------------------------------


def _leads(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


GOOD = [
    {
        "id": f"L{i}",
        "created": f"2026-01-{1 + i % 28:02d}",
        "source": "web" if i % 3 else "ads",
        "won": "",
    }
    for i in range(200)
]
for _i, _row in enumerate(GOOD):  # a quarter win, 1 to 20 days after creation
    if _i % 4 == 0:
        created = pd.Timestamp(_row["created"]) + pd.Timedelta(days=1 + (7 * _i) % 20, hours=10)
        _row["won"] = f"{created:%Y-%m-%d %H:%M:%S}"
MAP = ["lead_id=id", "created_at=created", "channel=source", "won_at=won"]


def _invoke(tmp_path: Path, frame: pd.DataFrame, *extra: str, mapping=MAP):
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out.yaml"
    args = ["calibrate", str(path), "--out", str(out), "--report", str(tmp_path / "rep")]
    for item in mapping:
        args += ["--map", item]
    result = CliRunner().invoke(app, [*args, *extra])
    return result, out


def _assert_refused(result, out: Path, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    for needle in needles:
        assert needle in message, message
    assert "Traceback" not in result.output
    assert not out.exists() and not (out.parent / "rep").exists()


def test_good_table_calibrates(tmp_path):
    result, out = _invoke(tmp_path, _leads(GOOD))
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_missing_mapped_column_is_named(tmp_path):
    result, out = _invoke(tmp_path, _leads(GOOD), mapping=[*MAP[:3], "won_at=closed"])
    _assert_refused(result, out, "--map won_at=closed", "no column 'closed'")


def test_unparsable_timestamp_names_row_and_column(tmp_path):
    rows = [dict(r) for r in GOOD]
    rows[41]["created"] = "next tuesday"
    result, out = _invoke(tmp_path, _leads(rows))
    _assert_refused(result, out, "row 42 (line 43)", "column created", "'next tuesday'")


def test_won_before_created_names_row_and_column(tmp_path):
    rows = [dict(r) for r in GOOD]
    rows[8]["won"] = "2025-12-01 10:00:00"
    result, out = _invoke(tmp_path, _leads(rows))
    _assert_refused(result, out, "row 9 (line 10)", "column won", "before", "--drop-invalid")
    dropped, out = _invoke(tmp_path, _leads(rows), "--drop-invalid")
    assert dropped.exit_code == 0 and "left out" in " ".join(dropped.output.split())


def test_duplicate_lead_ids_are_refused(tmp_path):
    rows = [dict(r) for r in GOOD]
    rows[120]["id"] = rows[7]["id"]
    result, out = _invoke(tmp_path, _leads(rows))
    _assert_refused(result, out, "row 121 (line 122)", "duplicate lead id 'L7'", "first at row 8")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("")
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(app, ["calibrate", str(path), "--out", str(out)])
    _assert_refused(result, out, "the file is empty")
    path.write_text("id,created,source\n")
    mapped = [arg for m in MAP[:3] for arg in ("--map", m)]
    result = CliRunner().invoke(app, ["calibrate", str(path), "--out", str(out), *mapped])
    _assert_refused(result, out, "no rows")


def test_channel_with_too_few_leads_falls_back_to_the_pooled_rate(tmp_path):
    rows = [dict(r) for r in GOOD] + [
        {"id": f"X{i}", "created": "2026-01-10", "source": "tiny", "won": ""} for i in range(5)
    ]
    result, out = _invoke(tmp_path, _leads(rows))
    assert result.exit_code == 0, result.output
    message = " ".join(result.output.split())
    assert "channel 'tiny': only 5 lead(s)" in message and "pooled" in message
    assert "pooled" in out.read_text()
    fitted = yaml.safe_load(out.read_text())["channels"]
    pooled = sum(1 for r in GOOD if r["won"]) / len(GOOD)
    assert fitted["tiny"]["fit"] * yaml.safe_load(out.read_text())["sales"]["ae"]["win"]["chance"] == pytest.approx(
        pooled, abs=0.02
    )


# --- censoring: an open lead is not a loss ---------------------------------------------------


def test_cutting_the_data_early_censors_open_deals_instead_of_counting_them_lost(tmp_path):
    path = _export(WITHOUT_TOUCH, tmp_path, seed=5)
    run = calibrate_files(path, ["first_touch_at=", "rep_id=", "fit="], until="2026-03-16", timezone="Europe/Berlin")
    win = run.calibration.figure("sql_to_won")
    frame = pd.read_csv(path)
    cutoff = pd.Timestamp("2026-03-16", tz="Europe/Berlin")
    sql = pd.to_datetime(frame["sql_at"], format="ISO8601", utc=True)
    won = pd.to_datetime(frame["won_at"], format="ISO8601", utc=True)
    naive = ((won < cutoff) & (sql < cutoff)).sum() / (sql < cutoff).sum()  # open deals counted as not won
    assert _inside(win, 0.4), win
    assert naive < win.ci_low  # ten weeks in, most deals are still open: the naive share is far too low
    assert _inside(run.calibration.figure("cycle_median_hours"), 240.0)


def test_kaplan_meier_with_competing_outcomes_matches_hand_counts():
    from funnelsim.calibrate.survival import cumulative_incidence

    # no censoring: the plain share, with the binomial variance
    result = cumulative_incidence(np.arange(10.0), np.array([1, 2, 1, 2, 2, 1, 2, 2, 2, 2]))
    assert result.final == pytest.approx(0.3)
    assert result.variance == pytest.approx(0.3 * 0.7 / 10, rel=0.15)
    # one event kind with censoring, 1 - Kaplan-Meier by hand: events at t=1 (4 at risk) and
    # t=3 (2 at risk, one censored at t=2), so S = (1 - 1/4) x (1 - 1/2)
    km = cumulative_incidence(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 0, 1, 0]))
    assert km.final == pytest.approx(1 - (3 / 4) * (1 / 2))
    assert (km.reached, km.censored, km.competing) == (2, 2, 0)


def test_a_mapping_file_and_dates_without_a_time_of_day(tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("lead_id: id\ncreated_at: created\nchannel: source\nwon_at: won\n")
    result, out = _invoke(tmp_path, _leads(GOOD), mapping=[str(mapping)])
    assert result.exit_code == 0, result.output
    fitted = yaml.safe_load(out.read_text())
    assert fitted["profiles"]["fitted_all"]["hours"] == [1.0] * 24  # day resolution: no hour profile
    assert "dates have no time of day" in out.read_text()
