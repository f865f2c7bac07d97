"""Intent classification (patterns, negation, priority, sarcasm, embeddings), slots, FAQ and agent-question matching."""

from __future__ import annotations

import pytest

from dialogue.understand import (
    PRIORITY,
    FaqMatcher,
    IntentClassifier,
    QuestionMatcher,
    Understanding,
    next_after,
    normalise,
    route_for,
)
from scripts_library.embeddings import HashedNgramEncoder
from scripts_library.schema import Expect, Intent
from tests.unit import dialogue_fixtures as fx

pytestmark = pytest.mark.unit

LANGS = ("en", "zh")


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize(
    "what",
    [
        "yes",
        "no",
        "busy_now",
        "not_interested",
        "already_have_one",
        "too_expensive",
        "who_are_you",
        "how_got_number",
        "remove_me",
        "wrong_person",
        "are_you_robot",
        "want_human",
        "repeat_please",
        "ask_price",
        "ask_question",
        "goodbye",
        "call_me_later",
        "interested",
    ],
)
def test_each_intent_is_recognised_by_its_patterns(language: str, what: str) -> None:
    intent, score, source = fx.classifier(language, with_encoder=False).classify(fx.SAY[language][what])
    assert (intent, source) == (what, "pattern")
    assert score > 0.9


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "I'm not really interested", "not_interested"),  # no "not interested" pattern needed
        ("en", "I'm not at all interested in that", "not_interested"),
        ("en", "I don't have one", None),  # "have one" after "don't" is not already_have_one
        ("en", "I'm not busy, go on", "yes"),  # busy_now negated; the comma ends the negation before "go on"
        ("en", "no problem, I'm interested", "interested"),  # "no problem" is not a negation
        ("zh", "我不太感兴趣", "not_interested"),
        ("zh", "没什么兴趣", "not_interested"),
        ("zh", "没问题，可以", "yes"),  # 没问题 is not a negation
        ("zh", "不可以", "no"),  # a negated yes is a no
    ],
)
def test_negation_voids_or_flips_positive_intents(language: str, text: str, expected: str | None) -> None:
    intents = fx.intents(language)
    if language == "en":  # make the flip the only way to not_interested from "not really interested"
        intents["not_interested"] = Intent("not_interested", ("no interest",), ())
        intents["yes"] = Intent("yes", ("yes|ok|go on",), ())
        intents["interested"] = Intent("interested", ("interested",), ())
        intents["already_have_one"] = Intent("already_have_one", ("have one",), ())
    else:
        intents["interested"] = Intent("interested", ("感兴趣|兴趣",), ())
        intents["not_interested"] = Intent("not_interested", ("不需要",), ())
    clf = IntentClassifier(intents, language, None)
    assert clf.classify(text)[0] == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "take me off your list, you've got the wrong number", "remove_me"),
        ("en", "wrong number, are you a robot?", "wrong_person"),
        ("en", "I'm busy, call me back later", "call_me_later"),
        ("en", "not interested, bye", "goodbye"),
        ("en", "I already have one, not interested", "already_have_one"),
        ("en", "yes, how much is it", "ask_price"),
        ("zh", "你打错了，以后别再打了", "remove_me"),
        ("zh", "我在开会，晚点再打吧", "call_me_later"),
        ("zh", "好的，多少钱？", "ask_price"),
    ],
)
def test_priority_decides_between_several_matching_intents(language: str, text: str, expected: str) -> None:
    assert fx.classifier(language, with_encoder=False).classify(text)[0] == expected


def test_priority_order_puts_safety_first_and_generic_answers_last() -> None:
    assert PRIORITY[:3] == ("remove_me", "wrong_person", "are_you_robot")
    assert PRIORITY[-2:] == ("no", "yes")


def test_a_scripts_own_intents_rank_after_objections_and_before_generic_answers() -> None:
    intents = fx.intents("en")
    intents["wants_brochure"] = Intent("wants_brochure", ("brochure",), ())
    clf = IntentClassifier(intents, "en", None)
    assert clf.classify("yes, send me a brochure")[0] == "wants_brochure"
    assert clf.classify("too expensive, send a brochure")[0] == "too_expensive"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Oh great, another sales call."),
        ("en", "Yeah right, like I need more insurance"),
        ("en", "wow, perfect, exactly what I wanted today"),
        ("zh", "又是推销的吧"),
        ("zh", "呵呵，真是太好了，又来一个"),
    ],
)
def test_sarcasm_cues_mean_not_interested(language: str, text: str) -> None:
    intent, score, source = fx.classifier(language, with_encoder=False).classify(text)
    assert (intent, source) == ("not_interested", "pattern")
    assert 0.5 < score < 0.95  # a cue, a little less sure than a pattern of the intent itself


def test_removal_outranks_sarcasm() -> None:
    clf = fx.classifier("en", with_encoder=False)
    assert clf.classify("oh great, another sales call. take me off your list")[0] == "remove_me"


def test_sarcasm_needs_the_not_interested_intent() -> None:
    intents = {k: v for k, v in fx.intents("en").items() if k != "not_interested"}
    assert IntentClassifier(intents, "en", None).classify("oh great, another sales call")[0] is None


def test_embeddings_catch_a_paraphrase_that_no_pattern_catches() -> None:
    intents = fx.intents("en")
    intents["remove_me"] = Intent("remove_me", (), ("please remove my number from your calling list",))
    text = "remove my number from your list please"
    assert IntentClassifier(intents, "en", None).classify(text) == (None, 0.0, "none")
    intent, score, source = IntentClassifier(intents, "en", HashedNgramEncoder()).classify(text)
    assert (intent, source) == ("remove_me", "embedding")
    assert score >= 0.45


def test_embeddings_turn_down_a_sentence_near_no_example() -> None:
    intent, score, source = fx.classifier("en").classify("purple elephants dance quietly")
    assert (intent, source) == (None, "none")
    assert score < 1.0


def test_embedding_margin_turns_down_a_tie_between_two_intents() -> None:
    intents = {
        "busy_now": Intent("busy_now", (), ("i am at work now",)),
        "call_me_later": Intent("call_me_later", (), ("i am at work now call later",)),
    }
    clf = IntentClassifier(intents, "en", HashedNgramEncoder(), threshold=0.3, margin=0.2)
    assert clf.classify("i am at work now, call")[0] is None
    loose = IntentClassifier(intents, "en", HashedNgramEncoder(), threshold=0.3, margin=0.0)
    assert loose.classify("i am at work now, call")[0] is not None


def test_a_negated_embedding_match_to_interested_becomes_not_interested() -> None:
    intents = {
        "interested": Intent("interested", (), ("i am keen on hearing about this offer",)),
        "not_interested": Intent("not_interested", (), ()),
    }
    clf = IntentClassifier(intents, "en", HashedNgramEncoder())
    assert clf.classify("I am not keen on hearing about this offer")[0] == "not_interested"
    assert clf.classify("I am keen on hearing about this offer")[0] == "interested"


def test_normalise_folds_width_quotes_case_and_spaces() -> None:
    full_width_ok = "\uff2f\uff2b"  # what some recognizers write for "OK" in Mandarin text
    assert normalise(f"  I\u2019M  {full_width_ok}  ") == "i'm ok"
    assert normalise(f"好的，{full_width_ok}") == "好的,ok"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="expected language en or zh, got 'fr'"):
        IntentClassifier(fx.intents("en"), "fr", None)


def test_empty_text_is_no_intent() -> None:
    assert fx.classifier("en").understand("   ") == Understanding(None, 0.0, "none")


@pytest.mark.parametrize(("language", "text", "expected"), [("en", "yeah sure", True), ("zh", "不是", False)])
def test_yes_no_slot_when_a_yes_no_answer_is_expected(language: str, text: str, expected: bool) -> None:
    u = fx.classifier(language).understand(text, Expect.YES_NO, fx.NOW)
    assert u.slots.yes_no is expected
    assert u.polarity is expected


@pytest.mark.parametrize("language", LANGS)
def test_time_slot_is_read_against_the_leads_local_now(language: str) -> None:
    u = fx.classifier(language).understand(fx.SAY[language]["booking_time"], Expect.TIME, fx.NOW)
    assert u.slots.time is not None
    start = u.slots.time.start
    assert (start.date() - fx.NOW.date()).days == 1
    assert start.hour == 15
    assert start.utcoffset() == fx.NOW.utcoffset()


@pytest.mark.parametrize("language", LANGS)
def test_an_amount_is_read_wherever_it_comes(language: str) -> None:
    for expect in (Expect.AMOUNT, Expect.FREE):
        u = fx.classifier(language).understand(fx.SAY[language]["amount"], expect, fx.NOW)
        assert u.slots.amount is not None
        assert u.slots.amount.value > 0


def test_yes_no_is_read_from_short_replies_only() -> None:
    clf = fx.classifier("en")
    assert clf.understand("nope, sorry", Expect.YES_NO, fx.NOW).slots.yes_no is False
    long = "my wife passed last year and I don't want the kids stuck with the costs"
    assert clf.understand(long, Expect.YES_NO, fx.NOW).slots.yes_no is None


def test_a_time_read_from_the_words_of_an_amount_is_dropped() -> None:
    clf = fx.classifier("en")
    u = clf.understand("they'd pay up to like two grand", Expect.FREE, fx.NOW)
    assert u.slots.amount is not None
    assert u.slots.time is None
    assert clf.understand("tomorrow at 3 pm works", Expect.FREE, fx.NOW).slots.time is not None


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "yeah, we've been meaning to look at that since the baby came"),
        ("en", "honestly our inbox is a mess"),
        ("zh", "对，孩子英语一直跟不上"),
        ("zh", "我是想给孙女报个班"),
    ],
)
def test_a_volunteered_need_is_interest_even_after_a_yeah(language: str, text: str) -> None:
    assert fx.classifier(language, with_encoder=False).classify(text)[0] == "interested"


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "I'm not sure we need it", "unsure"),
        ("en", "we don't need it", "not_interested"),
        ("zh", "我不想要", "not_interested"),
        ("zh", "我想想", None),
    ],
)
def test_need_cues_yield_to_hesitation_and_negation(language: str, text: str, expected: str | None) -> None:
    assert fx.classifier(language, with_encoder=False).classify(text)[0] == expected


@pytest.mark.parametrize(
    ("language", "text", "machine"),
    [
        ("en", "hi, you've reached Chris, leave a message after the tone", True),
        ("en", "hi, this is Chris", False),
        ("zh", "请在提示音后留言", True),
        ("zh", "你好，我是王伟", False),
    ],
)
def test_an_answering_machine_greeting_is_recognised(language: str, text: str, machine: bool) -> None:
    assert fx.classifier(language).sounds_like_machine(text) is machine


def test_call_me_later_reads_the_time_even_when_none_was_expected() -> None:
    u = fx.classifier("en").understand("call me back tomorrow at 3 pm", Expect.YES_NO, fx.NOW)
    assert u.intent == "call_me_later"
    assert u.slots.time is not None
    assert u.slots.time.start.hour == 15


def test_usable_for_open_questions_takes_anything_and_yes_no_needs_an_answer() -> None:
    sc = fx.script("en")
    nothing = Understanding(None, 0.2, "none")
    assert nothing.usable_for(sc.node("discovery"))
    assert not nothing.usable_for(sc.node("q_need"))
    assert Understanding("unsure", 0.95, "pattern").usable_for(sc.node("q_need"))


def test_routes_by_intent_then_by_yes_no_meaning_then_next() -> None:
    sc = fx.script("en")
    opening, budget = sc.node("opening"), sc.node("q_budget")
    assert route_for(opening, Understanding("interested", 0.9, "pattern")) == "discovery"  # interested is a yes
    assert route_for(opening, Understanding("not_interested", 0.9, "pattern")) is None  # objection, not "no"
    assert route_for(budget, Understanding("too_expensive", 0.9, "pattern")) == "obj_too_expensive"
    assert next_after(budget, Understanding("yes", 0.9, "pattern")) == "q_authority"
    assert next_after(sc.node("goodbye"), None) is None


@pytest.mark.parametrize(
    ("language", "question", "entry"),
    [
        ("en", "how much would it be a month", "cost"),
        ("en", "would I have to see a doctor", "medical_exam"),
        ("zh", "一个月交多少钱", "cost"),
        ("zh", "理赔麻不麻烦", "claims"),
    ],
)
def test_faq_matches_similar_questions(language: str, question: str, entry: str) -> None:
    matched = FaqMatcher(fx.script(language).faq, None).match(question)
    assert matched is not None
    assert matched.id == entry


@pytest.mark.parametrize(
    ("language", "question"), [("en", "purple elephants dance quietly"), ("zh", "紫色大象安静跳舞")]
)
def test_faq_turns_down_unrelated_questions(language: str, question: str) -> None:
    assert FaqMatcher(fx.script(language).faq, None).match(question) is None


@pytest.mark.parametrize(
    ("language", "agent_said", "node_id"),
    [
        ("en", "So what sort of budget do you have for this?", "q_budget"),
        ("en", "Who else would be involved in the decision?", "q_authority"),
        ("en", "How soon would you like it in place?", "q_timeline"),
        ("en", "Does anyone rely on you?", "q_need"),
        ("zh", "您这边预算大概多少？", "q_budget"),
        ("zh", "这事您自己能做主吗？", "q_authority"),
        ("zh", "万一住院要花十几万，对家里压力大吗？", "q_need"),
    ],
)
def test_agent_questions_are_matched_to_script_questions(language: str, agent_said: str, node_id: str) -> None:
    node = QuestionMatcher(fx.script(language)).match(agent_said)
    assert node is not None
    assert node.id == node_id


def test_agent_small_talk_matches_no_question() -> None:
    assert QuestionMatcher(fx.script("en")).match("Hi Dana, thanks for holding, I'm Chris") is None
