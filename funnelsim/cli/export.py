"""`funnelsim export`: a results folder's tables as an Excel workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from funnelsim.cli.common import ResultsDir, app, fail, user_errors
from funnelsim.report import terminal
from funnelsim.report.export import write_xlsx


@app.command()
def export(
    folder: ResultsDir,
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Write the tables to an Excel workbook.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Workbook path (default: DIR/tables.xlsx).")] = None,
) -> None:
    """Export a results folder's tables (one sheet per table, units in the headers)."""
    if not xlsx:
        fail("export: choose a format, e.g. funnelsim export results/baseline --xlsx")
    with user_errors():
        target = write_xlsx(folder, out)
    terminal.say(f"workbook written to {target}")
