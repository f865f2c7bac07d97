"""Lead scoring: points from one weights table, grade rules, categories, and signals that name no customer text."""

from __future__ import annotations

import re

import pytest

from dialogue.scoring import BANDS, WEIGHTS, Evidence, LeadScorer, Score
from scripts_library.schema import Signal

pytestmark = pytest.mark.unit

REACHED = Evidence(event="reached")


def run(*evidence: Evidence, lead_is_customer: bool = False) -> Score:
    scorer = LeadScorer(lead_is_customer=lead_is_customer)
    for ev in evidence:
        scorer.observe(ev)
    return scorer.score


def answer(signal: Signal, yes: bool | None = None, **kw: object) -> Evidence:
    return Evidence(intent=None, signal=signal, yes_no=yes, **kw)  # type: ignore[arg-type]


def names(score: Score) -> set[str]:
    return {s.name for s in score.signals}


def test_nobody_reached_is_d_potential_with_no_signals() -> None:
    s = LeadScorer().score
    assert (s.score, s.grade, s.category, s.signals) == (0, "D", "potential", ())


def test_full_bant_with_a_booking_is_a_and_intent() -> None:
    s = run(
        REACHED,
        Evidence(intent="interested"),
        answer(Signal.NEED, True),
        answer(Signal.BUDGET, amount_stated=True),
        answer(Signal.AUTHORITY, True),
        answer(Signal.TIMELINE, days_ahead=10.0),
        answer(Signal.CURRENT_PROVIDER, False),
        Evidence(event="booked"),
    )
    assert s.grade == "A"
    assert s.category == "intent"
    assert s.score == min(100, sum(WEIGHTS[n][1] for n in names(s)))
    assert names(s) >= {"need_confirmed", "budget_stated", "authority_yes", "timeline_near", "provider_open", "booked"}


def test_points_are_the_sum_of_the_weights_table() -> None:
    s = run(REACHED, answer(Signal.AUTHORITY, True), Evidence(intent="ask_question"))
    assert s.score == WEIGHTS["reached"][1] + WEIGHTS["authority_yes"][1] + WEIGHTS["asked_question"][1]
    assert [x.points for x in s.signals] == [WEIGHTS[x.name][1] for x in s.signals]


def test_interested_with_a_far_timeline_is_b() -> None:
    s = run(REACHED, Evidence(intent="interested"), answer(Signal.NEED, True), answer(Signal.TIMELINE, days_ahead=200))
    assert s.grade == "B"
    assert "timeline_far" in names(s)
    assert s.category == "intent"


def test_interest_alone_is_at_least_b() -> None:
    s = run(REACHED, Evidence(intent="interested"), Evidence(intent="unsure"), Evidence(event="no_answer"))
    assert s.grade == "B"
    assert s.score == 50


def test_a_booking_with_a_need_is_a_even_with_few_points() -> None:
    s = run(REACHED, answer(Signal.NEED, True), Evidence(event="callback"))
    assert (s.grade, s.score) == ("A", 75)


def test_a_callback_for_a_busy_lead_with_no_need_shown_is_not_a() -> None:
    s = run(REACHED, Evidence(intent="busy_now"), Evidence(event="callback"))
    assert s.grade == "C"


def test_without_a_follow_up_a_hot_lead_stays_below_a() -> None:
    s = run(
        REACHED,
        Evidence(intent="interested"),
        answer(Signal.NEED, True),
        answer(Signal.BUDGET, True),
        answer(Signal.TIMELINE, True),
        answer(Signal.AUTHORITY, True),
    )
    assert (s.grade, s.score) == ("B", 74)


def test_a_denied_need_is_d_but_a_missing_budget_alone_is_not() -> None:
    assert run(REACHED, answer(Signal.NEED, False)).grade == "D"
    assert run(REACHED, answer(Signal.BUDGET, False)).grade == "C"


def test_vague_answers_and_silences_are_c() -> None:
    s = run(REACHED, Evidence(intent="unsure"), *[Evidence(event="no_answer")] * 5)
    assert (s.grade, s.score) == ("C", 25)
    no_answer = next(x for x in s.signals if x.name == "no_answer")
    assert no_answer.points == 3 * WEIGHTS["no_answer"][1]  # counted at most three times


def test_a_decline_is_d_and_a_decline_after_interest_is_lost() -> None:
    cold = run(REACHED, Evidence(intent="not_interested"))
    assert (cold.grade, cold.category) == ("D", "potential")
    lost = run(REACHED, Evidence(intent="interested"), Evidence(intent="not_interested"))
    assert (lost.grade, lost.category) == ("D", "lost")


def test_a_follow_up_agreed_after_a_decline_undoes_the_decline() -> None:
    s = run(REACHED, Evidence(intent="not_interested"), answer(Signal.NEED, True), Evidence(event="booked"))
    assert s.grade == "A"


@pytest.mark.parametrize(
    ("ev", "category"),
    [
        (Evidence(intent="remove_me"), "non_customer"),
        (Evidence(intent="wrong_person"), "non_customer"),
        (Evidence(event="voicemail"), "potential"),
    ],
)
def test_remove_me_wrong_person_and_voicemail_are_d_with_score_zero(ev: Evidence, category: str) -> None:
    s = run(REACHED, Evidence(intent="interested"), answer(Signal.NEED, True), ev)
    assert (s.score, s.grade) == (0, "D")
    assert run(ev).category == category


def test_remove_me_after_interest_is_lost_and_without_is_non_customer() -> None:
    assert run(REACHED, Evidence(intent="remove_me")).category == "non_customer"
    assert run(REACHED, Evidence(intent="interested"), Evidence(intent="remove_me")).category == "lost"


def test_a_lead_who_already_buys_from_us_is_actual() -> None:
    assert run(REACHED, Evidence(intent="ask_price"), lead_is_customer=True).category == "actual"


def test_a_confirmed_need_without_interest_expressed_is_a_c_target() -> None:
    s = run(REACHED, answer(Signal.NEED, True), answer(Signal.BUDGET, True), answer(Signal.TIMELINE, True))
    assert (s.grade, s.category, s.score) == ("C", "target", 49)  # 35 + 20 + 10 + 10 points, held below B
    s = run(REACHED, Evidence(event="need_described"))
    assert (s.grade, s.category) == ("C", "potential")


def test_the_latest_evidence_in_a_dimension_replaces_the_earlier_one() -> None:
    s = run(REACHED, answer(Signal.BUDGET, False), answer(Signal.BUDGET, amount_stated=True))
    assert "budget_none" not in names(s)
    assert "budget_stated" in names(s)
    assert s.signals[-1].name == "budget_stated"  # latest last


@pytest.mark.parametrize(("days", "name"), [(3, "timeline_near"), (60, "timeline_mid"), (120, "timeline_far")])
def test_timeline_points_follow_how_near_the_date_is(days: float, name: str) -> None:
    assert name in names(run(REACHED, answer(Signal.TIMELINE, days_ahead=days)))


@pytest.mark.parametrize(
    ("intent", "signal", "name"),
    [
        ("already_have_one", Signal.CURRENT_PROVIDER, "has_provider"),
        ("too_expensive", Signal.CURRENT_PROVIDER, "provider_open"),
        ("interested", Signal.NEED, "need_confirmed"),
        ("not_interested", Signal.NEED, "need_denied"),
        ("no", Signal.AUTHORITY, "authority_no"),
        ("yes", Signal.BUDGET, "budget_ok"),
    ],
)
def test_intents_answer_qualification_questions(intent: str, signal: Signal, name: str) -> None:
    assert name in names(run(REACHED, Evidence(intent=intent, signal=signal)))


def test_price_interest_raises_and_price_objection_lowers() -> None:
    base = run(REACHED).score
    assert run(REACHED, Evidence(intent="ask_price")).score > base
    assert run(REACHED, Evidence(intent="too_expensive")).score < base


def test_signals_name_intents_slots_and_events_only() -> None:
    s = run(
        REACHED,
        Evidence(intent="interested"),
        answer(Signal.BUDGET, amount_stated=True),
        answer(Signal.TIMELINE, days_ahead=5),
        Evidence(event="no_answer"),
        Evidence(intent="ask_price"),
    )
    assert all(re.fullmatch(r"[a-z_]+(@[a-z_]+)?", x.evidence) for x in s.signals)
    assert {x.evidence for x in s.signals} >= {"amount@budget", "time@timeline", "silence", "interested"}


def test_bands_cover_zero_to_a_hundred_in_order() -> None:
    lows = [low for _, low in BANDS]
    assert lows == sorted(lows, reverse=True)
    assert lows[-1] == 0
