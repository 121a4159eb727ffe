"""Calibrate from files: read and check, fit, and validate the scenario, writing nothing.

report/calibration.py writes the outcome (`write_calibration`) only once everything has been read,
fitted and validated, so a failure leaves no file behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from funnelsim.calibrate.fit import Calibration, calibrate
from funnelsim.calibrate.table import CalibrationError, LeadTable, load_leads, parse_mapping
from funnelsim.calibrate.writer import scenario_yaml
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.schema import Scenario


@dataclass
class CalibrationRun:
    table: LeadTable
    calibration: Calibration
    text: str  # the scenario file
    scenario: Scenario


def calibrate_files(
    leads: Path,
    mapping: Sequence[str] = (),
    deals: Path | None = None,
    until: str | None = None,
    timezone: str = "UTC",
    name: str | None = None,
    deal_kind: str = "mrr",
    drop_invalid: bool = False,
    command: str = "",
    since: str | None = None,
) -> CalibrationRun:
    """Everything calibrate does short of writing; raises CalibrationError on bad input."""
    if deal_kind not in ("mrr", "one-off"):
        raise CalibrationError(f"--deal-kind {deal_kind}: expected mrr or one-off")
    table = load_leads(Path(leads), parse_mapping(mapping), deals, timezone, until, drop_invalid, since)
    calibration = calibrate(table, name or Path(leads).stem, deal_kind)
    header = [
        f"Calibrated by funnelsim from {', '.join(f'{k}={v}' for k, v in table.fields.items())}",
        f"on {dt.date.today().isoformat()}" + (f": {command}" if command else ""),
        "Each fitted number says where it came from; 'assumption' marks what a CRM export cannot tell.",
    ]
    text = scenario_yaml(calibration, header)
    try:
        scenario = load_scenario(yaml.safe_load(text))
    except ScenarioError as error:  # a fit the schema refuses: say which, write nothing
        raise CalibrationError(f"the calibrated scenario does not validate: {error}") from None
    return CalibrationRun(table, calibration, text, scenario)
