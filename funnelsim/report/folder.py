"""Reading a results folder back: what kind it is, its manifest, its tables; refusing what is not one.

`funnelsim chart`, `report` and `export` work from the files alone, through `open_folder`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from funnelsim._version import __version__
from funnelsim.chart_tables import TABLES
from funnelsim.scenario.schema import Scenario

FORMAT = 1  # results-folder layout version; a folder with a higher one comes from a newer funnelsim
KINDS = ("run", "compare", "sweep")
REQUIRED = {"run": ("summary.csv",), "compare": ("comparison.csv",), "sweep": ("sweep.csv",)}


class FolderError(ValueError):
    """A folder given to chart/report/export is not a results folder this funnelsim can read."""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


@dataclass
class ResultsFolder:
    """A results folder on disk: its kind (run, compare, sweep) and manifest, with tables read on demand."""

    path: Path
    manifest: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "run"))

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def warnings(self) -> list[str]:
        """The manifest's warnings as sentences (strings, or objects with a message)."""
        found = self.manifest.get("warnings") or []
        out = []
        for item in found if isinstance(found, list) else [found]:
            if isinstance(item, dict):
                out.append(str(item.get("message") or item.get("text") or json.dumps(item)))
            else:
                out.append(str(item))
        return out

    def has(self, file: str) -> bool:
        return (self.path / file).is_file()

    def table(self, file: str) -> pd.DataFrame:
        """One table of the folder (CSV or Parquet); a missing or unreadable file is a FolderError."""
        path = self.path / file
        if not path.is_file():
            raise FolderError(f"{self.path}: {file} is missing; re-run the command that wrote this folder")
        try:
            return pd.read_csv(path) if file.endswith(".csv") else pd.read_parquet(path)
        except Exception as error:  # a truncated or foreign file
            raise FolderError(f"{path}: cannot be read as a table ({type(error).__name__}: {error})") from None

    def optional(self, file: str) -> pd.DataFrame | None:
        return self.table(file) if self.has(file) else None

    def scenario(self, entry: dict[str, Any] | None = None) -> Any:
        """The resolved scenario of the manifest (or of one entry), or None when it does not load."""
        data = (entry or self.manifest).get("scenario")
        if not isinstance(data, dict):
            return None
        try:
            return Scenario.model_validate(data)
        except Exception:
            return None

    def run_data(self, prefix: str = "") -> Any:
        """The run charts' input (charts.RunData) from the files of a run folder."""
        from funnelsim.report.charts import RunData  # matplotlib, only when charts are drawn

        scenario = self.scenario()
        return RunData(
            name=self.name,
            summary=self.table(f"{prefix}summary.csv"),
            scenario=scenario,
            timeseries=self.optional("timeseries.parquet"),
            tables={name: t for name in TABLES if (t := self.optional(f"{name}.parquet")) is not None},
            warnings=self.warnings,
        )


def open_folder(path: Path | str) -> ResultsFolder:
    """Open a results folder, or raise FolderError saying what is wrong with it."""
    path = Path(path)
    if not path.is_dir():
        raise FolderError(f"{path}: no such folder; expected a results folder written by funnelsim run/compare/sweep")
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise FolderError(
            f"{path}: not a funnelsim results folder (no manifest.json); expected the folder written by "
            "funnelsim run, compare or sweep, e.g. results/baseline"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FolderError(f"{manifest_path}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or "versions" not in manifest:
        raise FolderError(f"{manifest_path}: not a funnelsim manifest (no 'versions' field)")
    written_by = str((manifest.get("versions") or {}).get("funnelsim", "0"))
    layout = manifest.get("format", FORMAT)
    if _version(written_by) > _version(__version__) or (isinstance(layout, int) and layout > FORMAT):
        raise FolderError(
            f"{path}: written by funnelsim {written_by} (results format {layout}), newer than this funnelsim "
            f"{__version__} (format {FORMAT}); upgrade funnelsim to read it"
        )
    folder = ResultsFolder(path, manifest)
    if folder.kind not in KINDS:
        raise FolderError(f"{manifest_path}: kind {folder.kind!r}; expected one of {', '.join(KINDS)}")
    for file in [*REQUIRED[folder.kind], *manifest.get("files", [])]:
        if not folder.has(file):
            raise FolderError(f"{path}: {file} is missing (the manifest lists it); re-run the command")
    return folder
