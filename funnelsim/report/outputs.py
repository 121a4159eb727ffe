"""Results folders of compare and sweep, and redrawing any folder's charts from its files alone."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from funnelsim.experiment.grid import GridResult
from funnelsim.experiment.plan import PlanResult, Target
from funnelsim.experiment.runner import CompareResult, SweepResult
from funnelsim.experiment.sensitivity import SensitivityResult
from funnelsim.report.folder import FORMAT, FolderError, ResultsFolder, open_folder
from funnelsim.report.paths import OutputSlot
from funnelsim.report.results import manifest, summary_table, versions, write_atomically

if TYPE_CHECKING:  # the calibrate package needs its extra at run time
    from funnelsim.calibrate.backtest import Backtest


def slug(name: str) -> str:
    """A scenario name as one safe file-name component."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_") or "scenario"


def comparison_table(outcome: CompareResult, metrics: Sequence[str]) -> pd.DataFrame:
    """comparison.csv (its layout is the compare result's own: `CompareResult.table`)."""
    return outcome.table(metrics)


def _base_manifest(kind: str, command: list[str] | None, seed: int, reps: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command if command is not None else sys.argv,
        "seed": seed,
        "replications": reps,
        "versions": versions(),
    }


def write_compare(
    outcome: CompareResult,
    metrics: Sequence[str],
    target: Path | OutputSlot,
    command: list[str] | None = None,
    charts: bool = True,
) -> Path:
    """comparison.csv, per scenario summary-<name>.csv and replications-<name>.parquet, manifest, charts."""
    results = outcome.results
    reference = results[0].scenario.name
    table = outcome.table(metrics)

    def fill(folder: Path) -> None:
        files = ["comparison.csv", "incremental.csv", "capacity.csv"]
        table.to_csv(folder / "comparison.csv", index=False)
        outcome.incremental.to_csv(folder / "incremental.csv", index=False)
        capacity = [
            {"scenario": r.scenario.name, "overloaded": ", ".join(r.overloaded), "warnings": " | ".join(r.warnings)}
            for r in results
        ]
        pd.DataFrame(capacity).to_csv(folder / "capacity.csv", index=False)
        variants = []
        for r in results:
            stem = slug(r.scenario.name)
            summary_table(r).to_csv(folder / f"summary-{stem}.csv", index=False)
            r.replications.to_parquet(folder / f"replications-{stem}.parquet", index=False)
            files += [f"summary-{stem}.csv", f"replications-{stem}.parquet"]
            entry = manifest(r, command)
            for key in ("versions", "command", "created"):
                entry.pop(key, None)
            entry.update({"file_stem": stem, "overloaded": bool(r.overloaded)})
            variants.append(entry)
        data = _base_manifest("compare", command, results[0].seed, len(results[0].replications))
        data.update(
            {
                "name": " vs ".join(r.scenario.name for r in results),
                "reference": reference,
                "variants": variants,
                "metrics": list(metrics),
                "currency": results[0].scenario.currency,
                "files": files,
                "warnings": [f"{v['name']}: {w}" for v in variants for w in v.get("warnings", [])],
                "scenario": variants[0]["scenario"],
            }
        )
        (folder / "manifest.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
        if charts:
            draw_charts(ResultsFolder(folder, data))

    return write_atomically(target, fill)


def sweep_table(outcome: SweepResult, metrics: Sequence[str]) -> pd.DataFrame:
    """sweep.csv: one row per (value, metric) with mean and 95% CI."""
    rows = []
    for value, result in zip(outcome.values, outcome.results):
        summary = result.summary.set_index("metric")
        for name in metrics:
            if name in summary.index:
                entry = summary.loc[name]
                rows.append(
                    {outcome.key: value, "metric": name, "mean": entry["mean"], "ci_low": entry["ci_low"],
                     "ci_high": entry["ci_high"]}
                )  # fmt: skip
    return pd.DataFrame(rows, columns=[outcome.key, "metric", "mean", "ci_low", "ci_high"])


def write_sweep(
    outcome: SweepResult,
    metrics: Sequence[str],
    target: Path | OutputSlot,
    command: list[str] | None = None,
    charts: bool = True,
) -> Path:
    """sweep.csv, per value summary-<i>.csv, manifest and one chart per metric."""
    table = sweep_table(outcome, metrics)

    def fill(folder: Path) -> None:
        files = ["sweep.csv"]
        table.to_csv(folder / "sweep.csv", index=False)
        points: list[dict[str, Any]] = []
        for i, (value, r) in enumerate(zip(outcome.values, outcome.results)):
            summary_table(r).to_csv(folder / f"summary-{i}.csv", index=False)
            files.append(f"summary-{i}.csv")
            points.append(
                {"value": value, "name": r.scenario.name, "file_stem": str(i), "overloaded": bool(r.overloaded),
                 "failed_replications": len(r.failed), "warnings": [str(w) for w in getattr(r, "warnings", [])]}
            )  # fmt: skip
        first = outcome.results[0]
        data = _base_manifest("sweep", command, first.seed, len(first.replications))
        data.update(
            {
                "name": f"{first.scenario.name}: sweep of {outcome.key}",
                "param": outcome.key,
                "values": [str(v) for v in outcome.values],
                "points": points,
                "metrics": list(metrics),
                "currency": first.scenario.currency,
                "files": files,
                "warnings": [f"{outcome.key}={p['value']}: {w}" for p in points for w in p["warnings"]],
                "scenario": first.scenario.model_dump(mode="json"),
            }
        )
        (folder / "manifest.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
        if charts:
            draw_charts(ResultsFolder(folder, data))

    return write_atomically(target, fill)


def write_grid(
    outcome: GridResult,
    metrics: Sequence[str],
    target: Path | OutputSlot,
    command: list[str] | None = None,
    charts: bool = True,
) -> Path:
    """A sweep's folder (a grid.GridResult). Over one field: the folder of `write_sweep`. Over
    several: sweep.csv (tidy, one row a point and metric), summary-<i>.csv per point, the
    manifest, and a chart per metric (a heatmap for two fields)."""
    keys = [axis.key for axis in outcome.axes]
    if len(keys) == 1:  # one field: the sweep folder
        values = [setting[keys[0]] for setting in outcome.settings]
        return write_sweep(SweepResult(keys[0], values, list(outcome.results)), metrics, target, command, charts)
    tidy = outcome.table
    tidy = tidy[tidy["metric"].isin(list(metrics))].reset_index(drop=True)

    def fill(folder: Path) -> None:
        files = ["sweep.csv"]
        tidy.to_csv(folder / "sweep.csv", index=False)
        points: list[dict[str, Any]] = []
        for i, (setting, r) in enumerate(zip(outcome.settings, outcome.results)):
            summary_table(r).to_csv(folder / f"summary-{i}.csv", index=False)
            files.append(f"summary-{i}.csv")
            points.append(
                {"setting": {k: setting[k] for k in keys}, "name": r.scenario.name, "file_stem": str(i),
                 "overloaded": bool(r.overloaded), "failed_replications": len(r.failed),
                 "warnings": [str(w) for w in getattr(r, "warnings", [])]}
            )  # fmt: skip
        first = outcome.results[0]
        data = _base_manifest("sweep", command, first.seed, len(first.replications))
        data.update(
            {
                "name": f"{first.scenario.name}: sweep of {' x '.join(keys)}",
                "params": keys,
                "values": {axis.key: [str(v) for v in axis.values] for axis in outcome.axes},
                "points": points,
                "computed": outcome.computed,
                "reused": outcome.reused,
                "metrics": list(metrics),
                "currency": first.scenario.currency,
                "files": files,
                "warnings": [
                    f"{', '.join(f'{k}={v}' for k, v in p['setting'].items())}: {w}"
                    for p in points
                    for w in p["warnings"]
                ],
                "scenario": first.scenario.model_dump(mode="json"),
            }
        )
        (folder / "manifest.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
        if charts:
            draw_charts(ResultsFolder(folder, data))

    return write_atomically(target, fill)


def sweep_keys(folder: ResultsFolder, table: pd.DataFrame) -> list[str]:
    """The swept fields of a sweep folder: `params` (a grid) or `param` (one field)."""
    keys = folder.manifest.get("params") or [folder.manifest.get("param") or table.columns[0]]
    missing = [str(k) for k in keys if k not in table.columns]
    if missing:
        raise FolderError(f"{folder.path / 'sweep.csv'}: no column {missing[0]!r} (a swept parameter in the manifest)")
    return [str(k) for k in keys]


def plan_json(result: PlanResult, command: list[str] | None = None) -> dict[str, Any]:
    """plan.json: the plan, what binds, what could not be reached and how the search went."""
    return {
        "scenario": result.scenario.name,
        "command": command if command is not None else sys.argv,
        "targets": [t.text for t in result.targets],
        "objective": result.objective.text,
        "bounds": result.bounds,
        "plan": None
        if result.plan is None
        else {"counts": result.plan.counts, "cost_per_month": result.plan.cost_per_month},
        "binding": result.binding,
        "unreachable": [
            {
                "target": u.target.text,
                "best": u.best.counts,
                "best_value": u.best.figure(u.target.metric),
                "reason": u.reason,
            }
            for u in result.unreachable
        ],
        "warm_start": {"counts": result.warm.counts, "notes": result.warm.notes},
        "teams_simulated": len(result.teams),
        "grid_size": result.grid_size,
    }


def write_plan(result: PlanResult, shown: Target, target: Path, command: list[str] | None = None) -> Path:
    """plan.csv (one row per team simulated), plan.json and the frontier chart of the `shown` target."""

    def fill(folder: Path) -> None:
        from funnelsim.report.decision_charts import frontier_chart  # matplotlib, imported only to draw

        result.table().to_csv(folder / "plan.csv", index=False)
        (folder / "plan.json").write_text(json.dumps(plan_json(result, command), indent=2, default=str) + "\n")
        charts = folder / "charts"
        charts.mkdir()
        frame = pd.DataFrame(
            [
                {
                    "label": t.label,
                    "cost": t.cost_per_month,
                    **dict(zip(("mean", "ci_low", "ci_high"), t.figure(shown.metric))),
                    "meets": t.feasible,
                }
                for t in result.teams
            ]
        )
        label = result.plan.label if result.plan else None
        frontier_chart(frame, shown.metric, shown.value, shown.at_least, label, charts / "frontier.png")

    return write_atomically(target, fill)


def write_sensitivity(result: SensitivityResult, names: Sequence[str], scenario_name: str, target: Path) -> Path:
    """sensitivity.csv and one tornado chart per metric."""

    def fill(folder: Path) -> None:
        from funnelsim.report.decision_charts import tornado_chart  # matplotlib, imported only to draw

        result.table.to_csv(folder / "sensitivity.csv", index=False)
        charts = folder / "charts"
        charts.mkdir()
        by_key = {p.key: p for p in result.parameters}
        for name in names:
            rows = result.metric(name).copy()
            for column in ("low", "base", "high"):
                rows[column] = [by_key[k].shown(getattr(by_key[k], column)) for k in rows["parameter"]]
            base = result.base.figure(name)[0]
            tornado_chart(rows, name, base, scenario_name, charts / f"tornado-{slug(name)}.png")

    return write_atomically(target, fill)


def write_backtest(result: Backtest, target: Path) -> Path:
    """backtest.csv and its chart."""

    def fill(folder: Path) -> None:
        from funnelsim.report.calibration import backtest_chart  # matplotlib, imported only to draw

        result.table.to_csv(folder / "backtest.csv", index=False)
        backtest_chart(result.table, result.scenario.name, folder / "backtest.png")

    return write_atomically(target, fill)


def compare_overloaded(folder: ResultsFolder) -> list[str]:
    return [str(v.get("name")) for v in folder.manifest.get("variants", []) if v.get("overloaded")]


def folder_charts(folder: ResultsFolder) -> list[Any]:
    """The charts of a results folder, computed from its files (charts.Chart objects, not yet saved)."""
    from funnelsim.report import charts

    manifest_data = folder.manifest
    currency = str(manifest_data.get("currency") or getattr(folder.scenario(), "currency", "USD"))
    if folder.kind == "run":
        data = folder.run_data()
        return [draw(data) for draw in charts.RUN_CHARTS.values()]
    if folder.kind == "compare":
        names = [str(v["name"]) for v in manifest_data.get("variants", [])]
        comparison = folder.table("comparison.csv")
        if not names:  # an older folder: the reference is the first column after `metric`
            names = [c for c in comparison.columns[1:] if " - " not in c and not c.endswith(("ci_low", "ci_high"))]
        metrics = manifest_data.get("metrics") or list(comparison["metric"])
        return [
            charts.compare_chart(
                comparison, names[0], names[1:], metrics, currency, overloaded=compare_overloaded(folder)
            )
        ]
    table = folder.table("sweep.csv")
    keys = sweep_keys(folder, table)
    chosen = manifest_data.get("metrics") or list(dict.fromkeys(table["metric"]))
    # one flag per point, in the order of the points, which is each metric's order of rows in sweep.csv
    overloaded = [bool(p.get("overloaded")) for p in manifest_data.get("points", [])]
    if len(keys) > 1:
        from funnelsim.report.decision_charts import grid_lines_chart, heatmap_chart

        parts = [table[table["metric"] == metric].reset_index(drop=True) for metric in chosen]
        if len(keys) == 2:
            return [heatmap_chart(part, keys, metric, currency, overloaded) for part, metric in zip(parts, chosen)]
        return [grid_lines_chart(part, keys, metric, overloaded) for part, metric in zip(parts, chosen)]
    key = keys[0]
    out = []
    for metric in chosen:
        part = table[table["metric"] == metric].rename(columns={key: "value"}).reset_index(drop=True)
        out.append(charts.sweep_chart(part, key, metric, currency, overloaded))
    return out


def draw_charts(folder: ResultsFolder | Path | str) -> list[Path]:
    """(Re)draw every chart of a results folder into its charts/ from the files alone."""
    if not isinstance(folder, ResultsFolder):
        folder = open_folder(folder)
    return [chart.save(folder.path / "charts") for chart in folder_charts(folder)]
