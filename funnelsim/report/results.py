"""The results folder of DESIGN §6, written atomically.

Everything goes into a temporary sibling folder first and is moved into place at the end,
so an interrupted run never leaves a half-written result that looks whole. Where it may go
is checked (and locked) by `funnelsim.report.paths` before anything is simulated.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from funnelsim import metrics
from funnelsim._version import __version__
from funnelsim.experiment.runner import RunResult
from funnelsim.report.folder import FORMAT
from funnelsim.report.formatting import figure_info
from funnelsim.report.paths import MANIFEST, OutputSlot, claim_output


def versions() -> dict[str, str]:
    import numpy
    import simpy

    return {
        "funnelsim": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "simpy": simpy.__version__,
    }


def summary_table(result: RunResult) -> pd.DataFrame:
    """summary.csv: one row a metric with its label and unit."""
    table = result.summary.copy()
    info = [figure_info(m) for m in table["metric"]]
    table.insert(1, "section", [i.section for i in info])
    table.insert(2, "label", [i.label for i in info])
    table.insert(3, "unit", [i.unit for i in info])
    # a resource that cannot keep up: its warning beside its load
    notes = {
        (
            "sdr_offered_load"
            if o.resource == "SDR desk"
            else "ae_offered_load"
            if o.overloaded
            else "ae_load_if_prompt"
        ): (o.message)
        for o in result.overloads
    }
    table["warning"] = [notes.get(m, "") for m in table["metric"]]
    table["per_year_of_window"] = [
        metrics.per_year_of_window(m, v, result.scenario) for m, v in zip(table["metric"], table["mean"])
    ]
    return table


def run_data(result: RunResult) -> Any:
    """The run charts' input from a result in memory (what the folder would hold)."""
    from funnelsim.report.charts import RunData  # matplotlib, only when charts are drawn

    return RunData(
        name=result.scenario.name,
        summary=summary_table(result),
        scenario=result.scenario,
        timeseries=result.timeseries,
        tables=dict(result.tables),
        warnings=[str(w) for w in getattr(result, "warnings", None) or []],
    )


def manifest(
    result: RunResult, command: list[str] | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    failed = result.failed
    data = {
        "name": result.scenario.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command if command is not None else sys.argv,
        "seed": result.seed,
        "replications": len(result.replications),
        "failed_replications": [
            {"replication": int(replication), "error": error}
            for replication, error in zip(failed["replication"], failed["error"])
        ],
        "notes": result.notes,
        "versions": versions(),
        "timings": result.timings,
        "warnings": result.warnings,
        "overloaded": result.overloaded,
        "scenario": result.scenario.model_dump(mode="json"),
    }
    data.update(extra or {})
    return data


def write_atomically(
    target: Path | OutputSlot, fill: Callable[[Path], None], force: bool = False, command: list[str] | None = None
) -> Path:
    """Call `fill(tmp)` on a fresh temporary folder beside the target, then move it into place.

    `target` is a folder (checked and locked here) or a slot from `claim_output` (checked before
    the simulation). A manifest.json marking the folder as funnelsim's is added if `fill` wrote none.
    """
    slot = target if isinstance(target, OutputSlot) else claim_output(Path(target), force)

    def fill_and_mark(folder: Path) -> None:
        fill(folder)
        if not (folder / MANIFEST).exists():
            marker = {
                "kind": "output",
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": command if command is not None else sys.argv,
                "versions": versions(),
            }
            (folder / MANIFEST).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")

    with slot:
        return slot.write(fill_and_mark)


def write_run(
    result: RunResult,
    out: Path | OutputSlot,
    command: list[str] | None = None,
    charts: bool = True,
    force: bool = False,
) -> Path:
    """Write manifest.json, summary.csv, replications.parquet, the chart tables, optional tables and charts."""

    def fill(folder: Path) -> None:
        started = time.perf_counter()
        files = ["summary.csv", "replications.parquet"]
        summary_table(result).to_csv(folder / "summary.csv", index=False)
        result.replications.to_parquet(folder / "replications.parquet", index=False)
        if result.timeseries is not None:
            result.timeseries.to_parquet(folder / "timeseries.parquet", index=False)
            files.append("timeseries.parquet")
        for name, table in result.tables.items():
            table.to_parquet(folder / f"{name}.parquet", index=False)
            files.append(f"{name}.parquet")
        if result.leads is not None:
            result.leads.to_parquet(folder / "leads.parquet", index=False)
            files.append("leads.parquet")
        timings = dict(result.timings, write_seconds=time.perf_counter() - started)
        extra = {"kind": "run", "format": FORMAT, "files": files, "timings": timings}
        data = manifest(result, command, extra)
        (folder / MANIFEST).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        if charts and not result.summary.empty:
            started = time.perf_counter()
            from funnelsim.report import charts as drawing

            drawing.run_charts(run_data(result), folder / "charts", timings=timings)  # from memory, not re-read
            timings["charts_seconds"] = time.perf_counter() - started
            (folder / MANIFEST).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")

    return write_atomically(out, fill, force, command)
