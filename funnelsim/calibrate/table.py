"""Reading a CRM lead table: column mapping, timestamp parsing, checks that name row and column.

Every problem is a `CalibrationError` whose message names the file, the row and the column,
so the CLI prints it as one paragraph and exits 2 before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import yaml

TIME_FIELDS = ("created_at", "mql_at", "first_touch_at", "sql_at", "won_at", "lost_at")
FIELDS: dict[str, str] = {
    "lead_id": "lead id (unique)",
    "created_at": "when the lead was created",
    "mql_at": "when it became marketing-qualified",
    "channel": "acquisition channel",
    "first_touch_at": "first sales touch (call, email by a rep)",
    "sql_at": "when it became sales-qualified",
    "won_at": "deal won",
    "lost_at": "lead or deal lost",
    "deal_mrr": "deal value (monthly, or one-off with --deal-kind one-off)",
    "rep_id": "SDR who worked the lead",
    "ae_id": "account executive who closed the deal",
    "fit": "ICP fit or lead score in [0, 1]",
}
UNASSIGNED = "unassigned"


class CalibrationError(ValueError):
    """A problem with the user's data or options; the message is for the user."""


@dataclass
class LeadTable:
    """The mapped leads: one row per lead, times as UTC timestamps (NaT when not reached)."""

    frame: pd.DataFrame
    fields: dict[str, str]  # field -> "file:column" it came from
    timezone: str
    until: pd.Timestamp  # data observed up to here (UTC)
    date_only: dict[str, bool]
    notes: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    @property
    def entry(self) -> str:
        """The stage the table starts at: created when given, else MQL."""
        return "created_at" if self.has("created_at") else "mql_at"


def parse_mapping(items: Sequence[str]) -> dict[str, str | None]:
    """`field=column` pairs (an empty column unmaps a field), or a YAML file of them."""
    mapping: dict[str, str | None] = {}
    for item in items:
        if "=" not in item:
            path = Path(item)
            if not path.is_file():
                raise CalibrationError(f"--map {item}: expected field=column (e.g. --map lead_id=mql_id) or a file")
            try:
                loaded = yaml.safe_load(path.read_text())
            except yaml.YAMLError as error:
                raise CalibrationError(f"{path}: not a YAML mapping of field: column ({error})") from None
            if not isinstance(loaded, dict):
                raise CalibrationError(f"{path}: expected a mapping of field: column")
            pairs: list[tuple[str, str | None]] = [(str(k), None if v is None else str(v)) for k, v in loaded.items()]
        else:
            field_name, _, column = item.partition("=")
            pairs = [(field_name.strip(), column.strip() or None)]
        for key, value in pairs:
            if key not in FIELDS:
                raise CalibrationError(f"--map {key}: unknown field; expected one of {', '.join(FIELDS)}")
            mapping[key] = value
    return mapping


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalibrationError(f"--timezone {name}: expected an IANA time zone such as 'Europe/Berlin'") from None
    return name


def read_file(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise CalibrationError(f"{path}: the file is empty (expected a header row and one row per lead)") from None
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise CalibrationError(
            f"{path}: cannot read it as {'parquet' if path.suffix == '.parquet' else 'CSV'}: {error}"
        ) from None
    if frame.empty:
        raise CalibrationError(f"{path}: no rows (expected one row per lead after the header)")
    return frame


def _row(position: int, path: Path) -> str:
    """A row as the user sees it: the CSV line (header is line 1), or the 1-based parquet row."""
    return f"row {position + 1} (line {position + 2})" if path.suffix.lower() != ".parquet" else f"row {position + 1}"


def parse_times(raw: pd.Series, path: Path, column: str, timezone: str) -> tuple[pd.Series, bool]:
    """Timestamps as UTC, and whether they are dates without a time of day.

    Naive values (and dates) are local in `timezone`; a date whose midnight does not exist
    (daylight saving starting at 00:00) moves to the first valid instant.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        aware = raw.dt.tz is not None
        local = (raw.dt.tz_convert(timezone).dt.tz_localize(None) if aware else raw).dropna()
        date_only = bool(len(local)) and bool((local == local.dt.normalize()).all())
        values = raw if aware else raw.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
        return values.dt.tz_convert("UTC"), date_only
    text = raw.astype("string").str.strip()
    present = text.notna() & (text != "")
    text = text.where(present)
    if not present.any():
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]"), False
    date_only = bool(text[present].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all())
    offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False)
    if offset.any() and not offset[present].all():
        bad = int(np.flatnonzero((present & ~offset).to_numpy())[0])
        raise CalibrationError(
            f"{path}: {_row(bad, path)}, column {column}: {text.iloc[bad]!r} has no UTC offset but other rows do; "
            "write every timestamp of a column the same way"
        )
    if offset.any():
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    else:
        naive = pd.to_datetime(text, format="ISO8601", errors="coerce")
        parsed = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    broken = present & parsed.isna()
    if broken.any():
        bad = int(np.flatnonzero(broken.to_numpy())[0])
        raise CalibrationError(
            f"{path}: {_row(bad, path)}, column {column}: cannot read {text.iloc[bad]!r} as a timestamp "
            f"({int(broken.sum())} such row(s); expected e.g. 2026-01-05 or 2026-01-05 09:30:00, optionally +01:00)"
        )
    return parsed, date_only


def load_leads(
    leads_path: Path,
    mapping: Mapping[str, str | None],
    deals_path: Path | None = None,
    timezone: str = "UTC",
    until: str | dt.date | None = None,
    drop_invalid: bool = False,
    since: str | dt.date | None = None,
) -> LeadTable:
    """Read, map, parse and check the lead table (and the deals table joined on the lead id)."""
    check_timezone(timezone)
    leads = read_file(leads_path)
    deals = read_file(deals_path) if deals_path is not None else None
    sources: list[tuple[Path, pd.DataFrame]] = [(Path(leads_path), leads)]
    if deals is not None and deals_path is not None:
        sources.append((Path(deals_path), deals))
    columns: dict[str, tuple[Path, str]] = {}
    for name in FIELDS:
        wanted = mapping.get(name, name)
        if wanted is None:
            continue
        found = next(((p, wanted) for p, table in sources if wanted in table.columns), None)
        if found is None:
            if name in mapping:
                files = " or ".join(f"{p} (columns: {', '.join(map(str, t.columns))})" for p, t in sources)
                raise CalibrationError(f"--map {name}={wanted}: no column {wanted!r} in {files}")
            continue
        columns[name] = found
    for required in ("lead_id", "channel"):
        if required not in columns:
            raise CalibrationError(
                f"{leads_path}: no {FIELDS[required]} column; map one with --map {required}=COLUMN "
                f"(columns: {', '.join(map(str, leads.columns))})"
            )
    if "created_at" not in columns and "mql_at" not in columns:
        raise CalibrationError(
            f"{leads_path}: no created or MQL timestamp; map one with --map created_at=COLUMN or --map mql_at=COLUMN"
        )
    id_column = columns["lead_id"][1]

    tables = []
    date_only: dict[str, bool] = {}
    for path, table in sources:
        mine = {name: col for name, (p, col) in columns.items() if p == path and name != "lead_id"}
        if id_column not in table.columns:
            raise CalibrationError(f"{path}: no lead id column {id_column!r} to join on")
        ids = table[id_column].astype("string").str.strip()
        missing = ids.isna() | (ids == "")
        if missing.any():
            bad = int(np.flatnonzero(missing.to_numpy())[0])
            raise CalibrationError(f"{path}: {_row(bad, path)}, column {id_column}: the lead id is empty")
        duplicated = ids.duplicated()
        if duplicated.any():
            bad = int(np.flatnonzero(duplicated.to_numpy())[0])
            first = int(np.flatnonzero((ids == ids.iloc[bad]).to_numpy())[0])
            raise CalibrationError(
                f"{path}: {_row(bad, path)}, column {id_column}: duplicate lead id {ids.iloc[bad]!r} "
                f"(first at {_row(first, path)}; {int(duplicated.sum())} duplicate(s))"
            )
        out = pd.DataFrame({"lead_id": ids.to_numpy()})
        out["_row"] = np.arange(len(table))
        for name, col in mine.items():
            if name in TIME_FIELDS:
                parsed, date_only[name] = parse_times(table[col], path, col, timezone)
                out[name] = parsed.to_numpy()
            elif name in ("deal_mrr", "fit"):
                out[name] = _numbers(table[col], path, col, name)
            else:
                text = table[col].astype("string").str.strip()
                out[name] = text.mask(text == "", pd.NA).to_numpy()
        tables.append((path, out))

    frame = tables[0][1].rename(columns={"_row": "_lead_row"})
    if len(tables) > 1:
        deals_frame = tables[1][1].rename(columns={"_row": "_deal_row"})
        unknown = ~deals_frame["lead_id"].isin(frame["lead_id"])
        if unknown.any():
            bad = int(np.flatnonzero(unknown.to_numpy())[0])
            lead = deals_frame["lead_id"].iloc[bad]
            raise CalibrationError(
                f"{deals_path}: {_row(bad, Path(str(deals_path)))}, column {id_column}: lead id {lead!r} "
                f"is not in {leads_path}"
            )
        frame = frame.merge(deals_frame, on="lead_id", how="left")

    notes: list[str] = []
    if "channel" in frame:
        empty = frame["channel"].isna()
        if empty.any():
            notes.append(f"{int(empty.sum())} lead(s) have no channel; they form the channel {UNASSIGNED!r}")
            frame["channel"] = frame["channel"].fillna(UNASSIGNED)
    entry = "created_at" if "created_at" in frame else "mql_at"
    missing_entry = frame[entry].isna()
    if missing_entry.any():
        bad = int(frame.loc[missing_entry, "_lead_row"].iloc[0])
        raise CalibrationError(
            f"{leads_path}: {_row(bad, leads_path)}, column {columns[entry][1]}: empty {FIELDS[entry]} "
            f"({int(missing_entry.sum())} such row(s)); every lead needs it"
        )
    frame = _check_order(frame, timezone, entry, columns, leads_path, deals_path, drop_invalid, notes)

    if since is not None:
        begin = _until(since, timezone, "--since")
        before = len(frame)
        frame = frame[frame[entry] >= begin].copy()
        notes.append(f"fitted from {since} ({timezone}): {before - len(frame)} lead(s) created earlier left out")
        if frame.empty:
            raise CalibrationError(f"--since {since}: no lead was created from then on")
    if until is not None:
        cutoff = _until(until, timezone)
        before = len(frame)
        frame = frame[frame[entry] < cutoff].copy()
        for name in TIME_FIELDS:
            if name in frame and name != entry:
                frame.loc[frame[name] >= cutoff, name] = pd.NaT
        notes.append(f"observed up to {until} ({timezone}): {before - len(frame)} lead(s) created later left out")
        if frame.empty:
            raise CalibrationError(f"--until {until}: no lead was created before it")
    else:
        stamps = [frame[name].max() for name in TIME_FIELDS if name in frame]
        cutoff = max(s for s in stamps if not pd.isna(s))
        if date_only.get(entry):
            cutoff = max(cutoff, frame[entry].max() + pd.Timedelta(days=1))
    fields = {name: f"{path.name}:{col}" for name, (path, col) in columns.items()}
    frame = frame.drop(columns=[c for c in ("_lead_row", "_deal_row") if c in frame]).reset_index(drop=True)
    return LeadTable(frame, fields, timezone, cutoff, date_only, notes)


def _numbers(raw: pd.Series, path: Path, column: str, name: str) -> np.ndarray:
    values = pd.to_numeric(raw, errors="coerce")
    text = raw.astype("string").str.strip()
    broken = values.isna() & text.notna() & (text != "")
    if broken.any():
        bad = int(np.flatnonzero(broken.to_numpy())[0])
        raise CalibrationError(
            f"{path}: {_row(bad, path)}, column {column}: cannot read {text.iloc[bad]!r} as a number"
        )
    if name == "fit" and ((values < 0) | (values > 1)).any():
        bad = int(np.flatnonzero(((values < 0) | (values > 1)).to_numpy())[0])
        raise CalibrationError(
            f"{path}: {_row(bad, path)}, column {column}: fit {values.iloc[bad]} is outside [0, 1] "
            "(rescale a score to 0-1 first)"
        )
    return values.to_numpy(dtype=np.float64)


def _local(moment: pd.Timestamp, timezone: str) -> str:
    return f"{moment.tz_convert(timezone):%Y-%m-%d %H:%M:%S}"


def _check_order(
    frame: pd.DataFrame,
    timezone: str,
    entry: str,
    columns: Mapping[str, tuple[Path, str]],
    leads_path: Path,
    deals_path: Path | None,
    drop_invalid: bool,
    notes: list[str],
) -> pd.DataFrame:
    """A stage before the lead's creation is a data error (or, with drop_invalid, a dropped row)."""
    bad_any = np.zeros(len(frame), dtype=bool)
    for name in TIME_FIELDS:
        if name == entry or name not in frame:
            continue
        early = (frame[name] < frame[entry]).to_numpy()
        if not early.any():
            continue
        i = int(np.flatnonzero(early)[0])
        path, column = columns[name]
        row_key = "_deal_row" if deals_path is not None and path == deals_path else "_lead_row"
        where = f"{path}: {_row(int(frame[row_key].iloc[i]), path)}, column {column}"
        message = (
            f"{where}: {FIELDS[name]} {_local(frame[name].iloc[i], timezone)} is before {FIELDS[entry]} "
            f"{_local(frame[entry].iloc[i], timezone)} "
            f"for lead {frame['lead_id'].iloc[i]!r} ({int(early.sum())} such row(s))"
        )
        if not drop_invalid:
            raise CalibrationError(message + "; fix the data or pass --drop-invalid to leave such leads out")
        notes.append("left out: " + message)
        bad_any |= early
    return frame[~bad_any].copy() if bad_any.any() else frame


def _until(value: str | dt.date, timezone: str, option: str = "--until") -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise CalibrationError(f"{option} {value}: expected a date such as 2018-03-01") from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(timezone)
    return stamp.tz_convert("UTC")
