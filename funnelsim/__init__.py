"""funnelsim: discrete-event simulation of B2B marketing and sales funnels.

The public API a notebook user calls: `load_scenario`, `simulate`, `run`, `compare`, `sweep`, `grid`
(full factorial sweeps), `plan`, `sensitivity` and `run_to_precision`, and `register_discipline`
for a SAL queue order of one's own.
"""

from __future__ import annotations

from funnelsim._version import __version__
from funnelsim.experiment.grid import GridResult, grid
from funnelsim.experiment.plan import PlanResult, plan
from funnelsim.experiment.precision import run_to_precision
from funnelsim.experiment.runner import CompareResult, RunResult, SweepResult, compare, run, sweep
from funnelsim.experiment.sensitivity import SensitivityResult, sensitivity
from funnelsim.model.queues import NO_LEAD, LeadView, QueueDiscipline, register_discipline
from funnelsim.model.records import Records
from funnelsim.model.simulate import simulate
from funnelsim.report import notebook as _notebook  # noqa: F401  (registers how results show in a notebook)
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.schema import Scenario

__all__ = [
    "NO_LEAD",
    "CompareResult",
    "GridResult",
    "LeadView",
    "PlanResult",
    "QueueDiscipline",
    "Records",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SensitivityResult",
    "SweepResult",
    "__version__",
    "compare",
    "grid",
    "load_scenario",
    "plan",
    "register_discipline",
    "run",
    "run_to_precision",
    "sensitivity",
    "simulate",
    "sweep",
]
