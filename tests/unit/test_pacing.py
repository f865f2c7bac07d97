"""Queueing formulas against textbook values, the caps (token bucket), the estimates, and the pacer's reactions."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from dialer.handoff import AgentRoster, HandoffQueue
from dialer.pacing import (
    DialerLoad,
    Estimate,
    Pacer,
    PacerConfig,
    Priors,
    TokenBucket,
    abandon_share,
    erlang_b,
    erlang_c,
    max_handoff_rate_per_s,
    wait_tail,
)

pytestmark = pytest.mark.unit

# -- Erlang B and C --


@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (1, 1.0, 0.5),
        (2, 1.0, 0.2),  # (1/2) / (1 + 1 + 1/2)
        (10, 5.0, 0.01838),  # Erlang B tables: 10 lines, 5 erlangs -> 1.84 % blocked
        (0, 3.0, 1.0),
    ],
)
def test_erlang_b_textbook_values(servers: int, load: float, expected: float) -> None:
    assert erlang_b(servers, load) == pytest.approx(expected, abs=5e-6)


@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (1, 0.5, 0.5),  # M/M/1: P(wait) = rho
        (2, 1.0, 1 / 3),  # M/M/2: 2 rho^2 / (1 + rho), rho = 1/2
        (3, 2.0, 4 / 9),
        (11, 10.0, 0.6821),  # the classic call-centre example: 10 erlangs, 11 agents, 68.21 % wait
        (12, 10.0, 0.4494),
    ],
)
def test_erlang_c_textbook_values(servers: int, load: float, expected: float) -> None:
    assert erlang_c(servers, load) == pytest.approx(expected, abs=5e-5)


def test_erlang_c_edges() -> None:
    assert erlang_c(5, 0.0) == 0.0
    assert erlang_c(5, 5.0) == 1.0  # saturated: everybody waits
    assert erlang_c(0, 1.0) == 1.0
    with pytest.raises(ValueError, match="expected servers >= 0 and load >= 0"):
        erlang_b(-1, 1.0)


def test_wait_tail_of_mm1_is_rho_times_exp() -> None:
    # M/M/1, lambda = 0.5/s, service 1 s: P(W > t) = 0.5 * exp(-(1 - 0.5) t)
    assert wait_tail(1, 0.5, 1.0, 2.0) == pytest.approx(0.5 * math.exp(-1.0))


def test_service_level_of_the_classic_example() -> None:
    # 10 erlangs (100 calls in 30 min, 180 s each), 11 agents, 20 s: SL = 1 - 0.6821 * exp(-(11 - 10) * 20 / 180)
    sl = 1 - wait_tail(11, 100 / 1800, 180.0, 20.0)
    assert sl == pytest.approx(1 - 0.68212 * math.exp(-20 / 180), abs=1e-4)
    assert 1 - wait_tail(14, 100 / 1800, 180.0, 20.0) > 0.8 > 1 - wait_tail(12, 100 / 1800, 180.0, 20.0)


def test_abandon_share_of_patient_callers_is_the_wait_tail() -> None:
    args = (10, 0.03, 210.0)
    assert abandon_share(*args, give_up_s=20.0, mean_patience_s=None) == wait_tail(*args, 20.0)


def test_abandon_share_grows_with_load_and_impatience_and_shrinks_with_holding_longer() -> None:
    rates = [0.01, 0.02, 0.03, 0.04]
    shares = [abandon_share(10, r, 210.0, 20.0, 60.0) for r in rates]
    assert shares == sorted(shares)
    assert abandon_share(10, 0.03, 210.0, 20.0, 30.0) > abandon_share(10, 0.03, 210.0, 20.0, 60.0)
    assert abandon_share(10, 0.03, 210.0, 40.0, None) < abandon_share(10, 0.03, 210.0, 20.0, None)
    assert abandon_share(10, 10 / 210, 210.0, 20.0, 60.0) == 1.0  # saturated
    # impatient callers who wait must leave at least as often as after the give-up time alone
    assert abandon_share(10, 0.03, 210.0, 20.0, 60.0) > wait_tail(10, 0.03, 210.0, 20.0)


def test_max_handoff_rate_meets_the_target_share() -> None:
    rate = max_handoff_rate_per_s(10, 210.0, 20.0, 60.0, 0.02)
    assert abandon_share(10, rate, 210.0, 20.0, 60.0) == pytest.approx(0.02, rel=1e-6)
    assert 0 < rate * 210.0 < 10
    assert max_handoff_rate_per_s(20, 210.0, 20.0, 60.0, 0.02) > 2 * rate  # pooling: more agents, busier each
    assert max_handoff_rate_per_s(10, 210.0, 20.0, 60.0, 0.005) < rate
    assert max_handoff_rate_per_s(0, 210.0, 20.0, 60.0, 0.02) == 0.0


# -- caps and estimates --


def test_token_bucket_starts_full_refills_at_its_rate_and_caps_at_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=4.0, now_s=0.0)
    assert bucket.take(10, 0.0) == 4
    assert bucket.available(0.0) == 0
    assert bucket.available(0.49) == 0
    assert bucket.take(1, 0.5) == 1
    assert bucket.available(100.0) == 4


def test_token_bucket_rate_can_change_and_clock_must_not_go_back() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0, now_s=0.0)
    bucket.take(1, 0.0)
    bucket.set_rate(10.0, burst=5.0, now_s=0.5)  # half a token saved at the old rate
    assert bucket.available(0.9) == 4
    with pytest.raises(ValueError, match=r"expected now_s >= 0\.9, got 0\.1"):
        bucket.available(0.1)
    with pytest.raises(ValueError, match="expected rate_per_s >= 0 and burst >= 1"):
        TokenBucket(1.0, 0.5, 0.0)


def test_an_estimate_starts_at_its_prior_and_follows_the_data() -> None:
    est = Estimate(prior=0.3, prior_weight=20.0, min_alpha=0.02)
    assert est.value == 0.3
    est.observe(1.0)
    assert est.value == pytest.approx((20 * 0.3 + 1.0) / 21)  # a running mean with 20 pseudo-observations
    for _ in range(400):
        est.observe(0.6)
    assert est.value == pytest.approx(0.6, abs=1e-3)
    assert est.count == 401
    with pytest.raises(ValueError, match="expected prior_weight >= 0"):
        Estimate(0.3, min_alpha=0.0)


# -- the pacer --

PRIORS = Priors(
    answer_rate=0.5,
    ring_s=20.0,
    robot_s_to_handoff=60.0,
    robot_s_no_handoff=100.0,
    handoff_share=0.2,
    agent_talk_s=180.0,
    agent_wrap_up_s=30.0,
)


def pacer(**overrides: object) -> Pacer:
    settings: dict[str, object] = {"max_concurrent_calls": 1000, "calls_per_second": 100.0, "priors": PRIORS}
    settings.update(overrides)
    return Pacer(PacerConfig(**settings), now_s=0.0)  # type: ignore[arg-type]  # keyword overrides of the test


def load(agents: int = 10, **overrides: int) -> DialerLoad:
    values = {"calls_ringing": 0, "calls_with_robot": 0, "calls_in_progress": 0, "handoffs_waiting": 0}
    values.update(overrides)
    return DialerLoad(agents_logged_in=agents, **values)


def test_the_model_pipeline_follows_erlang_c_and_littles_law() -> None:
    p = pacer()
    d = p.decide(0.0, load(agents=10))
    handoffs_per_s = max_handoff_rate_per_s(10, 210.0, 20.0, 60.0, 0.02)
    assert d.dial_rate_per_s == pytest.approx(handoffs_per_s / (0.5 * 0.2))
    assert p.pipeline_s_per_dial() == pytest.approx(20.0 + 0.5 * (0.2 * 60.0 + 0.8 * 100.0))
    assert d.target_pipeline == pytest.approx(d.dial_rate_per_s * 66.0)
    assert (d.reason, d.target_abandon_share) == ("dial_rate", 0.02)


def test_dials_are_spread_at_the_model_rate() -> None:
    p = pacer(pace_burst_s=1.0)
    rate = p.decide(0.0, load()).dial_rate_per_s
    assert 0.1 < rate < 1.0
    dialed = 0
    for tick in range(1, 601):  # 60 s in steps of 0.1 s, well within the pipeline
        now_s = tick / 10
        for _ in range(p.allowed_new_calls(now_s, load(calls_ringing=dialed // 10))):
            p.on_dial(now_s)
            dialed += 1
    assert dialed == pytest.approx(1 + rate * 60, abs=1.5)  # the first dial at once, then one every 1/rate s


def test_the_pipeline_caps_the_calls_in_flight() -> None:
    p = pacer(pace_burst_s=1000.0)
    target = p.decide(0.0, load()).target_pipeline
    full = load(calls_ringing=int(target) // 2, calls_with_robot=int(target) - int(target) // 2)
    d = p.decide(500.0, full)
    assert (d.allowed, d.reason) == (0, "pipeline")
    d = p.decide(500.0, load(calls_ringing=int(target) - 3))
    assert (d.allowed, d.reason) == (3, "pipeline")


def test_a_pipeline_target_below_one_call_still_lets_one_call_through() -> None:
    p = pacer(priors=replace(PRIORS, handoff_share=0.9, agent_talk_s=1200.0))
    d = p.decide(0.0, load(agents=1))
    assert d.target_pipeline < 0.5
    assert (d.allowed, d.reason) == (1, "pipeline")
    p.on_dial(0.0)
    assert p.decide(1.0, load(agents=1, calls_ringing=1)).allowed == 0
    assert p.decide(1.0, load(agents=1)).reason == "dial_rate"  # the next call waits for the rate


def test_a_waiting_handoff_stops_dialing() -> None:
    d = pacer().decide(0.0, load(handoffs_waiting=1))
    assert (d.allowed, d.reason) == (0, "handoffs_waiting")


def test_no_agents_logged_in_means_no_dialing_while_handoffs_are_expected() -> None:
    d = pacer().decide(100.0, load(agents=0))
    assert (d.allowed, d.reason) == (0, "no_agents")


def test_a_robot_only_campaign_is_paced_by_the_caps_alone() -> None:
    p = pacer(handoffs_enabled=False, max_concurrent_calls=50, calls_per_second=10.0)
    d = p.decide(0.0, load(agents=0, handoffs_waiting=3, calls_in_progress=45))
    assert (d.allowed, d.reason) == (5, "max_concurrent")
    d = p.decide(0.0, load(agents=0, calls_in_progress=0))
    assert (d.allowed, d.reason, d.target_pipeline) == (10, "calls_per_second", math.inf)


def test_campaign_caps_bound_the_model() -> None:
    p = pacer(max_concurrent_calls=20, calls_per_second=2.0, pace_burst_s=1000.0)
    p.decide(0.0, load(agents=50))
    d = p.decide(100.0, load(agents=50, calls_in_progress=19))
    assert (d.allowed, d.reason) == (1, "max_concurrent")
    d = p.decide(100.0, load(agents=50, calls_in_progress=0))
    assert (d.allowed, d.reason) == (2, "calls_per_second")
    p.on_dial(100.0)
    p.on_dial(100.0)
    assert p.allowed_new_calls(100.0, load(agents=50)) == 0
    with pytest.raises(ValueError, match="expected a calls-per-second token, got none"):
        p.on_dial(100.0)


def test_more_agents_allow_more_calls() -> None:
    p = pacer()
    rates = [p.decide(0.0, load(agents=n)).dial_rate_per_s for n in (1, 5, 10, 40)]
    assert rates == sorted(rates)
    assert rates[0] > 0


def test_abandons_above_the_target_make_the_model_aim_lower() -> None:
    p = pacer()
    calm = p.decide(0.0, load(handoffs_resolved=200, handoffs_abandoned=2))
    worse = p.decide(0.0, load(handoffs_resolved=200, handoffs_abandoned=6))  # smoothed 2.4 %
    at_limit = p.decide(0.0, load(handoffs_resolved=200, handoffs_abandoned=20))
    assert calm.target_abandon_share == 0.02
    assert 0.005 < worse.target_abandon_share < 0.02
    assert at_limit.target_abandon_share == pytest.approx(0.25 * 0.02)
    assert calm.dial_rate_per_s > worse.dial_rate_per_s > at_limit.dial_rate_per_s > 0


def test_a_few_early_abandons_are_smoothed_toward_the_target() -> None:
    p = pacer()
    share = p.decide(0.0, load(handoffs_resolved=20, handoffs_abandoned=1)).target_abandon_share  # 5 % raw
    assert 0.005 < share < 0.02


def test_observations_move_the_estimates() -> None:
    p = pacer(prior_weight=0.0, min_alpha=1.0)  # the last observation is the estimate
    p.on_ring_end(8.0, answered=True)
    p.on_handoff_request(robot_s=30.0)
    p.on_robot_end(robot_s=50.0)
    p.on_agent_call_end(talk_s=100.0, wrap_up_s=20.0)
    assert (p.ring_s.value, p.answer_rate.value) == (8.0, 1.0)
    assert (p.robot_s_to_handoff.value, p.robot_s_no_handoff.value) == (30.0, 50.0)
    assert (p.handoff_share.value, p.agent_service_s.value) == (0.0, 120.0)
    d = p.decide(0.0, load())  # no handoffs expected: only the caps bind
    assert (d.allowed, d.reason, d.dial_rate_per_s) == (100, "calls_per_second", math.inf)


def test_a_load_snapshot_reads_the_roster_and_the_queue() -> None:
    roster = AgentRoster()
    roster.set_available("a", 0.0)
    roster.set_available("b", 0.0)
    roster.set_offline("b", 1.0)
    queue = HandoffQueue(cap=1)
    queue.request("c1", 1.0)
    queue.request("c2", 1.0)  # rejected
    snapshot = DialerLoad.of(roster, queue, calls_ringing=3, calls_with_robot=4, calls_in_progress=9)
    assert snapshot == DialerLoad(3, 4, 9, agents_logged_in=1, handoffs_waiting=1, handoffs_resolved=1,
                                  handoffs_abandoned=1)  # fmt: skip


@pytest.mark.parametrize(
    "settings",
    [
        {"max_concurrent_calls": 0, "calls_per_second": 1.0},
        {"max_concurrent_calls": 1, "calls_per_second": 0.0},
        {"max_concurrent_calls": 1, "calls_per_second": 1.0, "target_abandon_share": 0.03},
    ],
)
def test_config_is_checked(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="expected"):
        PacerConfig(**settings)  # type: ignore[arg-type]  # the parametrized settings
