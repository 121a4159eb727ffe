"""`funnelsim scenarios`: the bundled scenarios with their descriptions."""

from __future__ import annotations

from typing import Annotated

import typer

from funnelsim.cli.common import app
from funnelsim.report import terminal_checks
from funnelsim.scenario.loader import ScenarioError, bundled_scenarios, load_scenario


@app.command()
def scenarios(
    all_: Annotated[bool, typer.Option("--all", help="Include the validation cases.")] = False,
) -> None:
    """List the bundled scenarios with their descriptions."""
    descriptions = {}
    for name, path in bundled_scenarios().items():
        if name.startswith("validation/") and not all_:
            continue
        try:
            descriptions[name] = load_scenario(path).description
        except ScenarioError as error:
            descriptions[name] = f"(invalid: {error})"
    terminal_checks.bundled(descriptions)
