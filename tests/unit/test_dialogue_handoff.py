"""Handoff to a human, takeover, hand-back (resuming without asking twice), and events a phase cannot take."""

from __future__ import annotations

import re

import pytest

from dialogue.actions import RequestHuman, ScheduleCallback, ScoreUpdate, StopSpeaking
from dialogue.events import (
    AgentText,
    BargeIn,
    CallAnswered,
    CustomerText,
    HandBack,
    HandoffTimeout,
    IllegalEvent,
    Silence,
    Takeover,
)
from dialogue.policy import DEFAULT_HANDOFF_APOLOGY
from tests.unit.dialogue_fixtures import Call, ended, of_type, said_nodes, says

pytestmark = pytest.mark.unit

LANGS = ("en", "zh")
AGENT_ASKS = {
    "en": {"need": "And does anyone rely on you?", "budget": "What sort of budget do you have for this?"},
    "zh": {"need": "家里是不是主要靠您的收入？", "budget": "您这边预算大概多少？"},
}


def at_q_need(language: str, **policy: object) -> Call:
    call = Call(language, **policy)
    call.start()
    call.walk("yes", "need_story")
    return call


@pytest.mark.parametrize("language", LANGS)
def test_asking_for_a_person_requests_an_agent(language: str) -> None:
    call = at_q_need(language)
    actions = call.say("want_human")
    assert said_nodes(actions) == ["handoff"]
    (request,) = of_type(actions, RequestHuman)
    assert request == RequestHuman("customer_asked", 30.0)
    assert call.engine.state.phase == "awaiting_agent"


@pytest.mark.parametrize("language", LANGS)
def test_no_agent_in_time_apologise_schedule_a_callback_and_carry_on(language: str) -> None:
    call = at_q_need(language)
    call.say("want_human")
    actions = call.send(HandoffTimeout(60.0))
    apology, question = says(actions)
    assert (apology.text, apology.node_id) == (DEFAULT_HANDOFF_APOLOGY[language], "campaign:handoff_apology")
    assert of_type(actions, ScheduleCallback) == [ScheduleCallback(None, "handoff_timeout")]
    assert (question.node_id, question.kind) == ("q_need", "ask")
    assert call.engine.state.phase == "active"
    assert said_nodes(call.say("yes")) == ["q_provider"]
    assert ended(call.say("goodbye")) == "handoff"


def test_a_hot_lead_is_handed_to_an_agent_before_the_next_question() -> None:
    call = Call("en", handoff_score_threshold=60)
    call.start()
    call.walk("interested", "need_story")
    actions = call.say("yes")  # need confirmed: 35 + 10 + 20 = 65
    assert said_nodes(actions) == ["handoff"]
    assert of_type(actions, RequestHuman) == [RequestHuman("score", 30.0)]
    assert call.last_score().score >= 60
    resumed = call.send(HandoffTimeout(60.0))
    assert said_nodes(resumed)[-1] == "q_provider"  # the need question was answered: not asked again
    call.say("no")
    assert not of_type(call.say("amount"), RequestHuman)  # once per call


def test_while_waiting_the_robot_stays_quiet_but_removal_is_honoured() -> None:
    call = at_q_need("en")
    call.say("want_human")
    assert not says(call.say("interested"))
    assert call.send(Silence(8.0, 50.0)) == []
    assert of_type(call.send(BargeIn(51.0)), StopSpeaking)
    actions = call.say("remove_me")
    assert ended(actions) == "do_not_call"


@pytest.mark.parametrize("language", LANGS)
def test_takeover_silences_the_robot_and_hand_back_skips_what_the_agent_asked(language: str) -> None:
    call = at_q_need(language)
    call.say("want_human")
    assert call.send(Takeover("agent-7", 40.0)) == [StopSpeaking()]
    assert call.engine.state.taken_over
    assert call.send(AgentText(AGENT_ASKS[language]["need"], 41.0)) == []
    assert not says(call.say("yes"))
    call.send(AgentText(AGENT_ASKS[language]["budget"], 50.0))
    under_agent = call.say("amount")
    assert not says(under_agent)
    assert of_type(under_agent, ScoreUpdate)  # scoring goes on under the agent
    assert {s.value for s in call.engine.state.answered} == {"need", "budget"}
    actions = call.send(HandBack("agent-7", 70.0))
    assert said_nodes(actions) == ["q_provider"]
    assert not call.engine.state.taken_over
    assert said_nodes(call.say("no")) == ["q_authority"]  # budget: answered to the agent


def test_an_agent_may_take_over_unasked_and_hand_back_to_the_same_question() -> None:
    call = at_q_need("en")
    call.send(Takeover("agent-2", 30.0))
    call.send(AgentText("Hi Dana, I'm Chris, a colleague of Sam's.", 31.0))
    call.say("oh hi Chris")
    assert said_nodes(call.send(HandBack("agent-2", 40.0))) == ["q_need"]


def test_an_answer_under_the_agent_with_no_question_asked_answers_nothing() -> None:
    call = at_q_need("en")
    call.send(Takeover("agent-2", 30.0))
    call.say("yes")
    assert call.engine.state.answered == frozenset()


def test_a_late_handoff_timeout_after_the_agent_took_the_call_is_ignored() -> None:
    call = at_q_need("en")
    call.say("want_human")
    call.send(Takeover("agent-7", 40.0))
    assert call.send(HandoffTimeout(41.0)) == []
    assert call.engine.state.taken_over


@pytest.mark.parametrize(
    ("setup", "event", "expected"),
    [
        ("active", HandBack("agent-1", 9.0), "got HandBack"),
        ("active", AgentText("hello", 9.0), "got AgentText"),
        ("active", HandoffTimeout(9.0), "got HandoffTimeout"),
        (
            "idle",
            CustomerText("hello", 0.9, 1.0),
            "expected CallAnswered, MachineDetected (phase idle), got CustomerText",
        ),
        ("taken_over", Takeover("agent-2", 9.0), "got Takeover"),
        ("ended", Takeover("agent-2", 9.0), "got Takeover"),
        ("ended", CallAnswered(9.0), "got CallAnswered"),
    ],
)
def test_an_event_the_phase_cannot_take_raises(setup: str, event: object, expected: str) -> None:
    call = Call("en")
    if setup != "idle":
        call.start()
    if setup == "taken_over":
        call.send(Takeover("agent-1", 5.0))
    if setup == "ended":
        call.say("goodbye")
    with pytest.raises(IllegalEvent, match=re.escape(expected)) as raised:
        call.send(event)  # type: ignore[arg-type]
    assert str(raised.value).startswith("expected ")


def test_starting_twice_raises() -> None:
    call = Call("en")
    call.start()
    with pytest.raises(IllegalEvent, match=r"expected .*\(phase active\), got CallAnswered"):
        call.start()


def test_call_answered_through_handle_is_start() -> None:
    a, b = Call("en", seed=3), Call("en", seed=3)
    assert a.start() == b.send(CallAnswered(0.0))
