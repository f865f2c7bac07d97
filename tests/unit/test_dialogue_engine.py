"""Scripted dialogues through the engine, in English and Mandarin: the flow, every objection, the edge cases."""

from __future__ import annotations

import pytest

from dialogue.actions import (
    Book,
    EndCall,
    Listen,
    MarkDoNotCall,
    RequestHuman,
    Say,
    ScheduleCallback,
    ScoreUpdate,
    StopSpeaking,
)
from dialogue.events import BargeIn, Dtmf, MachineDetected, Silence, SpeechDone
from dialogue.policy import DEFAULT_AI_DISCLOSURE, DEFAULT_RECORDING_NOTICE
from tests.unit.dialogue_fixtures import SAY, Call, ended, listens, of_type, said_nodes, says

pytestmark = pytest.mark.unit

LANGS = ("en", "zh")
FLOW = ("discovery", "q_need", "q_provider", "q_budget", "q_authority", "q_timeline", "booking")


def at_q_need(language: str, **policy: object) -> Call:
    call = Call(language, **policy)
    call.start()
    call.walk("yes", "need_story")
    assert call.engine.state.node_id == "q_need"
    return call


# -- the opening and the main flow -------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_opening_greets_the_lead_with_disclosure_and_recording_notice(language: str) -> None:
    actions = Call(language).start()
    assert len(actions) == 2
    opening, listen = actions
    assert isinstance(opening, Say)
    assert isinstance(listen, Listen)
    assert (opening.node_id, opening.kind, opening.barge_in_allowed, opening.fixed) == ("opening", "ask", False, False)
    for part in ("Dana", DEFAULT_AI_DISCLOSURE[language], DEFAULT_RECORDING_NOTICE[language]):
        assert part in opening.text
    assert "{" not in opening.text


def test_the_campaign_switches_off_or_rewords_the_notices() -> None:
    (opening, _) = Call("en", ai_disclosure=False, recording_notice=False).start()
    assert isinstance(opening, Say)
    assert "automated" not in opening.text
    assert "recorded" not in opening.text
    assert "  " not in opening.text
    (opening, _) = Call("en", ai_disclosure_text="I'm a virtual agent.").start()
    assert isinstance(opening, Say)
    assert "I'm a virtual agent." in opening.text


@pytest.mark.parametrize("language", LANGS)
def test_a_qualified_lead_walks_the_flow_books_and_grades_a(language: str) -> None:
    call = Call(language)
    call.start()
    asked = []
    for what in ("yes", "need_story", "yes", "no", "amount", "yes", "soon"):
        actions = call.say(what)
        asked += said_nodes(actions)
        assert listens(actions)
    assert asked == list(FLOW)
    actions = call.say("booking_time")
    (book,) = of_type(actions, Book)
    assert isinstance(book, Book)
    assert (book.slot.start.day, book.slot.start.hour) == (11, 15)
    assert said_nodes(actions) == ["closing", "goodbye"]
    closing = says(actions)[0]
    assert "{" not in closing.text
    assert ("3:00 PM" if language == "en" else "下午3点") in closing.text
    assert ended(actions) == "booked"
    score = call.last_score()
    assert (score.grade, score.category) == ("A", "intent")
    assert {s.value for s in call.engine.state.answered} == {
        "need",
        "current_provider",
        "budget",
        "authority",
        "timeline",
    }
    assert call.engine.state.phase == "ended"


@pytest.mark.parametrize("language", LANGS)
def test_no_need_goes_to_the_follow_up_offer_then_ends(language: str) -> None:
    call = at_q_need(language)
    assert said_nodes(call.say("no")) == ["followup"]
    actions = call.say("yes")
    assert said_nodes(actions) == ["goodbye"]
    assert ended(actions) == "completed"
    assert call.last_score().grade == "D"


@pytest.mark.parametrize("language", LANGS)
def test_an_open_question_takes_any_answer(language: str) -> None:
    call = Call(language)
    call.start()
    call.say("yes")
    assert said_nodes(call.say("gibberish")) == ["q_need"]


# -- objections -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("objection", ["who_are_you", "how_got_number", "already_have_one"])
def test_an_objection_is_answered_then_the_question_is_asked_again(language: str, objection: str) -> None:
    call = at_q_need(language)
    actions = call.say(objection)
    lines = says(actions)
    assert [(s.node_id, s.kind) for s in lines] == [(f"obj_{objection}", "say"), ("q_need", "repeat")]
    assert listens(actions)
    assert "{" not in lines[0].text
    assert call.engine.state.node_id == "q_need"
    assert said_nodes(call.say("yes")) == ["q_provider"]


@pytest.mark.parametrize("language", LANGS)
def test_too_expensive_at_the_budget_question_takes_its_route_to_the_objection(language: str) -> None:
    call = at_q_need(language)
    call.walk("yes", "no")
    assert call.engine.state.node_id == "q_budget"
    actions = call.say("too_expensive")
    assert [(s.node_id, s.kind) for s in says(actions)] == [("obj_too_expensive", "ask")]
    actions = call.say("yes")
    assert [(s.node_id, s.kind) for s in says(actions)] == [("q_budget", "repeat")]
    assert "budget" not in {s.value for s in call.engine.state.answered}
    assert said_nodes(call.say("amount")) == ["q_authority"]


@pytest.mark.parametrize("language", LANGS)
def test_not_interested_gets_one_try_and_a_no_ends_the_call(language: str) -> None:
    call = at_q_need(language)
    assert said_nodes(call.say("not_interested")) == ["obj_not_interested"]
    actions = call.say("no")
    assert said_nodes(actions) == ["goodbye"]
    assert ended(actions) == "not_interested"
    assert call.last_score().grade == "D"


@pytest.mark.parametrize("language", LANGS)
def test_not_interested_twice_ends_the_call(language: str) -> None:
    call = at_q_need(language)
    call.say("not_interested")
    assert ended(call.say("not_interested")) == "not_interested"


@pytest.mark.parametrize("language", LANGS)
def test_not_interested_then_yes_goes_back_to_the_question(language: str) -> None:
    call = at_q_need(language)
    call.say("not_interested")
    assert [(s.node_id, s.kind) for s in says(call.say("yes"))] == [("q_need", "repeat")]


@pytest.mark.parametrize("language", LANGS)
def test_busy_now_offers_a_callback_and_schedules_the_time_named(language: str) -> None:
    call = Call(language)
    call.start()
    assert said_nodes(call.say("busy_now")) == ["obj_busy_now"]
    actions = call.say("callback_time")
    (cb,) = of_type(actions, ScheduleCallback)
    assert isinstance(cb, ScheduleCallback)
    assert cb.at is not None
    assert (cb.at.hour, cb.reason) == (15, "busy_now")
    assert said_nodes(actions) == ["goodbye"]
    assert ended(actions) == "callback"


@pytest.mark.parametrize("language", LANGS)
def test_no_to_the_opening_routes_to_the_busy_objection_and_no_again_resumes(language: str) -> None:
    call = Call(language)
    call.start()
    assert said_nodes(call.say("no")) == ["obj_busy_now"]
    assert [(s.node_id, s.kind) for s in says(call.say("no"))] == [("opening", "repeat")]


@pytest.mark.parametrize("language", LANGS)
def test_call_me_later_schedules_the_callback_and_says_goodbye(language: str) -> None:
    call = at_q_need(language)
    actions = call.say("call_me_later")
    (cb,) = of_type(actions, ScheduleCallback)
    assert isinstance(cb, ScheduleCallback)
    assert cb.at is not None
    assert (cb.at.day, cb.at.hour, cb.reason) == (11, 15, "call_me_later")
    assert ended(actions) == "callback"


@pytest.mark.parametrize("language", LANGS)
def test_remove_me_marks_do_not_call_first_then_apologises_and_ends(language: str) -> None:
    call = at_q_need(language)
    actions = call.say("remove_me")
    assert isinstance(actions[0], MarkDoNotCall)
    assert said_nodes(actions) == ["obj_remove_me", "do_not_call"]
    assert not says(actions)[-1].barge_in_allowed
    assert ended(actions) == "do_not_call"
    score = call.last_score()
    assert (score.grade, score.category, score.score) == ("D", "non_customer", 0)


@pytest.mark.parametrize("language", LANGS)
def test_wrong_person_apologises_and_ends(language: str) -> None:
    call = Call(language)
    call.start()
    actions = call.say("wrong_person")
    assert said_nodes(actions) == ["wrong_person"]
    assert ended(actions) == "wrong_person"
    assert call.last_score().category == "non_customer"


@pytest.mark.parametrize("language", LANGS)
def test_are_you_a_robot_is_answered_honestly_then_the_question_again(language: str) -> None:
    call = at_q_need(language)
    actions = call.say("are_you_robot")
    disclosure, again = says(actions)
    assert (disclosure.node_id, disclosure.barge_in_allowed) == ("disclosure", False)
    assert (again.node_id, again.kind) == ("q_need", "repeat")


def test_the_campaign_words_the_robot_answer() -> None:
    call = at_q_need("en", robot_answer_text="Yes, I'm an AI assistant for Harbor Life.")
    first = says(call.say("are_you_robot"))[0]
    assert (first.text, first.node_id, first.fixed) == (
        "Yes, I'm an AI assistant for Harbor Life.",
        "campaign:disclosure",
        True,
    )


@pytest.mark.parametrize("language", LANGS)
def test_goodbye_from_the_customer_ends_the_call(language: str) -> None:
    call = at_q_need(language)
    actions = call.say("goodbye")
    assert said_nodes(actions) == ["goodbye"]
    assert ended(actions) == "completed"


# -- questions, repeats ---------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "faq_id"), [("en", "medical_exam"), ("zh", "claims")])
def test_a_question_gets_the_faq_answer_then_the_question_again(language: str, faq_id: str) -> None:
    call = at_q_need(language)
    actions = call.say("ask_question")
    assert [(s.node_id, s.kind) for s in says(actions)] == [(f"faq:{faq_id}", "say"), ("q_need", "repeat")]


@pytest.mark.parametrize("language", LANGS)
def test_a_price_question_gets_the_cost_answer(language: str) -> None:
    call = at_q_need(language)
    assert said_nodes(call.say("ask_price"))[0] == "faq:cost"


def test_a_question_the_faq_cannot_answer_is_a_no_match() -> None:
    call = at_q_need("en")
    assert said_nodes(call.say("do you offer zebra racing?"))[0] == "q_need"  # node reprompt, not an answer


@pytest.mark.parametrize("language", LANGS)
def test_repeat_please_says_the_same_line_again(language: str) -> None:
    call = at_q_need(language)
    asked = says(call.log)[-1]
    again, listen = call.say("repeat_please")
    assert isinstance(again, Say)
    assert isinstance(listen, Listen)
    assert (again.text, again.variant_id, again.kind) == (asked.text, asked.variant_id, "repeat")


# -- no input, no match, low confidence, barge-in ---------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_silence_reprompts_with_the_nodes_own_lines_then_moves_on(language: str) -> None:
    call = at_q_need(language)
    first = call.send(Silence(6.0, 20.0))
    second = call.send(Silence(6.0, 27.0))
    assert [(s.node_id, s.kind) for s in says(first) + says(second)] == [("q_need", "repeat")] * 2
    assert all(s.variant_id.startswith("q_need.r") for s in says(first) + says(second))
    assert said_nodes(call.send(Silence(6.0, 34.0))) == ["q_provider"]
    assert call.engine.state.reprompts == 0


def test_without_node_reprompts_the_generic_line_comes_before_the_question() -> None:
    call = Call("en")
    call.start()
    call.say("yes")
    lines = says(call.send(Silence(6.0, 10.0)))
    assert [(s.node_id, s.kind) for s in lines] == [("reprompt", "say"), ("discovery", "repeat")]


@pytest.mark.parametrize("language", LANGS)
def test_a_call_nobody_speaks_on_ends_as_no_response(language: str) -> None:
    call = Call(language)
    call.start()
    for t in (6.0, 12.0):
        assert said_nodes(call.send(Silence(6.0, t)))[-1] == "opening"
    actions = call.send(Silence(6.0, 18.0))
    assert said_nodes(actions) == ["goodbye"]
    assert ended(actions) == "no_response"


def test_moving_on_twice_in_a_row_for_silence_ends_the_call() -> None:
    call = at_q_need("en", max_reprompts=0)
    assert said_nodes(call.send(Silence(6.0, 20.0))) == ["q_provider"]
    assert ended(call.send(Silence(6.0, 26.0))) == "no_response"


def test_a_short_silence_is_ignored() -> None:
    call = at_q_need("en")
    assert call.send(Silence(2.0, 20.0)) == []


@pytest.mark.parametrize("language", LANGS)
def test_an_answer_the_question_cannot_use_is_reprompted_then_the_flow_moves_on(language: str) -> None:
    call = at_q_need(language)
    assert said_nodes(call.say("gibberish")) == ["q_need"]
    assert said_nodes(call.say("gibberish")) == ["q_need"]
    assert said_nodes(call.say("gibberish")) == ["q_provider"]
    no_answer = next(s for s in call.last_score().signals if s.name == "no_answer")
    assert no_answer.points < 0


@pytest.mark.parametrize("language", LANGS)
def test_low_confidence_is_clarified_and_yes_confirms(language: str) -> None:
    call = at_q_need(language)
    actions = call.say("yes", confidence=0.3)
    (clarify,) = says(actions)
    assert (clarify.node_id, clarify.kind) == ("clarify", "clarify")
    assert SAY[language]["yes"] in clarify.text  # "did you say {heard}?"
    assert call.engine.state.node_id == "q_need"
    assert said_nodes(call.say("yes")) == ["q_provider"]


def test_low_confidence_clarified_and_denied_asks_again() -> None:
    call = at_q_need("en")
    call.say("no", confidence=0.3)
    assert [(s.node_id, s.kind) for s in says(call.say("no"))] == [("q_need", "repeat")]
    assert call.engine.state.node_id == "q_need"


def test_a_new_utterance_instead_of_a_confirmation_is_taken_as_said() -> None:
    call = at_q_need("en")
    call.say("yes", confidence=0.3)
    assert said_nodes(call.say("who_are_you")) == ["obj_who_are_you", "q_need"]


def test_low_confidence_with_no_intent_is_a_no_match_not_a_clarify() -> None:
    call = at_q_need("en")
    assert said_nodes(call.say("gibberish", confidence=0.2)) == ["q_need"]


def test_clarify_quotes_what_was_heard() -> None:
    call = at_q_need("en")
    (clarify,) = says(call.say("yes", confidence=0.3))
    assert clarify.text == "Just to check, did you say yes?"
    assert not clarify.fixed


@pytest.mark.parametrize("language", LANGS)
def test_barge_in_stops_speaking_and_listens_without_losing_the_question(language: str) -> None:
    call = at_q_need(language)
    before = call.engine.state
    actions = call.send(BargeIn(19.0))
    assert [type(a) for a in actions] == [StopSpeaking, Listen]
    assert call.engine.state == before
    assert said_nodes(call.say("yes")) == ["q_provider"]


def test_speech_done_changes_nothing() -> None:
    call = at_q_need("en")
    before = call.engine.state
    assert call.send(SpeechDone(19.0)) == []
    assert call.engine.state == before


# -- voicemail, keypad ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_an_answering_machine_gets_the_message_then_the_call_ends(language: str) -> None:
    call = Call(language)
    call.start()
    actions = call.send(MachineDetected(3.0))
    assert isinstance(actions[0], StopSpeaking)
    (message,) = says(actions)
    assert message.node_id == "voicemail"
    assert "555-0100" in message.text
    assert ended(actions) == "voicemail"
    assert call.last_score().grade == "D"


def test_the_campaign_can_hang_up_on_answering_machines() -> None:
    call = Call("en", voicemail="hang_up")
    actions = call.send(MachineDetected(1.0))  # before the opening: nothing to stop
    assert [type(a) for a in actions if not isinstance(a, ScoreUpdate)] == [EndCall]
    assert ended(actions) == "voicemail"


def test_keypad_shortcuts_act_like_the_intents() -> None:
    call = at_q_need("en")
    actions = call.send(Dtmf("9", 20.0))
    assert isinstance(actions[0], MarkDoNotCall)
    assert ended(actions) == "do_not_call"
    call = at_q_need("en")
    assert of_type(call.send(Dtmf("0", 20.0)), RequestHuman)
    call = at_q_need("en")
    assert call.send(Dtmf("5", 20.0)) == []


# -- score updates and events after the end -----------------------------------------------------------


def test_a_score_update_comes_with_a_change_and_only_then() -> None:
    call = at_q_need("en")
    assert not of_type(call.say("repeat_please"), ScoreUpdate)
    actions = call.say("yes")
    (update,) = of_type(actions, ScoreUpdate)
    assert actions[-1] is update
    assert "need_confirmed" in {s.name for s in call.last_score().signals}


def test_media_after_the_end_is_ignored() -> None:
    call = at_q_need("en")
    call.say("goodbye")
    for event in (SpeechDone(30.0), BargeIn(30.0), Silence(9.0, 31.0), Dtmf("1", 32.0)):
        assert call.send(event) == []
    assert call.say("hello?") == []
    assert call.engine.state.outcome == "completed"


# -- the customer's own initiative -----------------------------------------------------------------------


@pytest.mark.parametrize(("language", "greeting"), [("en", "hello? this is Dana"), ("zh", "喂，你好")])
def test_a_greeting_at_the_opening_is_taken_as_go_on(language: str, greeting: str) -> None:
    call = Call(language)
    call.start()
    assert said_nodes(call.say(greeting)) == ["discovery"]


@pytest.mark.parametrize(
    ("language", "greeting"), [("en", "you've reached Dana, please leave a message"), ("zh", "请在提示音后留言")]
)
def test_an_answering_machine_heard_in_the_first_turns_gets_the_voicemail(language: str, greeting: str) -> None:
    call = Call(language)
    call.start()
    actions = call.say(greeting)
    assert said_nodes(actions) == ["voicemail"]
    assert ended(actions) == "voicemail"


def test_a_customer_quoting_a_voicemail_later_in_the_call_is_no_machine() -> None:
    call = at_q_need("en")
    call.walk("yes", "no")
    assert ended(call.say("I'll leave a message for my wife")) is None


@pytest.mark.parametrize("language", LANGS)
def test_a_volunteered_budget_is_not_asked_again(language: str) -> None:
    call = at_q_need(language)
    call.say("amount")  # at the need question: no answer to it, but the budget is known now
    assert "budget" in {s.value for s in call.engine.state.answered}
    assert said_nodes(call.walk("yes", "no")) == ["q_authority"]  # q_provider, then q_budget skipped
    assert "budget_stated" in {s.name for s in call.last_score().signals}


def test_an_amount_with_a_price_word_states_a_budget_instead_of_asking_the_price() -> None:
    call = at_q_need("en")
    lines = said_nodes(call.say("maybe fifty bucks a month?"))
    assert not any(n.startswith("faq:") for n in lines)
    assert "asked_price" not in {s.name for s in call.last_score().signals}


@pytest.mark.parametrize(("language", "offer"), [("en", "let's do Thursday at 6 pm"), ("zh", "周日下午两点吧")])
def test_an_interested_lead_naming_a_meeting_time_early_is_booked_at_once(language: str, offer: str) -> None:
    call = Call(language)
    call.start()
    call.walk("yes", "interested")
    actions = call.say(offer)
    (book,) = of_type(actions, Book)
    assert isinstance(book, Book)
    assert book.slot.precision in ("hour", "minute")
    assert said_nodes(actions) == ["closing", "goodbye"]
    assert ended(actions) == "booked"
    assert call.last_score().grade == "A"


def test_a_time_from_a_lead_who_showed_no_interest_is_not_a_booking() -> None:
    call = at_q_need("en")
    assert not of_type(call.say("let's do Thursday at 6 pm"), Book)
