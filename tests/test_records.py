"""The per-lead records: reason codes with their outcomes as data, the lead columns, the frame."""

from __future__ import annotations

import numpy as np
import pytest

from funnelsim.model.records import LEAD_COLUMNS, NO_REP, OUTCOME_OF_REASON, LeadColumns, Outcome, Reason
from funnelsim.model.simulate import simulate

from .conftest import make_scenario


def test_reason_codes_are_dense_and_each_has_its_outcome_as_data():
    assert [int(r) for r in Reason] == list(range(len(Reason)))
    assert OUTCOME_OF_REASON.tolist() == [int(r.outcome) for r in Reason]
    assert Reason.NOT_ENGAGED.outcome is Outcome.RECYCLED  # the one reason handed back to marketing
    assert {r.label for r in Reason if r.outcome is Outcome.CUSTOMER} == {"self_serve", "assisted", "assisted_trial"}
    assert {r.label for r in Reason if r.outcome is Outcome.IN_PROGRESS} == {
        "in_nurture", "in_trial", "in_sal", "in_opportunity"
    }  # fmt: skip


def test_empty_lead_columns_have_their_dtypes_and_markers_and_the_frame_keeps_its_layout():
    leads = LeadColumns.empty(3, arrival_at=np.array([1.0, 2.0, 3.0]))
    assert {name: str(leads[name].dtype) for name in leads} == LEAD_COLUMNS
    assert leads.sdr.tolist() == [NO_REP] * 3 and np.isnan(leads.mql_at).all() and leads.attempts.tolist() == [0] * 3
    with pytest.raises(KeyError):
        leads["no_such_column"]
    records = simulate(make_scenario(horizon="3d", warmup="0d"), 1)
    frame = records.leads_frame(replication=4)
    expected = ["replication", "lead_id", "channel"] + [c for c in LEAD_COLUMNS if c not in ("channel", "reason")]
    assert list(frame.columns) == expected + ["outcome", "reason"]
    assert list(frame["reason"].cat.categories) == [r.label for r in Reason]
