"""The frozen guard of the sales desk: a digest of its per-lead records on the matrix.

`python -m tests.desk_fixture` rewrites tests/fixtures/desk_records.json; do that only for a
change of behaviour you mean, and say so in the commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from funnelsim import load_scenario
from funnelsim.model.records import REASONS
from funnelsim.scenario.loader import bundled_scenarios
from tests.desk_matrix import DESK_COLUMNS, SEEDS, desk_records, variant_scenario, variants

FIXTURE = Path(__file__).parent / "fixtures" / "desk_records.json"
BUNDLED_OVERRIDES = ["horizon=120d", "warmup=10d"]
BUNDLED_SEED = 7


def bundled_names() -> list[str]:
    """Every bundled and validation scenario, found as the loader finds them (installed or not)."""
    return sorted(bundled_scenarios())


def describe(records: dict[str, np.ndarray]) -> dict[str, object]:
    """A digest of the desk's columns, and readable counts that say what moved when it changes."""
    digest = hashlib.sha256()
    for name in DESK_COLUMNS:
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(records[name]).tobytes())
    reasons = np.bincount(records["reason"], minlength=len(REASONS))
    return {
        "sha256": digest.hexdigest(),
        "leads": len(records["reason"]),
        "called": int(np.count_nonzero(~np.isnan(records["first_contact_at"]))),
        "attempts": int(records["attempts"].sum()),
        "reasons": {REASONS[code]: int(n) for code, n in enumerate(reasons) if n},
    }


def current() -> dict[str, dict[str, object]]:
    expected: dict[str, dict[str, object]] = {}
    for cell in variants():
        scenario = variant_scenario(cell)
        for seed in SEEDS:
            expected[f"{'-'.join(cell)}@{seed}"] = describe(desk_records(scenario, seed))
    for name in bundled_names():
        scenario = load_scenario(name, BUNDLED_OVERRIDES)
        expected[f"{name}@{BUNDLED_SEED}"] = describe(desk_records(scenario, BUNDLED_SEED))
    return expected


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
