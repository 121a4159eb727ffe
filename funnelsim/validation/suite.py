"""`verify`: run the chosen validation cases' replications and judge every check.

All replications of all cases go to one pool of workers, the biggest first; each is reduced to
its case's measurements in the worker, so only a few numbers per replication come back.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from funnelsim import metrics
from funnelsim.experiment.executors import ExecutorName, run_tasks
from funnelsim.experiment.runner import DEFAULT_SEED, replication_seeds
from funnelsim.model.simulate import simulate
from funnelsim.scenario.schema import Scenario
from funnelsim.validation.cases import CASES, case_scenario
from funnelsim.validation.judging import QUICK_TOLERANCE_FACTOR, Case, Check, CheckResult, Measure, judge


@dataclass
class VerifyResult:
    """Every check of a verify run, with how it was run."""

    checks: list[CheckResult]
    quick: bool
    seed: int
    reps: dict[str, int]  # case -> replications run
    horizons_hours: dict[str, float]  # case -> horizon simulated
    seconds: float
    extras: dict[str, dict[str, tuple[float, float, float]]] = field(default_factory=dict)  # case -> key -> interval

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


def measure_replication(measure: Measure, scenario: Scenario, seed: np.random.SeedSequence) -> dict[str, float] | str:
    """One replication reduced to a case's measurements (or the traceback if it failed)."""
    try:
        return measure(simulate(scenario, seed), scenario)
    except Exception:
        return traceback.format_exc(limit=8)


def verify(
    quick: bool = False,
    reps: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    cases: Sequence[Case] | None = None,
    workers: int | None = None,
    executor: ExecutorName = "processes",
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Run the validation cases and judge every check (see the module docstring for the rule)."""
    started = time.perf_counter()
    chosen = list(cases) if cases is not None else list(CASES)
    scenarios = {case.name: case_scenario(case, quick) for case in chosen}
    checks_of: dict[str, list[Check] | str] = {}
    for case in chosen:
        try:
            checks_of[case.name] = case.checks(scenarios[case.name])
        except ValueError as error:  # the file no longer has the shape its reference needs
            checks_of[case.name] = f"{case.scenario}: {error}"
    reps_of = {case.name: reps or (case.quick_reps if quick else case.reps) for case in chosen}
    tasks: list[tuple[str, tuple]] = []
    for case in chosen:
        if isinstance(checks_of[case.name], str):
            continue
        scenario = scenarios[case.name]
        tasks += [(case.name, (case.measure, scenario, s)) for s in replication_seeds(seed, reps_of[case.name])]
    # the biggest replications first, so the workers finish together
    order = sorted(range(len(tasks)), key=lambda i: -scenarios[tasks[i][0]].expected_leads())
    done: list[dict[str, float] | str | None] = [None] * len(tasks)
    for index, output in run_tasks(measure_replication, [tasks[i][1] for i in order], executor, workers):
        done[order[index]] = output
        if progress is not None:
            progress(1)
    outputs: dict[str, list[dict[str, float] | str]] = {case.name: [] for case in chosen}
    for (name, _), output in zip(tasks, done):
        outputs[name].append(output if output is not None else "replication did not run")

    factor = QUICK_TOLERANCE_FACTOR if quick else 1.0
    results: list[CheckResult] = []
    extras: dict[str, dict[str, tuple[float, float, float]]] = {}
    for case in chosen:
        checks = checks_of[case.name]
        if isinstance(checks, str):
            setup = Check("setup", "case set-up", math.nan, "the case's scenario file", math.nan)
            results.append(CheckResult(case.name, case.scenario, setup, math.nan, math.nan, math.nan, 0, math.nan,
                                       False, checks))  # fmt: skip
            continue
        runs = outputs[case.name]
        failed = [o for o in runs if isinstance(o, str)]
        ok = [o for o in runs if not isinstance(o, str)]
        keys = sorted({k for o in ok for k in o})
        extras[case.name] = {
            k: metrics.interval(np.array([o.get(k, math.nan) for o in ok], dtype=float))[:3] for k in keys
        }
        for check in checks:
            values = np.array([o.get(check.key, math.nan) for o in ok], dtype=float)
            results.append(judge(case, check, values, factor, failed[0] if failed else None))
    return VerifyResult(
        checks=results,
        quick=quick,
        seed=seed,
        reps=reps_of,
        horizons_hours={name: s.horizon for name, s in scenarios.items()},
        seconds=time.perf_counter() - started,
        extras=extras,
    )
