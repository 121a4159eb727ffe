"""`funnelsim run --export-crm`: simulated leads in the generic CRM layout calibrate reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from funnelsim.cli import app
from funnelsim.experiment.runner import replication_seeds
from funnelsim.model.records import Reason
from funnelsim.model.simulate import simulate
from funnelsim.report.crm import CRM_COLUMNS, crm_frame
from tests.conftest import make_scenario

SALES = {
    "sdr": {"count": 2, "handle_time": "10min", "attempts": ["0h"], "reach": 1.0},
    "qualify": 0.5,
    "ae": {"count": "unlimited", "cycle": {"lognormal": {"median": "5d", "p90": "12d"}}, "win": 0.4},
}


def test_export_has_one_row_per_lead_with_stage_timestamps_in_the_scenario_zone():
    scenario = make_scenario(sales=SALES)
    records = simulate(scenario, 3)
    frame = crm_frame(records, scenario)
    assert tuple(frame.columns) == CRM_COLUMNS
    assert len(frame) == records.n_leads and frame["lead_id"].is_unique
    assert str(frame["created_at"].dt.tz) == "Europe/Berlin"
    # the export is what a CRM holds at the horizon: deals won in the follow-up are still open there
    won = (records.leads["reason"] == Reason.ASSISTED) & (records.leads["closed_at"] < records.horizon_hours)
    assert frame["won_at"].notna().sum() == won.sum() > 0
    assert frame["deal_mrr"].notna().sum() == won.sum()
    assert frame["sql_at"].notna().sum() == np.isfinite(records.leads["sql_at"]).sum()
    assert (frame["won_at"].dropna() >= frame.loc[frame["won_at"].notna(), "created_at"]).all()
    assert not (frame["won_at"].notna() & frame["lost_at"].notna()).any()
    first = frame["created_at"].iloc[0]
    hours = (first - pd.Timestamp("2026-01-05", tz="Europe/Berlin")).total_seconds() / 3600
    assert abs(hours - records.leads["arrival_at"][0]) < 1 / 3600


def test_cli_writes_replication_zero_as_csv_that_reads_back(tmp_path, scenario_file):
    import yaml

    from tests.conftest import MINIMAL, deep_merge

    path = scenario_file(yaml.safe_dump(deep_merge(MINIMAL, {"sales": SALES})))
    export = tmp_path / "crm.csv"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(path),
            "-n",
            "3",
            "-s",
            "11",
            "-q",
            "--no-charts",
            "--out",
            str(tmp_path / "r"),
            "--export-crm",
            str(export),
            "--executor",
            "serial",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(export)
    scenario = make_scenario(sales=SALES)
    records = simulate(scenario, replication_seeds(11, 3)[0])
    assert len(table) == records.n_leads
    created = pd.to_datetime(table["created_at"], format="ISO8601", utc=True)
    assert created.is_monotonic_increasing
    assert table["created_at"].iloc[0].endswith("+01:00")
    won_by_horizon = (records.leads["reason"] == Reason.ASSISTED) & (records.leads["closed_at"] < records.horizon_hours)
    assert table["won_at"].notna().sum() == won_by_horizon.sum()
