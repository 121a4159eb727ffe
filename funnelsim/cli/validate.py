"""`funnelsim validate`: check scenario files against the schema; exit 2 if any is invalid."""

from __future__ import annotations

from typing import Annotated

import typer

from funnelsim.cli.common import USER_ERROR_EXIT, app
from funnelsim.report import terminal_checks
from funnelsim.scenario.loader import ScenarioError, load_scenario


@app.command()
def validate(files: Annotated[list[str], typer.Argument(help="Scenario files (or bundled names) to check.")]) -> None:
    """Check scenario files against the schema; exit 2 if any is invalid."""
    failures = 0
    for file in files:
        try:
            scenario = load_scenario(file)
        except ScenarioError as error:
            failures += 1
            terminal_checks.invalid_file(str(error))
            continue
        terminal_checks.valid_file(file, scenario)
    if failures:
        raise typer.Exit(USER_ERROR_EXIT)
