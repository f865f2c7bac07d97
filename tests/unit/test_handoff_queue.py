"""The agent roster (states, breaks, time in state, occupancy) and the handoff queue (FIFO, pairing, outcomes)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dialer.handoff import (
    AgentRoster,
    AgentState,
    Assignment,
    HandoffQueue,
    HandoffStateError,
    QueueFullPolicy,
    percentile,
)

pytestmark = pytest.mark.unit


def roster_with(*agent_ids: str, at_s: float = 0.0) -> AgentRoster:
    roster = AgentRoster()
    for i, agent_id in enumerate(agent_ids):
        roster.set_available(agent_id, at_s + i)
    return roster


# -- the roster --


def test_an_agent_logs_in_takes_a_call_wraps_up_and_is_available_again() -> None:
    roster = roster_with("a")
    assert roster.state("a") is AgentState.AVAILABLE
    roster.start_call("a", "c1", 10.0)
    assert (roster.state("a"), roster.call_of("a")) == (AgentState.ON_CALL, "c1")
    roster.end_call("a", 70.0, wrap_up_s=30.0)
    assert roster.state("a") is AgentState.WRAP_UP
    assert roster.call_of("a") is None
    assert roster.next_wrap_up_end_s() == 100.0
    assert roster.tick(99.0) == []
    assert roster.tick(100.0) == ["a"]
    assert roster.state("a") is AgentState.AVAILABLE
    assert roster.next_wrap_up_end_s() is None


def test_no_wrap_up_means_available_at_once() -> None:
    roster = roster_with("a")
    roster.start_call("a", "c1", 1.0)
    roster.end_call("a", 2.0, wrap_up_s=0.0)
    assert roster.state("a") is AgentState.AVAILABLE


def test_wrap_up_can_be_ended_early_and_breaks_start_from_available_or_wrap_up() -> None:
    roster = roster_with("a", "b")
    roster.start_call("a", "c1", 2.0)
    roster.end_call("a", 3.0, wrap_up_s=60.0)
    roster.set_available("a", 10.0)
    assert roster.state("a") is AgentState.AVAILABLE
    roster.set_offline("a", 11.0)
    roster.start_call("b", "c2", 12.0)
    roster.end_call("b", 13.0, wrap_up_s=60.0)
    roster.set_offline("b", 14.0)
    assert roster.count(AgentState.OFFLINE) == 2
    assert roster.logged_in == 0
    roster.set_available("a", 20.0)  # back from the break
    assert roster.available_agents() == ["a"]


@pytest.mark.parametrize(
    ("prepare", "action", "message"),
    [
        ("available", lambda r: r.set_available("a", 5.0), "expected offline or wrap_up, got available"),
        ("on_call", lambda r: r.set_available("a", 5.0), "expected offline or wrap_up, got on_call"),
        ("on_call", lambda r: r.set_offline("a", 5.0), "expected available or wrap_up, got on_call"),
        ("on_call", lambda r: r.start_call("a", "c9", 5.0), "expected available, got on_call"),
        ("available", lambda r: r.end_call("a", 5.0, 1.0), "expected on_call, got available"),
        ("offline", lambda r: r.start_call("a", "c9", 5.0), "expected available, got offline"),
        ("offline", lambda r: r.set_offline("a", 5.0), "expected available or wrap_up, got offline"),
        ("offline", lambda r: r.request_offline("a", 5.0), "expected logged in, got offline"),
        ("wrap_up", lambda r: r.end_call("a", 5.0, 1.0), "expected on_call, got wrap_up"),
        ("available", lambda r: r.start_call("zz", "c9", 5.0), "expected a known agent, got an unknown agent id"),
        ("available", lambda r: r.tick(-1.0), "expected now_s >= 0"),
    ],
)
def test_illegal_agent_transitions_say_what_was_expected(
    prepare: str, action: Callable[[AgentRoster], object], message: str
) -> None:
    roster = roster_with("a")
    if prepare in ("on_call", "wrap_up"):
        roster.start_call("a", "c1", 0.0)
    if prepare == "wrap_up":
        roster.end_call("a", 0.0, 60.0)
    if prepare == "offline":
        roster.set_offline("a", 0.0)
    with pytest.raises(HandoffStateError, match=message):
        action(roster)


def test_negative_wrap_up_is_refused() -> None:
    roster = roster_with("a")
    roster.start_call("a", "c1", 0.0)
    with pytest.raises(ValueError, match="expected wrap_up_s >= 0, got -1"):
        roster.end_call("a", 1.0, -1.0)


def test_a_break_asked_for_during_a_call_starts_when_the_wrap_up_ends() -> None:
    roster = roster_with("a")
    roster.start_call("a", "c1", 0.0)
    roster.request_offline("a", 10.0)
    assert roster.state("a") is AgentState.ON_CALL
    roster.end_call("a", 20.0, wrap_up_s=5.0)
    assert roster.tick(25.0) == []  # went offline, not available
    assert roster.state("a") is AgentState.OFFLINE
    roster.set_available("a", 100.0)
    roster.start_call("a", "c2", 100.0)
    roster.end_call("a", 110.0, wrap_up_s=5.0)
    assert roster.tick(115.0) == ["a"]  # the pending break was used up by the first call


def test_an_available_agent_asking_for_a_break_goes_at_once() -> None:
    roster = roster_with("a")
    roster.request_offline("a", 1.0)
    assert roster.state("a") is AgentState.OFFLINE


def test_longest_idle_agent_comes_first() -> None:
    roster = roster_with("a", "b", "c")  # idle since 0, 1, 2
    roster.start_call("a", "c1", 5.0)
    roster.end_call("a", 6.0, wrap_up_s=0.0)  # a: idle since 6
    assert roster.available_agents() == ["b", "c", "a"]


def test_time_in_state_and_occupancy() -> None:
    roster = roster_with("a", "b")  # a from 0 s, b from 1 s
    roster.start_call("a", "c1", 10.0)
    roster.end_call("a", 70.0, wrap_up_s=20.0)
    roster.tick(90.0)
    roster.set_offline("b", 91.0)  # b idle 1..91
    a = roster.times("a", 100.0)
    assert (a.idle_s, a.talk_s, a.wrap_up_s, a.logged_in_s) == (20.0, 60.0, 20.0, 100.0)
    b = roster.times("b", 100.0)
    assert (b.idle_s, b.logged_in_s) == (90.0, 90.0)  # offline time does not count
    assert roster.occupancy(100.0) == pytest.approx(80.0 / 190.0)


def test_occupancy_counts_the_current_state_up_to_now() -> None:
    roster = roster_with("a")
    roster.start_call("a", "c1", 0.0)
    assert roster.occupancy(50.0) == 1.0
    assert AgentRoster().occupancy(50.0) == 0.0


# -- the queue --


def test_longest_waiting_call_goes_to_longest_idle_agent() -> None:
    roster = roster_with("a", "b")
    roster.start_call("a", "c0", 2.0)
    roster.start_call("b", "c00", 2.0)
    queue = HandoffQueue()
    for i, call_id in enumerate(("c1", "c2", "c3")):
        assert queue.request(call_id, 10.0 + i)
    assert queue.assign(13.0, roster) == []
    assert queue.waiting() == ["c1", "c2", "c3"]
    roster.end_call("b", 20.0, wrap_up_s=0.0)  # b idle first
    roster.end_call("a", 21.0, wrap_up_s=0.0)
    pairs = queue.assign(22.0, roster)
    assert pairs == [Assignment("c1", "b"), Assignment("c2", "a")]
    assert [(p.call_id, p.agent_id) for p in pairs] == [("c1", "b"), ("c2", "a")]
    assert roster.call_of("b") == "c1"
    assert roster.state("a") is AgentState.ON_CALL
    assert queue.waiting() == ["c3"]
    assert queue.answered_waits_s() == [12.0, 11.0]
    assert queue.oldest_wait_s(22.0) == 10.0


def test_assign_ends_due_wrap_ups_first() -> None:
    roster = roster_with("a")
    roster.start_call("a", "c0", 0.0)
    roster.end_call("a", 10.0, wrap_up_s=30.0)
    queue = HandoffQueue()
    queue.request("c1", 15.0)
    assert queue.assign(39.0, roster) == []
    assert queue.assign(40.0, roster) == [("c1", "a")]


def test_an_answered_handoff_is_counted_with_its_wait() -> None:
    roster = roster_with("a")
    queue = HandoffQueue()
    queue.request("c1", 5.0)
    queue.assign(5.0, roster)
    assert (queue.stats.requested, queue.stats.answered, queue.stats.max_wait_s) == (1, 1, 0.0)
    assert len(queue) == 0
    assert "c1" not in queue


def test_abandoned_withdrawn_and_answered_outcomes() -> None:
    roster = roster_with("a")
    roster.start_call("a", "c0", 0.0)
    queue = HandoffQueue()
    for i in range(4):
        queue.request(f"c{i + 1}", float(i))
    assert queue.cancel("c1", 20.0, abandoned=True) == 20.0
    assert queue.cancel("c2", 21.0, abandoned=False) == 20.0
    roster.end_call("a", 30.0, wrap_up_s=0.0)
    queue.assign(30.0, roster)
    s = queue.stats
    assert (s.requested, s.answered, s.abandoned, s.withdrawn, s.rejected) == (4, 1, 1, 1, 0)
    assert s.resolved == 2  # withdrawn is no outcome for the customer; c4 still waits
    assert s.abandon_rate == 0.5
    assert s.max_wait_s == 28.0
    assert queue.waiting() == ["c4"]


def test_a_full_queue_rejects_new_requests_and_counts_them_as_abandoned() -> None:
    queue = HandoffQueue(cap=2)
    assert queue.full_policy is QueueFullPolicy.REJECT_NEW
    assert queue.request("c1", 0.0)
    assert queue.request("c2", 1.0)
    assert not queue.request("c3", 2.0)
    assert queue.waiting() == ["c1", "c2"]  # the callers already waiting keep their place
    assert (queue.stats.requested, queue.stats.rejected) == (3, 1)
    assert queue.stats.abandon_rate == 1.0
    queue.cancel("c1", 3.0, abandoned=False)
    assert queue.request("c3", 4.0)  # room again


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda q: q.request("c1", 2.0), "expected a call not already waiting, got a waiting call"),
        (lambda q: q.cancel("c9", 2.0, abandoned=True), "expected a waiting call, got a call not waiting"),
        (lambda q: q.request("c2", 0.5), r"expected now_s >= 1.0, got 0.5"),
    ],
)
def test_illegal_queue_operations_say_what_was_expected(action: Callable[[HandoffQueue], object], message: str) -> None:
    queue = HandoffQueue()
    queue.request("c1", 1.0)
    with pytest.raises(HandoffStateError, match=message):
        action(queue)


def test_a_call_may_ask_again_after_its_first_handoff_ended() -> None:
    queue = HandoffQueue()
    queue.request("c1", 0.0)
    queue.cancel("c1", 1.0, abandoned=False)
    assert queue.request("c1", 2.0)


def test_queue_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="expected cap >= 1, got 0"):
        HandoffQueue(cap=0)


def test_wait_percentiles_use_nearest_rank() -> None:
    roster = roster_with(*[f"a{i}" for i in range(20)])
    queue = HandoffQueue()
    for i in range(20):
        queue.request(f"c{i}", float(i))
    queue.assign(20.0, roster)  # waits 20, 19, ..., 1
    assert queue.wait_percentile_s(0.5) == 10.0
    assert queue.wait_percentile_s(0.95) == 19.0
    assert queue.wait_percentile_s(1.0) == 20.0
    assert HandoffQueue().wait_percentile_s(0.95) == 0.0
    assert percentile([3.0], 0.0) == 3.0
    with pytest.raises(ValueError, match="expected 0 <= q <= 1"):
        percentile([1.0], 1.5)


def test_an_agent_taking_a_waiting_call_answers_it_with_its_wait() -> None:
    queue = HandoffQueue()
    queue.request("c1", 10.0)
    queue.request("c2", 11.0)
    assert queue.take("c2", 15.0) == 4.0
    assert queue.waiting() == ["c1"]
    assert (queue.stats.answered, queue.answered_waits_s()) == (1, [4.0])
    with pytest.raises(HandoffStateError, match="expected a waiting call"):
        queue.take("c2", 16.0)
