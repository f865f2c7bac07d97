"""Lines: variant choice by record with seeded exploration, placeholders, fixed lines, and no customer text leaking."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogue.actions import Lines, Say, ScheduleCallback, ScoreUpdate, format_time
from dialogue.engine import DialogueEngine
from dialogue.events import CustomerText, Silence
from dialogue.slots import TimeSlot
from scripts_library.schema import Variant, VariantStats
from tests.unit import dialogue_fixtures as fx
from tests.unit.dialogue_fixtures import Call, says

pytestmark = pytest.mark.unit

DIALOGUE = ("yes", "need_story", "who_are_you", "yes", "no", "amount", "yes", "soon", "booking_time")


def variant_ids(language: str, seed: int) -> list[str]:
    call = Call(language, seed=seed)
    call.start()
    call.walk(*DIALOGUE)
    return [s.variant_id for s in says(call.log)]


@pytest.mark.parametrize("language", ("en", "zh"))
def test_the_same_seed_gives_the_same_call(language: str) -> None:
    assert variant_ids(language, 11) == variant_ids(language, 11)


def test_different_seeds_explore_different_lines() -> None:
    assert len({tuple(variant_ids("en", seed)) for seed in range(8)}) > 1


def test_the_best_converting_variant_is_chosen_most_of_the_time() -> None:
    sc = fx.script("en")
    good, poor = sc.node("opening").variants
    good.stats, poor.stats = VariantStats(1000, 300), VariantStats(1000, 20)
    chosen = [Call("en", seed=s, sc=sc).start()[0] for s in range(60)]
    assert sum(isinstance(a, Say) and a.variant_id == good.id for a in chosen) >= 57


def test_a_new_variant_without_a_record_still_gets_tried() -> None:
    lines = Lines({}, seed=5)
    proven, fresh = Variant("a", "A", VariantStats(500, 60)), Variant("b", "B")
    picks = {lines.choose("k", [proven, fresh]).id for _ in range(40)}
    assert picks == {"a", "b"}


def test_a_reprompt_does_not_repeat_the_reprompt_said_just_before() -> None:
    call = Call("en", max_reprompts=2)
    call.start()
    call.say("yes")
    first = says(call.send(Silence(6.0, 10.0)))[0]
    second = says(call.send(Silence(6.0, 16.0)))[0]
    assert first.node_id == second.node_id == "reprompt"
    assert first.variant_id != second.variant_id


def test_placeholders_are_filled_from_campaign_lead_and_script() -> None:
    lines = Lines({"agent_name": "Sam", "first_name": "Dana"}, seed=0)
    assert lines.render("Hi {first_name}, {agent_name} here about {product}.") == "Hi Dana, Sam here about."
    assert lines.render("Hi {missing}, ok") == "Hi, ok"
    assert lines.render("Hello {x} there", {"x": "you"}) == "Hello you there"


def test_lines_from_campaign_values_only_are_fixed() -> None:
    lines = Lines({"agent_name": "Sam", "company": "Harbor", "first_name": "Dana"}, seed=0)
    assert lines.say("n", [Variant("n.1", "I'm {agent_name} at {company}.")], "say", barge_in=True).fixed
    assert lines.say("n", [Variant("n.1", "Hello there.")], "say", barge_in=True).fixed
    assert not lines.say("n", [Variant("n.1", "Hi {first_name}.")], "say", barge_in=True).fixed
    assert not lines.say("n", [Variant("n.1", "See you {time}.")], "say", barge_in=True).fixed


@pytest.mark.parametrize(
    ("precision", "en", "zh"),
    [
        ("hour", "Wednesday 11 March at 3:00 PM", "3月11日（周三）下午3点"),
        ("minute", "Wednesday 11 March at 3:30 PM", "3月11日（周三）下午3点30分"),
        ("part_of_day", "Wednesday 11 March in the afternoon", "3月11日（周三）下午"),
        ("day", "Wednesday 11 March", "3月11日（周三）"),
    ],
)
def test_time_is_said_as_precisely_as_the_customer_named_it(precision: str, en: str, zh: str) -> None:
    minute = 30 if precision == "minute" else 0
    slot = TimeSlot(fx.NOW.replace(day=11, hour=15, minute=minute), None, precision, "tomorrow")  # type: ignore[arg-type]
    assert format_time(slot, "en") == en
    assert format_time(slot, "zh") == zh


def test_non_interruptible_lines_are_the_legal_and_final_ones() -> None:
    call = Call("en")
    opening = says(call.start())[0]
    assert not opening.barge_in_allowed
    call.say("yes")
    assert says(call.log)[-1].barge_in_allowed  # an ordinary question


def test_customer_words_never_reach_state_or_score() -> None:
    call = Call("en")
    call.start()
    call.walk("yes", "my neighbour Zanzibar Quixote told me", "yes", "Zanzibar Quixote is my insurer")
    assert "Zanzibar" not in repr(call.engine.state)
    for update in (a for a in call.log if isinstance(a, ScoreUpdate)):
        assert "Zanzibar" not in repr(update)


def test_a_script_without_the_lines_the_engine_needs_is_refused() -> None:
    sc = fx.script("en")
    del sc.nodes["handoff"]
    with pytest.raises(ValueError, match="expected nodes of kinds handoff"):
        fx.engine("en", sc=sc)


def test_a_classifier_of_another_language_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a en classifier, got zh"):
        DialogueEngine(fx.script("en"), fx.policy(), fx.classifier("zh"), fx.NOW)


def test_a_loop_of_statements_is_reported() -> None:
    sc = fx.script("en")
    sc.nodes["closing"] = replace(sc.node("closing"), next="closing")
    call = Call("en", sc=sc)
    call.start()
    with pytest.raises(ValueError, match="loop at closing"):
        call.walk("yes", "need_story", "yes", "no", "amount", "yes", "soon", "booking_time")


def test_a_naive_now_is_taken_in_the_leads_timezone() -> None:
    engine = DialogueEngine(fx.script("en"), fx.policy(), fx.classifier("en"), fx.NOW.replace(tzinfo=None))
    engine.start(100.0)
    actions = engine.handle(CustomerText("call me back tomorrow at 3 pm", 0.9, 104.0))
    (callback,) = [a for a in actions if isinstance(a, ScheduleCallback)]
    assert callback.at is not None
    assert callback.at.utcoffset() == fx.NOW.utcoffset()
    assert (callback.at.day, callback.at.hour) == (11, 15)
