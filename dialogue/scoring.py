"""Lead scoring: per-turn evidence in, a 0-100 score, a grade A-D and a customer category out, with the reasons.

The score is the sum of the points in `WEIGHTS` (one signal per dimension: the latest evidence in a dimension
replaces the earlier one), clamped to 0..100, then held inside the band its grade rules allow:

- remove me, wrong person, voicemail: -100 points, so D with score 0;
- a firm decline (not interested, and no booking or callback agreed after it): at most 24 (D);
- a next step agreed (booking, callback or a person to go on with), with interest or a confirmed need: at
  least 75 (A); without one, at most 74 (never A);
- interest shown (the `interested` intent: a need or wish volunteered): 50..74 (B) - "interested, not ready";
  without it at most 49: a "yes" to the need question alone is a target, not yet interest (C);
- a person reached who neither declined nor denied a need: at least 25 (C) - vague or silent is not "no";
- grade bands: A >= 75, B >= 50, C >= 25, D below.

Evidence names intents, slots and node signals; the customer's words never reach this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from scripts_library.schema import Node, NodeKind, Signal

if TYPE_CHECKING:
    from dialogue.understand import Understanding

Grade = Literal["A", "B", "C", "D"]
Category = Literal["non_customer", "potential", "target", "intent", "actual", "lost"]

# signal name: (dimension, points). The one table of weights: tune here.
WEIGHTS: dict[str, tuple[str, int]] = {
    "reached": ("reached", 35),  # a person answered and spoke
    "need_confirmed": ("need", 20),
    "need_described": ("need", 5),  # answered the open needs question (with anything: weak evidence)
    "need_denied": ("need", -20),
    "budget_ok": ("budget", 10),
    "budget_stated": ("budget", 10),
    "budget_none": ("budget", -10),
    "price_objection": ("price", -10),
    "authority_yes": ("authority", 5),
    "authority_no": ("authority", -5),
    "timeline_near": ("timeline", 10),  # within NEAR_DAYS, or yes to "soon?"
    "timeline_mid": ("timeline", 5),  # within MID_DAYS
    "timeline_far": ("timeline", -5),  # later, or "not now"
    "provider_open": ("provider", 5),  # no provider, or unhappy with it
    "has_provider": ("provider", -5),
    "interested": ("interest", 10),
    "not_interested": ("interest", -25),
    "unsure": ("hesitation", -5),
    "asked_price": ("asked_price", 5),
    "asked_question": ("asked_question", 3),
    "wants_human": ("wants_human", 5),
    "booked": ("follow_up", 15),
    "callback": ("follow_up", 5),
    "handoff": ("handoff", 10),  # a person to go on with
    "no_answer": ("no_answer", -3),  # per silence or unanswerable reply, counted up to MAX_NO_ANSWERS
    "remove_me": ("terminal", -100),
    "wrong_person": ("terminal", -100),
    "voicemail": ("terminal", -100),
}
NEAR_DAYS, MID_DAYS = 30, 90
MAX_NO_ANSWERS = 3
BANDS: tuple[tuple[Grade, int], ...] = (("A", 75), ("B", 50), ("C", 25), ("D", 0))
DECLINED_CAP, NOT_A_CAP, FOLLOW_UP_FLOOR, INTEREST_FLOOR, REACHED_FLOOR = 24, 74, 75, 50, 25

_POLARITY = {"yes": True, "interested": True, "no": False, "not_interested": False}
_BY_INTENT = {
    "interested": "interested",
    "not_interested": "not_interested",
    "unsure": "unsure",
    "ask_price": "asked_price",
    "ask_question": "asked_question",
    "want_human": "wants_human",
    "too_expensive": "price_objection",
    "already_have_one": "has_provider",
    "remove_me": "remove_me",
    "wrong_person": "wrong_person",
}
# Answers to a qualification question: signal -> (yes, no).
_BY_ANSWER = {
    Signal.NEED: ("need_confirmed", "need_denied"),
    Signal.BUDGET: ("budget_ok", "budget_none"),
    Signal.AUTHORITY: ("authority_yes", "authority_no"),
    Signal.TIMELINE: ("timeline_near", "timeline_far"),
    Signal.CURRENT_PROVIDER: ("has_provider", "provider_open"),
}
Fact = Literal["reached", "booked", "callback", "handoff", "voicemail", "no_answer", "need_described"]
FOLLOW_UPS = ("booked", "callback", "handoff")


@dataclass(frozen=True, slots=True)
class ScoreSignal:
    name: str  # a WEIGHTS key
    points: int
    evidence: str  # the intent, slot or event behind it ("yes@budget", "time", "silence"), never customer text


@dataclass(frozen=True, slots=True)
class Score:
    score: int
    grade: Grade
    category: Category
    signals: tuple[ScoreSignal, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One turn's worth of facts: what the customer meant, in answer to what."""

    intent: str | None = None
    signal: Signal | None = None  # the qualification question answered, if any
    yes_no: bool | None = None
    days_ahead: float | None = None  # a time the customer named, in days from now
    amount_stated: bool = False
    event: Fact | None = None  # engine facts that are not a customer intent

    @classmethod
    def of_reply(cls, u: Understanding, node: Node | None, days_ahead: float | None) -> Evidence:
        """A customer reply to `node` (None: to no known question); a time named is `days_ahead` from now."""
        signal = node.signal if node is not None and node.kind == NodeKind.QUALIFY else None
        described = node is not None and node.kind == NodeKind.DISCOVERY and u.intent is None
        return cls(
            intent=u.intent,
            signal=signal,
            yes_no=u.slots.yes_no,
            days_ahead=days_ahead,
            amount_stated=u.slots.amount is not None,
            event="need_described" if described else None,
        )


class LeadScorer:
    """Accumulates Evidence for one call. Not thread-safe; one per call, like the engine."""

    def __init__(self, *, lead_is_customer: bool = False) -> None:
        self._lead_is_customer = lead_is_customer
        self._signals: dict[str, ScoreSignal] = {}  # by dimension, latest last
        self._seq: dict[str, int] = {}  # dimension -> turn it was last set on
        self._turn = 0
        self._no_answers = 0
        self._ever_positive = False
        self.score = self._compute()

    def observe(self, ev: Evidence) -> Score:
        self._turn += 1
        for name, evidence in _names_for(ev):
            self._add(name, evidence)
        self.score = self._compute()
        return self.score

    def _add(self, name: str, evidence: str) -> None:
        dimension, points = WEIGHTS[name]
        if name == "no_answer":
            self._no_answers = min(self._no_answers + 1, MAX_NO_ANSWERS)
            points *= self._no_answers
        if name in ("interested", "need_confirmed", "booked"):
            self._ever_positive = True
        self._signals.pop(dimension, None)
        self._signals[dimension] = ScoreSignal(name, points, evidence)
        self._seq[dimension] = self._turn

    def has(self, *names: str) -> bool:
        """Whether any of these signals is in the score now."""
        return any(s.name in names for s in self._signals.values())

    def _declined(self) -> bool:
        interest = self._signals.get("interest")
        if interest is None or interest.name != "not_interested":
            return False
        return self._seq["interest"] > max(self._seq.get("follow_up", -1), self._seq.get("handoff", -1))

    def _compute(self) -> Score:
        raw = max(0, min(100, sum(s.points for s in self._signals.values())))
        if self.has("remove_me", "wrong_person", "voicemail"):
            score = 0
        elif self._declined():
            score = min(raw, DECLINED_CAP)
        elif self.has(*FOLLOW_UPS) and self.has("interested", "need_confirmed"):
            score = max(raw, FOLLOW_UP_FLOOR)
        elif self.has("interested"):
            score = max(INTEREST_FLOOR, min(raw, NOT_A_CAP))
        else:
            floor = REACHED_FLOOR if self.has("reached") and not self.has("need_denied") else 0
            score = max(floor, min(raw, INTEREST_FLOOR - 1))
        grade = next(g for g, low in BANDS if score >= low)
        return Score(score, grade, self._category(grade), tuple(self._signals.values()))

    def _category(self, grade: Grade) -> Category:
        if self.has("wrong_person"):
            return "non_customer"
        if self._ever_positive and (self._declined() or self.has("remove_me")):
            return "lost"
        if self.has("remove_me"):
            return "non_customer"
        if self._lead_is_customer:
            return "actual"
        if self.has("voicemail"):
            return "potential"  # nobody reached yet
        if grade in ("A", "B") and self.has("interested", "need_confirmed", "booked"):
            return "intent"
        if self.has("need_confirmed"):
            return "target"
        return "potential"


def _names_for(ev: Evidence) -> list[tuple[str, str]]:
    """(signal name, evidence label) pairs for one piece of evidence."""
    out: list[tuple[str, str]] = []
    if ev.event is not None:
        out.append((ev.event, "silence" if ev.event == "no_answer" else ev.event))
    if ev.intent in _BY_INTENT:
        out.append((_BY_INTENT[ev.intent], ev.intent))
    if ev.signal is not None:
        answer = _answer_name(ev)
        if answer is not None:
            out.append(answer)
    return out


def _answer_name(ev: Evidence) -> tuple[str, str] | None:
    """The signal a reply to a qualification question sets, from its slots first, then its yes/no meaning."""
    assert ev.signal is not None
    where = ev.signal.value
    if ev.signal == Signal.BUDGET and ev.amount_stated:
        return "budget_stated", f"amount@{where}"
    if ev.signal == Signal.TIMELINE and ev.days_ahead is not None:
        name = (
            "timeline_near"
            if ev.days_ahead <= NEAR_DAYS
            else "timeline_mid"
            if ev.days_ahead <= MID_DAYS
            else "timeline_far"
        )
        return name, f"time@{where}"
    if ev.signal == Signal.CURRENT_PROVIDER and ev.intent == "too_expensive":
        return "provider_open", f"too_expensive@{where}"
    polarity = ev.yes_no if ev.yes_no is not None else _POLARITY.get(ev.intent or "")
    if polarity is None:
        return None
    yes, no = _BY_ANSWER[ev.signal]
    return (yes if polarity else no), f"{'yes' if polarity else 'no'}@{where}"
