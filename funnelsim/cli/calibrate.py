"""`funnelsim calibrate`: fit a scenario to a CRM export; options shared with `backtest` live here too."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from funnelsim.calibrate.table import CalibrationError
from funnelsim.cli.common import app, fail, slug
from funnelsim.report import terminal, terminal_checks

Mapping = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="field=column (repeatable), or a YAML file of them; fields: lead_id, created_at, mql_at, channel, "
        "first_touch_at, sql_at, won_at, lost_at, deal_mrr, rep_id, ae_id, fit. A field named like its column "
        "needs no mapping; field= leaves it out.",
    ),
]
DropInvalid = Annotated[
    bool, typer.Option("--drop-invalid", help="Leave out leads with a stage dated before their creation.")
]


@app.command()
def calibrate(
    leads: Annotated[Path, typer.Argument(help="Lead table, CSV or parquet: one row per lead.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Scenario file to write, e.g. my-funnel.yaml.")],
    deals: Annotated[Path | None, typer.Option("--deals", help="Deals table joined on the lead id.")] = None,
    map_: Mapping = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Treat the data as observed up to this date (later leads left out).")
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="Time zone of timestamps without a UTC offset.")] = "UTC",
    name: Annotated[str | None, typer.Option("--name", help="Scenario name (default: the file's stem).")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Calibration report folder (default: calibration/<name>).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Fit only leads created from this date (the funnel as it is now).")
    ] = None,
    deal_kind: Annotated[str, typer.Option("--deal-kind", help="deal_mrr values are mrr or one-off.")] = "mrr",
    drop_invalid: DropInvalid = False,
) -> None:
    """Fit a scenario to a CRM export; write it with a comment on every number, and a calibration report."""
    try:
        from funnelsim.calibrate.api import calibrate_files  # needs scipy (the calibrate extra)
        from funnelsim.report.calibration import write_calibration
    except ImportError as error:
        fail(f"calibrate needs scipy ({error}); install it with: pip install 'funnelsim[calibrate]'")

    try:
        outcome = calibrate_files(
            leads, map_ or [], deals, until, timezone, name, deal_kind, drop_invalid, " ".join(sys.argv[1:]), since
        )
    except CalibrationError as error:
        fail(str(error))
    for text in outcome.calibration.notes:
        terminal.note(text)
    for text in outcome.calibration.warnings:
        terminal.warn(text)
    terminal_checks.calibration(outcome.calibration.figures_frame(), outcome.scenario.name)
    folder = report or Path("calibration") / slug(outcome.scenario.name)
    try:
        write_calibration(outcome, out, folder)
    except OSError as error:
        fail(f"cannot write {out} or {folder}: {error}")
    terminal.say(f"scenario written to {out}; calibration report in {folder}/")
