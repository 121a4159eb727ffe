"""The sales desk's per-lead records are pinned, bit for bit, by a frozen fixture.

The desk as SimPy processes replaced a callback engine after giving its per-lead records bit
for bit on every cell of tests/desk_matrix.py (three seeds each) and on every bundled and
validation scenario (commit "The sales desk as SimPy processes ..."). The fixture keeps that
guard without the old code: a digest of the nine desk columns per cell and seed.
"""

from __future__ import annotations

import json

import pytest

from funnelsim import load_scenario
from tests.desk_fixture import BUNDLED_OVERRIDES, BUNDLED_SEED, FIXTURE, bundled_names, describe
from tests.desk_matrix import SEEDS, desk_records, variant_scenario, variants

EXPECTED = json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("cell", variants(), ids="-".join)
def test_the_desk_gives_the_pinned_records_on_every_cell_of_the_matrix(cell):
    scenario = variant_scenario(cell)
    for seed in SEEDS:
        got = describe(desk_records(scenario, seed))
        assert got["called"] > 50  # the desk did work
        assert got == EXPECTED[f"{'-'.join(cell)}@{seed}"]


@pytest.mark.parametrize("name", bundled_names())
def test_the_desk_gives_the_pinned_records_on_bundled_scenarios(name):
    scenario = load_scenario(name, BUNDLED_OVERRIDES)
    assert describe(desk_records(scenario, BUNDLED_SEED)) == EXPECTED[f"{name}@{BUNDLED_SEED}"]


def test_the_fixture_catches_one_changed_lead():
    records = desk_records(variant_scenario(variants()[0]), SEEDS[0])
    records["attempts"] = records["attempts"].copy()
    records["attempts"][10] += 1
    assert describe(records)["sha256"] != EXPECTED[f"{'-'.join(variants()[0])}@{SEEDS[0]}"]["sha256"]
