"""`funnelsim report`: one self-contained report.html of a results folder."""

from __future__ import annotations

from funnelsim.cli.common import ResultsDir, app, user_errors
from funnelsim.report import terminal
from funnelsim.report.html import write_report


@app.command()
def report(folder: ResultsDir) -> None:
    """Write report.html: one self-contained file with the scenario, warnings, figures and every chart."""
    with user_errors():
        target = write_report(folder)
    terminal.say(f"report written to {target}")
