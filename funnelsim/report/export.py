"""`funnelsim export DIR --xlsx`: a results folder's tables as one Excel workbook (openpyxl).

One sheet per table, numbers stored as numbers (shares as fractions shown in % format), and the
unit of each column in its header.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from funnelsim.report.folder import ResultsFolder, open_folder
from funnelsim.report.formatting import figure_info

MAX_ROWS = 200_000  # bigger tables (hourly time series, leads) stay in Parquet; the sheet says so
COLUMN_UNITS = {
    "t_hours": "h",
    "delay_upto_hours": "h",
    "sal_queue": "leads",
    "sdrs_busy": "SDRs",
    "open_opportunities": "deals",
    "mrr": "money",
    "day": "day",
    "months_since_purchase": "months",
    "seconds": "s",
    "sals": "leads",
    "sqls": "leads",
    "at_risk": "customers",
    "churned": "customers",
}


def _unit(column: str) -> str:
    if column in COLUMN_UNITS:
        return COLUMN_UNITS[column]
    info = figure_info(column)
    return info.unit if info.section != "Other" else ""


def _header(column: str, unit: str, currency: str) -> str:
    shown = {"money": currency, "%": "share, %"}.get(unit, unit)
    return f"{column} ({shown})" if shown else column


def _sheet_tables(folder: ResultsFolder) -> list[tuple[str, str]]:
    """(sheet name, file) for every table of the folder, in reading order."""
    if folder.kind == "run":
        files = ["summary.csv", "replications.parquet", "response_delays.parquet", "retention.parquet",
                 "mrr.parquet", "timeseries.parquet", "leads.parquet"]  # fmt: skip
        return [(f.split(".")[0], f) for f in files if folder.has(f)]
    main = "comparison.csv" if folder.kind == "compare" else "sweep.csv"
    out = [(main.split(".")[0], main)]
    entries = folder.manifest.get("variants") or folder.manifest.get("points") or []
    for i, entry in enumerate(entries):
        stem = entry.get("file_stem")
        if stem is not None and folder.has(f"summary-{stem}.csv"):
            out.append((f"summary {i + 1} {stem}"[:31], f"summary-{stem}.csv"))
    return out


def write_xlsx(path: Path | str, target: Path | str | None = None) -> Path:
    """Write the folder's tables to `target` (default: DIR/<name>.xlsx); returns the workbook path."""
    from openpyxl import Workbook  # untyped (pyproject: mypy overrides)
    from openpyxl.styles import Font

    folder = open_folder(path)
    currency = str(folder.manifest.get("currency") or (folder.manifest.get("scenario") or {}).get("currency") or "USD")
    out = Path(target) if target is not None else folder.path / "tables.xlsx"
    book = Workbook()
    book.remove(book.active)
    for sheet_name, file in _sheet_tables(folder):
        table = folder.table(file)
        sheet = book.create_sheet(sheet_name)
        if len(table) > MAX_ROWS:
            sheet.append([f"{file} has {len(table):,} rows, more than {MAX_ROWS:,}; read it from the Parquet file."])
            continue
        write_sheet(sheet, table, currency, per_row_unit="unit" in table.columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "B2"
    book.save(out)
    return out


def write_sheet(sheet: object, table: pd.DataFrame, currency: str, per_row_unit: bool = False) -> None:
    """A table into a sheet: header with units, numbers as numbers, NaN as empty cells."""
    if per_row_unit and "unit" in table.columns:
        table = table.assign(unit=table["unit"].replace({"money": currency}))
    units = [_unit(c) for c in table.columns]
    if per_row_unit:
        headers = [f"{c} (unit per row)" if c in ("mean", "ci_low", "ci_high", "std") else c for c in table.columns]
    else:
        headers = [_header(c, u, currency) for c, u in zip(table.columns, units)]
    sheet.append(headers)  # type: ignore[attr-defined]
    columns = list(table.columns)
    for record in table.itertuples(index=False):
        row: list[object] = []
        for value in record:
            if isinstance(value, (np.floating, float)):
                row.append(None if not math.isfinite(float(value)) else float(value))
            elif isinstance(value, (np.integer,)):
                row.append(int(value))
            elif isinstance(value, (np.bool_, bool)):
                row.append(bool(value))
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                row.append(None)
            else:
                row.append(value if isinstance(value, (int, str)) else str(value))
        sheet.append(row)  # type: ignore[attr-defined]
    # shares in % format, money with separators: the stored value stays the number in the CSV
    for j, unit in enumerate(units, start=1):
        fmt = {"%": "0.0%", "money": "#,##0"}.get(unit)
        if fmt and not per_row_unit:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):  # type: ignore[attr-defined]
                cell.number_format = fmt
    if per_row_unit and "unit" in columns:
        unit_col = columns.index("unit")
        for i, row_cells in enumerate(sheet.iter_rows(min_row=2), start=0):  # type: ignore[attr-defined]
            fmt = {"%": "0.0%", currency: "#,##0"}.get(str(table.iat[i, unit_col]))
            if fmt:
                for cell in row_cells:
                    if columns[cell.column - 1] in ("mean", "ci_low", "ci_high", "std"):
                        cell.number_format = fmt
