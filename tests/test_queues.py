"""Queue disciplines one by one, the registry, and the README's discipline of one's own."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from funnelsim import NO_LEAD, LeadView, load_scenario, simulate
from funnelsim.model.queues import DISCIPLINES, make_discipline, register_discipline
from funnelsim.scenario.loader import ScenarioError
from funnelsim.scenario.schema import QUEUE_DISCIPLINES

from .conftest import make_scenario

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


def steps(name: str, script: list[tuple[str, int, bool] | tuple[str, float]]) -> list[tuple[int, int]]:
    """Run pushes ("push", lead, first_attempt) and pops ("pop", now); (lead handed out, length after) per pop."""
    queue = make_discipline(name, LEADS)
    out = []
    for step in script:
        if step[0] == "push":
            queue.push(int(step[1]), bool(step[2]))  # type: ignore[misc]
        else:
            out.append((queue.pop(float(step[1])), len(queue)))
    return out


INTERLEAVED: list[tuple[str, int, bool] | tuple[str, float]] = [
    ("push", 0, True), ("push", 1, True), ("pop", 1.0), ("push", 2, True), ("push", 0, False),
    ("pop", 2.0), ("pop", 2.0), ("push", 3, True), ("pop", 3.0), ("pop", 3.0), ("pop", 3.0),
]  # fmt: skip


def test_fifo_interleaved_keeps_the_order_of_falling_due_follow_ups_included():
    assert steps("fifo", INTERLEAVED) == [(0, 1), (1, 2), (2, 1), (0, 1), (3, 0), (NO_LEAD, 0)]


def test_lifo_interleaved_always_takes_the_lead_pushed_last():
    assert steps("lifo", INTERLEAVED) == [(1, 1), (0, 2), (2, 1), (3, 1), (0, 0), (NO_LEAD, 0)]


def test_score_interleaved_takes_the_best_fit_waiting_and_ties_by_push_order():
    # fits: lead 0 0.2, 1 0.9, 2 0.5, 3 0.9
    assert steps("score", INTERLEAVED) == [(1, 1), (2, 2), (0, 1), (3, 1), (0, 0), (NO_LEAD, 0)]
    # two leads of equal fit: the one pushed first, whichever lead number it has
    assert drain("score", [(3, True), (1, True)], now=0.0) == [3, 1]
    assert drain("score", [(1, False), (3, True)], now=0.0) == [1, 3]


def test_sla_deadline_is_inclusive_and_a_breached_first_contact_joins_the_rest_behind_earlier_ones():
    # lead 0 (SAL at 0, SLA 1.5 h): still inside at exactly 1.5
    assert drain("sla", [(3, False), (0, True)], now=1.5) == [0, 3]
    # just past it, it is breached; it joins the breached line behind the follow-up already waiting
    assert drain("sla", [(3, False), (0, True)], now=1.5 + 1e-9) == [3, 0]
    # inside the SLA the line keeps push order (the desk pushes MQLs in SAL order, which makes it
    # earliest deadline first); it does not re-sort: lead 3 (deadline 4.5) pushed before 2 (3.5)
    assert drain("sla", [(3, True), (2, True)], now=3.0) == [3, 2]


def test_sla_length_counts_leads_inside_and_past_the_sla():
    queue = make_discipline("sla", LEADS)
    queue.push(0, True)
    queue.push(1, False)
    queue.push(2, True)
    assert len(queue) == 3
    assert queue.pop(10.0) == 1  # lead 0 and 2 move to the breached line behind follow-up 1
    assert len(queue) == 2
    assert [queue.pop(10.0), queue.pop(10.0), queue.pop(10.0)] == [0, 2, NO_LEAD]


@pytest.mark.parametrize("name", sorted(DISCIPLINES))
def test_every_registered_discipline_hands_out_each_push_once_and_counts_what_waits(name: str):
    rng = np.random.default_rng(5)
    big = LeadView(
        sal_at=list(np.arange(50, dtype=float)), fit=list(rng.random(50)), channel=[i % 2 for i in range(50)],
        channel_names=("web", "paid_search"), sla_hours=3.0,
    )  # fmt: skip
    queue = make_discipline(name, big)
    pushed, handed = [], []
    for t in range(50):
        queue.push(t, True)
        pushed.append(t)
        if t % 3 == 2:
            queue.push(t - 2, False)  # a follow-up of an earlier lead
            pushed.append(t - 2)
        if t % 2:
            handed.append(queue.pop(float(t)))
        assert len(queue) == len(pushed) - len(handed)
    while (lead := queue.pop(60.0)) != NO_LEAD:
        handed.append(lead)
    assert sorted(handed) == sorted(pushed) and len(queue) == 0


def test_a_registered_discipline_is_selectable_by_name_with_its_docstring_as_description():
    @register_discipline("lowest_fit_first")
    class LowestFitFirst:
        """Worst-fit lead first, for a test."""

        def __init__(self, leads: LeadView) -> None:
            self.fit, self.waiting = leads.fit, []

        def push(self, lead: int, first_attempt: bool) -> None:
            self.waiting.append(lead)

        def pop(self, now: float) -> int:
            if not self.waiting:
                return NO_LEAD
            lead = min(self.waiting, key=lambda i: self.fit[i])
            self.waiting.remove(lead)
            return lead

        def __len__(self) -> int:
            return len(self.waiting)

    try:
        assert QUEUE_DISCIPLINES["lowest_fit_first"] == "Worst-fit lead first, for a test."
        assert drain("lowest_fit_first", FIRSTS, now=0.0) == [0, 2, 1, 3]
        assert load_scenario("baseline", ["sales.queue=lowest_fit_first"]).sales.queue == "lowest_fit_first"
    finally:
        DISCIPLINES.pop("lowest_fit_first", None)
        QUEUE_DISCIPLINES.pop("lowest_fit_first", None)


def test_an_empty_queue_hands_out_no_lead():
    for name in DISCIPLINES:
        queue = make_discipline(name, LEADS)
        assert queue.pop(0.0) == NO_LEAD and len(queue) == 0


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


# --- in a whole replication: each discipline checked at every pick ---------------------

BUSY_DESK = {
    "horizon": "60d",
    "channels": {"web": {"leads_per_week": 100, "fit": {"uniform": {"low": 0, "high": 1}}}},
    "sales": {"sdr": {"count": 1, "handle_time": {"exponential": {"mean": "1.5h"}}}, "sla": "2h"},
}


def picks(discipline: str):
    """For each first contact: the chosen lead and the leads that were waiting at that instant."""
    records = simulate(make_scenario(**BUSY_DESK | {"sales": BUSY_DESK["sales"] | {"queue": discipline}}), 11)
    sal, contact, fit = records.leads["sal_at"], records.leads["first_contact_at"], records.leads["fit"]
    for lead in np.argsort(contact):
        t = contact[lead]
        if np.isnan(t):
            break
        waiting = np.flatnonzero((sal <= t) & ((contact > t) | np.isnan(contact)))
        if len(waiting):
            yield lead, waiting, t, sal, fit


@pytest.mark.parametrize(
    ("discipline", "check"),
    [
        ("fifo", lambda lead, waiting, t, sal, fit: sal[lead] <= sal[waiting].min()),
        ("lifo", lambda lead, waiting, t, sal, fit: sal[lead] >= sal[waiting].max()),
        ("score", lambda lead, waiting, t, sal, fit: fit[lead] >= fit[waiting].max()),
    ],
)
def test_queue_discipline_picks_the_right_lead(discipline, check):
    checked = 0
    for lead, waiting, t, sal, fit in picks(discipline):
        assert check(lead, waiting, t, sal, fit), f"{discipline} picked lead {lead} at t={t:.3f}"
        checked += 1
    assert checked > 200  # the queue was busy enough for the check to mean something


def test_sla_discipline_serves_leads_inside_the_sla_first():
    checked = 0
    for lead, waiting, t, sal, _ in picks("sla"):
        inside = waiting[sal[waiting] + 2.0 >= t]
        if len(inside):
            assert sal[lead] + 2.0 >= t, f"breached lead chosen at t={t:.3f} while {len(inside)} were inside the SLA"
            assert sal[lead] <= sal[inside].min()  # earliest deadline among those inside
            checked += 1
    assert checked > 100


def test_sla_queue_beats_fifo_on_sla_attainment_under_load():
    def attained(queue):
        records = simulate(make_scenario(**BUSY_DESK | {"sales": BUSY_DESK["sales"] | {"queue": queue}}), 11)
        delay = records.leads["first_contact_at"] - records.leads["sal_at"]
        return np.count_nonzero(delay <= 2.0) / np.count_nonzero(~np.isnan(records.leads["sal_at"]))

    assert attained("sla") > attained("fifo") + 0.05


def test_round_robin_gives_lead_k_to_rep_k_mod_n():
    records = simulate(make_scenario(sales={"sdr": {"count": 3}, "routing": "round_robin"}), 2)
    order = np.argsort(records.leads["sal_at"], kind="stable")
    assert np.array_equal(records.leads["sdr"][order], np.arange(len(order)) % 3)


def test_pooled_routing_answers_faster_than_round_robin():
    def mean_wait(routing):
        scenario = make_scenario(
            channels={"web": {"leads_per_week": 400}},
            sales={"sdr": {"count": 3, "handle_time": {"exponential": {"mean": "1h"}}}, "routing": routing},
        )
        records = simulate(scenario, 9)
        return np.nanmean(records.leads["first_contact_at"] - records.leads["sal_at"])

    assert mean_wait("pooled") < 0.7 * mean_wait("round_robin")


def test_changing_the_sales_policy_keeps_the_arrivals():
    base = make_scenario(**BUSY_DESK)
    lifo = make_scenario(**BUSY_DESK | {"sales": BUSY_DESK["sales"] | {"queue": "lifo"}})
    a, b = simulate(base, 7).leads, simulate(lifo, 7).leads
    assert np.array_equal(a["arrival_at"], b["arrival_at"])
    assert np.array_equal(a["fit"], b["fit"])
    assert not np.array_equal(a["first_contact_at"], b["first_contact_at"], equal_nan=True)
