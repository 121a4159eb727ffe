"""The desk as SimPy processes gives the legacy callback desk's per-lead records, bit for bit.

Checked on every cell of the matrix in tests/desk_matrix.py, three seeds each, and on every
bundled and validation scenario.
"""

from __future__ import annotations

from dataclasses import fields
from importlib import resources

import numpy as np
import pytest

import funnelsim.model.simulate as simulate_module
from funnelsim import load_scenario
from tests import legacy_desk
from tests.desk_matrix import DESK_COLUMNS, SEEDS, desk_records, variant_scenario, variants

LEGACY_FIELDS = [f.name for f in fields(legacy_desk.SalesLeads)]


def legacy_desk_factory(leads, *, channel_names, **settings):
    """The legacy desk behind the new desk's constructor."""
    inputs = legacy_desk.SalesLeads(**{name: getattr(leads, name) for name in LEGACY_FIELDS})
    return legacy_desk.SalesDesk(inputs, **settings)


def records_of_both(monkeypatch, scenario, seed):
    with monkeypatch.context() as patch:
        patch.setattr(simulate_module, "SalesDesk", legacy_desk_factory)
        legacy = desk_records(scenario, seed)
    return legacy, desk_records(scenario, seed)


def assert_same(legacy, new):
    for name in DESK_COLUMNS:
        np.testing.assert_array_equal(new[name], legacy[name], err_msg=name)


@pytest.mark.parametrize("cell", variants(), ids="-".join)
def test_the_process_desk_matches_the_legacy_desk(monkeypatch, cell):
    scenario = variant_scenario(cell)
    for seed in SEEDS:
        legacy, new = records_of_both(monkeypatch, scenario, seed)
        assert np.count_nonzero(~np.isnan(new["first_contact_at"])) > 50  # the desk did work
        assert_same(legacy, new)


BUNDLED = sorted(
    [p.name[:-5] for p in resources.files("funnelsim.bundled").iterdir() if p.name.endswith(".yaml")]
    + [f"validation/{p.name[:-5]}" for p in resources.files("funnelsim.bundled.validation").iterdir()
       if p.name.endswith(".yaml")]
)  # fmt: skip


@pytest.mark.parametrize("name", BUNDLED)
def test_the_process_desk_matches_the_legacy_desk_on_bundled_scenarios(monkeypatch, name):
    scenario = load_scenario(name, ["horizon=120d", "warmup=10d"])
    assert_same(*records_of_both(monkeypatch, scenario, 7))
