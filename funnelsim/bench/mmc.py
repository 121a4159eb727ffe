"""The M/M/c queue run by each contender: bare SimPy's ceiling, a hand-written SimPy model, Ciw, funnelsim.

Every contender runs the same queue (Poisson arrivals, exponential service, c servers) so the
customers per second compare like with like; funnelsim runs it as an ordinary scenario file.
"""

from __future__ import annotations

import gc
import importlib.util
import random
import statistics
import time
from dataclasses import dataclass

import numpy as np
import simpy

from funnelsim.bench.config import BenchConfig
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK


def ceiling_events_per_second(events: int) -> float:
    """Bare SimPy: one process yielding `env.timeout` events back to back."""

    def ticker(env: simpy.Environment, n: int):
        timeout = env.timeout
        for _ in range(n):
            yield timeout(1.0)

    gc.collect()
    started = time.perf_counter()
    env = simpy.Environment()
    env.process(ticker(env, events))
    env.run()
    return events / (time.perf_counter() - started)


@dataclass
class QueueRun:
    """One timed run of the M/M/c queue by one contender."""

    customers: int
    seconds: float
    mean_wait_hours: float

    @property
    def per_second(self) -> float:
        return self.customers / self.seconds


def mmc_rates(config: BenchConfig) -> tuple[float, float, float]:
    """(arrival rate per hour, service rate per hour, horizon in hours for the customers)."""
    service_rate = 1.0 / config.mmc_mean_service_hours
    arrival_rate = config.mmc_load * config.mmc_servers * service_rate
    return arrival_rate, service_rate, config.mmc_customers / arrival_rate


def warmup_customers(config: BenchConfig) -> int:
    """The first 1% of customers start an empty queue; their waits are left out of the means."""
    return config.mmc_customers // 100


def simpy_mmc(config: BenchConfig, seed: int) -> QueueRun:
    """The plain hand-written SimPy model: a source process, one process per customer, a Resource."""
    arrival_rate, service_rate, _ = mmc_rates(config)
    gc.collect()
    started = time.perf_counter()
    rng = random.Random(seed)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=config.mmc_servers)
    waits: list[float] = []

    def customer(env: simpy.Environment):
        arrived = env.now
        with desk.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(service_rate))

    def source(env: simpy.Environment):
        for _ in range(config.mmc_customers):
            yield env.timeout(rng.expovariate(arrival_rate))
            env.process(customer(env))

    env.process(source(env))
    env.run()
    seconds = time.perf_counter() - started
    return QueueRun(len(waits), seconds, statistics.fmean(waits[warmup_customers(config) :]))


def ciw_available() -> bool:
    return importlib.util.find_spec("ciw") is not None


def ciw_mmc(config: BenchConfig, seed: int) -> QueueRun:
    """Ciw's own M/M/c network, run until the customers have completed service."""
    import ciw  # the optional bench extra

    arrival_rate, service_rate, horizon = mmc_rates(config)
    gc.collect()
    started = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=arrival_rate)],
        service_distributions=[ciw.dists.Exponential(rate=service_rate)],
        number_of_servers=[config.mmc_servers],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(config.mmc_customers, method="Complete")
    records = sim.get_all_records()
    seconds = time.perf_counter() - started
    warm = horizon / 100
    waits = [r.waiting_time for r in records if r.arrival_date >= warm]
    return QueueRun(len(records), seconds, statistics.fmean(waits))


def mmc_scenario(config: BenchConfig) -> Scenario:
    """The same queue as an ordinary funnelsim scenario: every lead an MQL at arrival, the SAL
    queue the only active stage (one attempt that always reaches, no decay, no patience, 24/7
    reps, nothing qualifies, no trials)."""
    arrival_rate, _, horizon = mmc_rates(config)
    return load_scenario(
        {
            "name": "bench-mmc",
            "description": f"M/M/{config.mmc_servers} at load {config.mmc_load} as a funnel",
            "start": "2026-01-05",
            "horizon": f"{horizon!r}h",
            "warmup": f"{horizon / 100!r}h",
            "channels": {"web": {"leads_per_week": arrival_rate * HOURS_PER_WEEK}},
            "nurture": {"touches": [], "mql": {"engagement_min": 0, "fit_min": 0}},
            "self_serve": {"trial": 0},
            "sales": {
                "sdr": {
                    "count": config.mmc_servers,
                    "calendar": "always",
                    "attempts": ["0h"],
                    "reach": 1,
                    "handle_time": {"exponential": {"mean": f"{config.mmc_mean_service_hours!r}h"}},
                },
                "decay": "none",
                "patience": None,
                "qualify": 0,
            },
        }
    )


def funnelsim_mmc(scenario: Scenario, seed: int) -> QueueRun:
    """One replication of the M/M/c scenario; the wait is response delay (MQL to first contact)."""
    gc.collect()
    started = time.perf_counter()
    records = simulate(scenario, seed)
    seconds = time.perf_counter() - started
    leads = records.leads
    contacted = ~np.isnan(leads["first_contact_at"])
    counted = contacted & (leads["sal_at"] >= scenario.warmup)
    wait = leads["first_contact_at"][counted] - leads["sal_at"][counted]
    return QueueRun(int(contacted.sum()), seconds, float(wait.mean()))
