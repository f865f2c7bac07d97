"""The pacing simulation: determinism, bookkeeping, and the acceptance (abandon <= 3 % at three loads).

These are correctness tests of a deterministic simulation with fixed seeds (virtual time), not timing tests.
The three loads are the benchmark's (bench/pacing.py): one team of 20 agents, handoff demand a quarter,
three quarters and nearly twice what the agents could serve if dialing were unpaced.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import bench.pacing
from bench.pacing import LEVELS
from dialer.simulation import SimConfig, SimReport, simulate

pytestmark = pytest.mark.unit

SMALL = SimConfig(leads=1500, agents=8, handoff_share=0.15)
ABANDON_LIMIT_PCT = 3.0


@pytest.fixture(scope="module")
def paced() -> dict[str, SimReport]:
    return {name: simulate(config) for name, config in LEVELS.items()}


def test_same_seed_same_campaign() -> None:
    assert simulate(SMALL) == simulate(SMALL)


def test_another_seed_another_campaign() -> None:
    assert simulate(SMALL) != simulate(replace(SMALL, seed=1))


def test_the_books_balance() -> None:
    r = simulate(SMALL)
    assert r.calls_dialed == SMALL.leads
    assert r.leads_not_dialed == 0
    assert 0 < r.handoffs_requested < r.calls_answered < r.calls_dialed
    assert r.handoffs_answered + r.handoffs_abandoned == r.handoffs_requested
    assert r.handoff_wait_s["p50"] <= r.handoff_wait_s["p95"] <= r.handoff_wait_s["max"] <= SMALL.max_handoff_wait_s
    assert r.max_calls_in_progress <= SMALL.max_concurrent_calls
    assert r.campaign_duration_s > 0
    assert r.dials_per_agent_hour > 0


@pytest.mark.parametrize("level", list(LEVELS))
def test_pacing_keeps_abandoned_handoffs_within_the_limit(paced: dict[str, SimReport], level: str) -> None:
    r = paced[level]
    assert r.calls_dialed == LEVELS[level].leads  # the whole list is worked through, not just starved
    assert r.handoffs_requested > 100  # enough handoffs for the share to mean something
    assert r.abandon_pct <= ABANDON_LIMIT_PCT
    assert 0 < r.agent_occupancy_pct < 100


def test_agents_are_busier_when_more_handoffs_are_asked_for(paced: dict[str, SimReport]) -> None:
    assert paced["light"].agent_occupancy_pct < paced["nominal"].agent_occupancy_pct
    assert paced["nominal"].agent_occupancy_pct > 40


def test_the_naive_dialer_abandons_far_more_at_heavy_load(paced: dict[str, SimReport]) -> None:
    naive = simulate(replace(LEVELS["heavy"], paced=False))
    assert naive.abandon_pct > 10 * max(paced["heavy"].abandon_pct, 1.0)
    assert naive.agent_occupancy_pct > paced["heavy"].agent_occupancy_pct  # busy agents, lost customers
    assert naive.campaign_duration_s < paced["heavy"].campaign_duration_s  # pacing trades time for quality


def test_pacing_holds_for_a_small_team_and_other_seeds() -> None:
    for seed in range(3):
        r = simulate(replace(SMALL, seed=seed, agents=4, leads=2000))
        assert r.abandon_pct <= ABANDON_LIMIT_PCT, seed
        assert r.leads_not_dialed == 0, seed


def test_a_tiny_team_with_heavy_demand_still_finishes_the_list() -> None:
    r = simulate(replace(SMALL, agents=2, handoff_share=0.3, leads=300))  # the model's pipeline is below 1 call
    assert (r.calls_dialed, r.leads_not_dialed) == (300, 0)
    assert r.abandon_pct <= ABANDON_LIMIT_PCT


def test_without_agents_nothing_is_dialed_and_the_run_stops() -> None:
    r = simulate(replace(SMALL, agents=0, max_duration_s=600.0))
    assert (r.calls_dialed, r.leads_not_dialed, r.campaign_duration_s) == (0, SMALL.leads, 600.0)


def test_agents_on_breaks_are_handled() -> None:
    r = simulate(replace(SMALL, break_every_s=600.0, break_s=300.0))
    assert r.leads_not_dialed == 0
    assert r.abandon_pct <= ABANDON_LIMIT_PCT


def test_the_benchmark_reports_every_level_with_its_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.pacing, "LEVELS", {name: replace(c, leads=300) for name, c in LEVELS.items()})
    out = bench.pacing.main(seed=0)
    assert out["seed"] == 0
    assert set(out["levels"]) == {"light", "nominal", "heavy"}
    for figures in out["levels"].values():
        for report in (figures, figures["baseline"]):
            assert {"abandon_pct", "agent_occupancy_pct", "handoff_wait_s"} <= set(report)
            assert {"p50", "p95"} <= set(report["handoff_wait_s"])
