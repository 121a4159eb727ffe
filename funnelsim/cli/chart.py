"""`funnelsim chart`: redraw a results folder's charts from its files alone."""

from __future__ import annotations

from funnelsim.cli.common import ResultsDir, app, user_errors
from funnelsim.report import terminal
from funnelsim.report.outputs import draw_charts


@app.command()
def chart(folder: ResultsDir) -> None:
    """Redraw a results folder's charts (charts/*.png) from its files alone."""
    with user_errors():
        written = draw_charts(folder)
    terminal.say(f"{len(written)} charts written to {folder / 'charts'}/")
