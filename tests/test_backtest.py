"""funnelsim backtest: a calibrated scenario against the months that followed.

On funnelsim's own export the process does not change, so the actual counts of the later
period fall inside the simulated intervals; on the Olist records (skipped when absent) the
worked example of the README runs end to end.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from funnelsim import load_scenario, simulate
from funnelsim.calibrate.api import calibrate_files
from funnelsim.calibrate.backtest import backtest
from funnelsim.cli import app
from funnelsim.report.crm import crm_frame, write_crm
from tests.test_calibrate import WITHOUT_TOUCH

# beside the repository as in tests/test_calibration.py; FUNNELSIM_OLIST_DIR points elsewhere (e.g. from a worktree)
OLIST = Path(
    os.environ.get(
        "FUNNELSIM_OLIST_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "olist-marketing-funnel"
    )
)
OLIST_MAP = [
    "lead_id=mql_id",
    "created_at=first_contact_date",
    "channel=origin",
    "won_at=won_date",
    "rep_id=sdr_id",
    "ae_id=sr_id",
]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backtest")
    scenario = load_scenario(WITHOUT_TOUCH)
    export = folder / "crm.parquet"
    write_crm(crm_frame(simulate(scenario, 21), scenario), export)
    run = calibrate_files(export, ["first_touch_at=", "rep_id=", "fit="], until="2026-05-04", timezone="Europe/Berlin")
    fitted = folder / "fitted.yaml"
    fitted.write_text(run.text)
    return export, fitted


def test_backtest_of_an_unchanged_funnel_holds_the_actual_counts(calibrated):
    export, fitted = calibrated
    result = backtest(fitted, export, "2026-05-04", "2026-06-01", ["fit="], reps=60, seed=3, executor="serial")
    table = result.table.set_index(["quantity", "channel"])
    assert result.scenario.start.isoformat() == "2026-05-04"
    horizon_end = pd.Timestamp("2026-01-05", tz="Europe/Berlin") + pd.Timedelta(hours=182 * 24)  # the clock ignores DST
    assert result.observed_until <= horizon_end
    for channel in ("web", "ads", "events", "all"):
        row = table.loc[("leads", channel)]
        assert row["sim_low"] < row["sim_median"] < row["sim_high"]
        assert row["inside"], (channel, row.to_dict())
    assert table.loc[("won deals", "all"), "inside"]
    # the cohort is the period's leads only, followed to the end of the data
    frame = pd.read_parquet(export)
    created = frame["created_at"].dt.tz_convert("Europe/Berlin")
    in_period = (created >= pd.Timestamp("2026-05-04", tz="Europe/Berlin")) & (
        created < pd.Timestamp("2026-06-01", tz="Europe/Berlin")
    )
    assert table.loc[("leads", "all"), "actual"] == in_period.sum()
    assert table.loc[("won deals", "all"), "actual"] == (in_period & frame["won_at"].notna()).sum()


def test_backtest_cli_prints_the_table_writes_csv_and_chart_and_exits_zero(calibrated, tmp_path):
    export, fitted = calibrated
    out = tmp_path / "bt"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(fitted),
            "--actual",
            str(export),
            "--from",
            "2026-05-04",
            "--to",
            "2026-06-01",
            "--map",
            "fit=",
            "-n",
            "20",
            "--executor",
            "serial",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Simulated 95% interval" in result.output and "inside the simulated 95% interval" in result.output
    assert (out / "backtest.png").stat().st_size > 0
    assert set(pd.read_csv(out / "backtest.csv")["quantity"]) == {"leads", "won deals", "median days to win"}


def test_backtest_refuses_a_period_past_the_data(calibrated, tmp_path):
    export, fitted = calibrated
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(fitted),
            "--actual",
            str(export),
            "--from",
            "2026-06-01",
            "--to",
            "2026-09-01",
            "--out",
            str(tmp_path / "bt"),
        ],
    )
    assert result.exit_code == 2
    assert "--to 2026-09-01: the data is observed only up to" in " ".join(result.output.split())
    assert not (tmp_path / "bt").exists()


@pytest.mark.skipif(not OLIST.is_dir(), reason=f"Olist data not found at {OLIST}")
def test_olist_worked_example_calibrates_and_backtests(tmp_path):
    leads = OLIST / "olist_marketing_qualified_leads_dataset.csv"
    deals = OLIST / "olist_closed_deals_dataset.csv"
    run = calibrate_files(
        leads,
        OLIST_MAP,
        deals,
        until="2018-04-01",
        since="2018-01-01",
        timezone="America/Sao_Paulo",
        name="olist",
        drop_invalid=True,
    )
    cal = run.calibration
    assert cal.figure("leads_per_week").n == 3342  # MQLs with first contact in Jan-Mar 2018
    assert 0.10 < cal.figure("mql_to_won").observed < 0.14
    assert run.scenario.sales.sdr.count > 1 and run.scenario.sales.ae.count > 1
    fitted = tmp_path / "olist.yaml"
    fitted.write_text(run.text)
    result = backtest(
        fitted, leads, "2018-04-01", "2018-06-01", OLIST_MAP, deals, reps=30, executor="serial", drop_invalid=True
    )
    table = result.table.set_index(["quantity", "channel"])
    assert table.loc[("leads", "all"), "actual"] == 2655
    assert table.loc[("won deals", "all"), "actual"] == 313
