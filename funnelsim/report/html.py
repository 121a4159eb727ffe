"""report.html: one self-contained file per results folder (inline CSS, charts as base64 PNG, no network).

It holds the scenario with its assumptions and sources, warnings, the figures table with 95%
intervals, every chart, and for compare and sweep the decision table.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import pandas as pd

from funnelsim.report.folder import ResultsFolder, open_folder
from funnelsim.report.formatting import better, figure_info, format_difference, format_interval, format_value
from funnelsim.report.outputs import folder_charts, sweep_keys
from funnelsim.scenario.loader import ScenarioError, bundled_scenarios

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: .9rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .25rem .6rem; text-align: right; vertical-align: top; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #f3f5f8; } tr.section td { background: #fafafa; font-weight: bold; text-align: left; }
.warning { background: #fff4e5; border-left: 4px solid #e07b28; padding: .5rem .8rem; margin: .4rem 0; }
.better { color: #1e7c45; font-weight: bold; } .worse { color: #b3372f; font-weight: bold; }
.best { background: #e6f4ea; font-weight: bold; }
figure { margin: 1.4rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: .85rem; } code { background: #f3f3f3; padding: 0 .2rem; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], raw: bool = False, classes: list[str] | None = None) -> str:
    """An HTML table; cells are escaped unless `raw` (then the caller escaped them)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figures_table(summary: pd.DataFrame, currency: str) -> str:
    """Every figure of a run with its unit and 95% interval, by section; per-channel figures at the end."""
    rows, classes = [], []
    last = None
    ordered = pd.concat([summary[~summary["metric"].str.startswith("channel.")],
                         summary[summary["metric"].str.startswith("channel.")]])  # fmt: skip
    for entry in ordered.to_dict("records"):
        info = figure_info(str(entry["metric"]))
        if info.section != last:
            rows.append([_e(info.section), "", "", ""])
            classes.append("section")
            last = info.section
        unit = {"money": currency, "%": "%"}.get(info.unit, info.unit)
        rows.append(
            [
                _e(info.label),
                _e(unit),
                _e(format_value(float(entry["mean"]), info.unit, currency)),
                _e(format_interval(float(entry["ci_low"]), float(entry["ci_high"]), info.unit)),
            ]
        )
        classes.append("")
    return _table(["Figure", "Unit", "Mean", "95% CI"], rows, raw=True, classes=classes)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [pair for i, item in enumerate(value) for pair in _flatten(item, f"{prefix}[{i}]")]
    return [(prefix, str(value))]


def _sources(name: str) -> list[tuple[str, str]]:
    """Comment lines of the bundled scenario file the run came from: its stated sources and assumptions."""
    base = name.split("[", 1)[0].split("#", 1)[0]
    path = bundled_scenarios().get(base)
    if path is None:
        return []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, ScenarioError):
        return []
    out = []
    for line in lines:
        code, sep, comment = line.partition("#")
        if sep and comment.strip():
            out.append((code.strip() or "(note)", comment.strip()))
    return out


def scenario_section(scenario: dict[str, Any] | None, name: str) -> str:
    if not isinstance(scenario, dict):
        return "<p>The manifest holds no scenario.</p>"
    parts = [f"<p>{_e(scenario.get('description', ''))}</p>"]
    sources = _sources(name)
    if sources:
        parts.append("<h3>Sources and assumptions (from the scenario file)</h3>")
        parts.append(_table(["Setting", "Source or assumption"], [[a, b] for a, b in sources]))
    parts.append("<details><summary>Every setting, as resolved</summary>")
    parts.append(_table(["Field", "Value"], [[k, v] for k, v in _flatten(scenario)]))
    parts.append("</details>")
    return "".join(parts)


def _png(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def charts_section(folder: ResultsFolder) -> str:
    """Every chart of the folder, embedded; drawn afresh from the files when charts/ is absent."""
    pictures: list[tuple[str, str]] = []
    chart_dir = folder.path / "charts"
    story = ("funnel", "speed_to_lead", "conversion_by_delay", "capacity_by_hour", "capacity_trend", "revenue")
    order = {name: i for i, name in enumerate([*story, *folder.manifest.get("metrics", [])])}
    files = (
        sorted(chart_dir.glob("*.png"), key=lambda p: (order.get(p.stem, len(order)), p.stem))
        if chart_dir.is_dir()
        else []
    )
    if files:
        pictures = [(p.stem, _png(p)) for p in files]
    else:
        for chart in folder_charts(folder):
            buffer = io.BytesIO()
            chart.figure.savefig(buffer, format="png", dpi=110)
            import matplotlib.pyplot as plt

            plt.close(chart.figure)
            pictures.append((chart.name, base64.b64encode(buffer.getvalue()).decode("ascii")))
    return "".join(
        f'<figure><img alt="{_e(stem.replace("_", " "))} chart" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(stem.replace('_', ' '))}</figcaption></figure>"
        for stem, data in pictures
    )


def compare_folder_table(folder: ResultsFolder, currency: str) -> str:
    table = folder.table("comparison.csv")
    names = [str(v["name"]) for v in folder.manifest.get("variants", [])] or [str(table.columns[1])]
    overloaded = {str(v["name"]) for v in folder.manifest.get("variants", []) if v.get("overloaded")}
    return compare_decision_table(table, names[0], names[1:], currency, overloaded)


def compare_decision_table(
    table: pd.DataFrame, reference: str, variants: list[str], currency: str, overloaded: set[str] | None = None
) -> str:
    """The comparison as a table: each variant's mean and paired difference [95% CI], significant ones marked."""
    overloaded = overloaded or set()
    header = ["Metric", f"{reference} (reference)"]
    for v in variants:
        header += [v + (" ⚠ overloaded" if v in overloaded else ""), "difference [95% CI]"]
    rows = []
    for entry in table.to_dict("records"):
        metric = str(entry["metric"])
        info = figure_info(metric)
        cells = [_e(info.label), _e(format_value(entry.get(reference, math.nan), info.unit, currency))]
        for v in variants:
            diff = entry.get(f"{v} - {reference}", math.nan)
            low, high = entry.get(f"{v} ci_low", math.nan), entry.get(f"{v} ci_high", math.nan)
            text = (
                f"{format_difference(diff, info.unit, currency)} "
                f"[{format_difference(low, info.unit, currency)}, {format_difference(high, info.unit, currency)}]"
            )
            css = ""
            if math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0):
                direction = better(metric)
                if direction is not None:
                    css = "better" if (diff > 0) == (direction == "higher") else "worse"
                text += " *"
            cells += [
                _e(format_value(entry.get(v, math.nan), info.unit, currency)),
                f'<span class="{css}">{_e(text)}</span>',
            ]
        rows.append(cells)
    note = (
        "<p class='meta'>Differences are paired over replications with the same seeds (common random numbers); "
        "rates in percentage points (pp). * the 95% interval excludes zero; green better, red worse.</p>"
    )
    return _table(header, rows, raw=True) + note


def sweep_folder_table(folder: ResultsFolder, currency: str) -> str:
    table = folder.table("sweep.csv")
    keys = sweep_keys(folder, table)
    metrics = folder.manifest.get("metrics") or list(dict.fromkeys(table["metric"]))
    return sweep_decision_table(table, keys, metrics, currency)


def sweep_decision_table(table: pd.DataFrame, key: str | list[str], metrics: list[str], currency: str) -> str:
    """One row per swept value (or grid point), one column per metric (mean [95% CI]); each best mean starred."""
    keys = [key] if isinstance(key, str) else list(key)
    point = table[keys].astype(str).agg(", ".join, axis=1)
    values = list(dict.fromkeys(point))
    point_of = point.to_dict()
    best: dict[str, Any] = {}
    for metric in metrics:
        part = table[table["metric"] == metric]
        direction = better(metric)
        if direction and part["mean"].notna().any():
            best[metric] = point_of[part["mean"].idxmax() if direction == "higher" else part["mean"].idxmin()]
    rows = []
    for value in values:
        cells = [_e(value)]
        for metric in metrics:
            info = figure_info(metric)
            hit = table[(point == value) & (table["metric"] == metric)]
            if hit.empty:
                cells.append("–")
                continue
            row = hit.iloc[0]
            mean = format_value(row["mean"], info.unit, currency)
            text = f"{mean} {format_interval(row['ci_low'], row['ci_high'], info.unit)}"
            mark = best.get(metric) == value
            cells.append(f'<span class="{"best" if mark else ""}">{_e(text)}{" ★" if mark else ""}</span>')
        rows.append(cells)
    header = [", ".join(keys)] + [figure_info(m).label for m in metrics]
    return _table(header, rows, raw=True) + "<p class='meta'>★ best mean for the metric; 95% intervals in brackets.</p>"


def render(folder: ResultsFolder) -> str:
    """The whole report as one HTML string."""
    manifest = folder.manifest
    scenario = manifest.get("scenario")
    currency = str(manifest.get("currency") or (scenario or {}).get("currency") or "USD")
    title = {"run": "Run", "compare": "Comparison", "sweep": "Sweep"}[folder.kind]
    versions = manifest.get("versions", {})
    meta = (
        f"{_e(title)} · {_e(manifest.get('replications', '?'))} replications · seed {_e(manifest.get('seed', '?'))} · "
        f"funnelsim {_e(versions.get('funnelsim', '?'))} · {_e(manifest.get('created', ''))}<br>"
        f"<code>{_e(' '.join(map(str, manifest.get('command', []))))}</code>"
    )
    parts = [f"<h1>{_e(folder.name)}</h1><p class='meta'>{meta}</p>"]
    warnings = list(folder.warnings)
    failed = manifest.get("failed_replications") or []
    if failed:
        warnings.append(f"{len(failed)} replication(s) failed; the figures leave them out")
    parts.append("<h2>Warnings</h2>")
    parts.append("".join(f"<div class='warning'>⚠ {_e(w)}</div>" for w in warnings) if warnings else "<p>None.</p>")
    if folder.kind == "compare":
        parts.append("<h2>Decision table</h2>" + compare_folder_table(folder, currency))
    elif folder.kind == "sweep":
        parts.append("<h2>Decision table</h2>" + sweep_folder_table(folder, currency))
    parts.append("<h2>Charts</h2>" + charts_section(folder))
    if folder.kind == "run":
        parts.append("<h2>Figures (mean over replications, 95% CI)</h2>")
        parts.append(figures_table(folder.table("summary.csv"), currency))
    else:
        entries = manifest.get("variants") or manifest.get("points") or []
        for entry in entries:
            stem = entry.get("file_stem")
            if stem is not None and folder.has(f"summary-{stem}.csv"):
                if folder.kind == "compare":
                    label = entry.get("name", stem)
                elif isinstance(entry.get("setting"), dict):
                    label = ", ".join(f"{k} = {v}" for k, v in entry["setting"].items())
                else:
                    label = f"{manifest.get('param')} = {entry.get('value')}"
                parts.append(f"<h2>Figures: {_e(label)}</h2>")
                parts.append(figures_table(folder.table(f"summary-{stem}.csv"), currency))
    parts.append("<h2>Scenario</h2>" + scenario_section(scenario, folder.name.split(":")[0]))
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{_e(folder.name)} — funnelsim report</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write_report(path: Path | str) -> Path:
    """Write report.html into a results folder; returns its path."""
    folder = open_folder(path)
    target = folder.path / "report.html"
    target.write_text(render(folder), encoding="utf-8")
    return target
