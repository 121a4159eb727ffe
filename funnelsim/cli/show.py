"""`funnelsim show`: a scenario as resolved (extends and overrides applied, defaults filled in)."""

from __future__ import annotations

import yaml

from funnelsim.cli.common import ScenarioArg, Sets, app, user_errors
from funnelsim.report import terminal_checks
from funnelsim.scenario.loader import load_scenario, resolve_scenario_path


@app.command()
def show(scenario: ScenarioArg = None, set_: Sets = None) -> None:
    """Print a scenario as resolved (extends and overrides applied, defaults filled in)."""
    with user_errors():
        loaded = load_scenario(scenario, set_ or [])
        path = resolve_scenario_path(scenario or "baseline")
    terminal_checks.resolved(str(path), yaml.safe_dump(loaded.model_dump(mode="json"), sort_keys=False))
