"""Queue disciplines one by one, the registry, and the README's discipline of one's own."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from funnelsim import NO_LEAD, LeadView, load_scenario, simulate
from funnelsim.model.queues import DISCIPLINES, make_discipline
from funnelsim.scenario.loader import ScenarioError

README = Path(__file__).parents[1] / "README.md"

LEADS = LeadView(
    sal_at=[0.0, 1.0, 2.0, 3.0],
    fit=[0.2, 0.9, 0.5, 0.9],
    channel=[0, 1, 0, 1],
    channel_names=("web", "paid_search"),
    sla_hours=1.5,
)


def drain(name: str, pushes: list[tuple[int, bool]], now: float) -> list[int]:
    queue = make_discipline(name, LEADS)
    for lead, first in pushes:
        queue.push(lead, first)
    assert len(queue) == len(pushes)
    order = []
    while (lead := queue.pop(now)) != NO_LEAD:
        order.append(lead)
    assert len(queue) == 0
    return order


FIRSTS = [(0, True), (1, True), (2, True), (3, True)]


def test_fifo_hands_out_leads_in_the_order_they_fell_due():
    assert drain("fifo", FIRSTS, now=4.0) == [0, 1, 2, 3]


def test_lifo_hands_out_the_newest_lead_first():
    assert drain("lifo", FIRSTS, now=4.0) == [3, 2, 1, 0]


def test_score_hands_out_the_best_fit_first_and_breaks_ties_by_arrival():
    assert drain("score", FIRSTS, now=4.0) == [1, 3, 2, 0]


def test_sla_serves_first_contacts_inside_the_sla_before_breached_ones_and_follow_ups():
    # at 3.0 with a 1.5 h SLA, leads 0 and 1 (SAL at 0 and 1) are past it; 2 and 3 are inside
    assert drain("sla", FIRSTS, now=3.0) == [2, 3, 0, 1]
    # a follow-up never counts as inside the SLA
    assert drain("sla", [(3, False), (2, True)], now=2.5) == [2, 3]


def test_an_empty_queue_hands_out_no_lead():
    for name in ("fifo", "lifo", "score", "sla"):
        assert make_discipline(name, LEADS).pop(0.0) == NO_LEAD


def test_an_unknown_discipline_is_refused_with_the_known_names():
    with pytest.raises(ScenarioError, match=r"sales\.queue: expected one of fifo, lifo, score, sla"):
        load_scenario("baseline", ["sales.queue=random"])


def readme_discipline_example() -> str:
    text = README.read_text()
    start = text.index("### A queue discipline of your own")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)  # type: ignore[union-attr]


def test_the_readmes_own_discipline_registers_runs_and_changes_who_is_called_first():
    code = readme_discipline_example()
    readme_run = 'result = run(load_scenario("baseline", ["sales.queue=paid_newest_first"]), reps=4)'
    assert readme_run in code
    short_run = 'result = run(load_scenario("baseline", ["sales.queue=paid_newest_first", "horizon=60d"]), reps=2)'
    code = code.replace(readme_run, short_run)
    namespace: dict = {}
    try:
        exec(compile(code, "README.md", "exec"), namespace)
        result = namespace["result"]
        assert result.failed.empty and len(result.replications) == 2
        mine = simulate(load_scenario("baseline", ["sales.queue=paid_newest_first", "horizon=60d"]), 1)
        fifo = simulate(load_scenario("baseline", ["horizon=60d"]), 1)
    finally:
        DISCIPLINES.pop("paid_newest_first", None)
    paid = mine.channel_names.index("paid_search")

    def paid_wait(records) -> float:
        leads = records.leads
        called = ~np.isnan(leads["first_contact_at"]) & (leads["channel"] == paid)
        return float(np.median(leads["first_contact_at"][called] - leads["sal_at"][called]))

    # same arrivals (common random numbers); paid leads jump the queue, so they wait less
    np.testing.assert_array_equal(mine.leads["sal_at"], fifo.leads["sal_at"])
    assert paid_wait(mine) < 0.8 * paid_wait(fifo)
