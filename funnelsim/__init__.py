"""funnelsim: discrete-event simulation of B2B marketing and sales funnels.

The public API a notebook user calls: `load_scenario`, `simulate`, `run`, `compare`, `sweep`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from funnelsim.experiment.runner import CompareResult, RunResult, SweepResult, compare, run, sweep
from funnelsim.model.records import Records
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.schema import Scenario

__all__ = [
    "CompareResult",
    "Records",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SweepResult",
    "__version__",
    "compare",
    "load_scenario",
    "run",
    "simulate",
    "sweep",
]
