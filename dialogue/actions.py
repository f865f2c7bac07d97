"""What the dialogue engine asks the call to do. Every `handle()` returns these, in the order to carry them out.

Say kinds: "say" a statement (no answer expected); "ask" a question (a Listen follows); "repeat" the current
question again (after a reprompt, "pardon?", or a detour through an objection, FAQ answer or disclosure);
"clarify" a "did you say ...?" check on a low-confidence utterance.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dialogue.scoring import Category, Grade, ScoreSignal
from dialogue.slots import TimeSlot
from scripts_library.schema import Variant

SayKind = Literal["say", "ask", "repeat", "clarify"]
Outcome = Literal[
    "booked",
    "callback",
    "handoff",
    "do_not_call",
    "wrong_person",
    "voicemail",
    "not_interested",
    "completed",
    "no_response",
]


@dataclass(frozen=True, slots=True)
class Say:
    """One line to speak. `text` is rendered (placeholders filled) and may contain the lead's name: never log it.

    `fixed`: the text is the same on every call of the campaign (no placeholders, or only the campaign's own:
    `CAMPAIGN_PLACEHOLDERS`), so the voice layer can render it before the campaign starts and play it from the
    phrase cache. `barge_in_allowed` false (legal notices, disclosure, do-not-call, goodbye): the voice layer
    must not cut it when the customer talks over it.
    """

    text: str
    node_id: str  # script node, "faq:<id>" for a FAQ answer, or "campaign:<what>" for a policy wording
    variant_id: str
    kind: SayKind
    barge_in_allowed: bool
    fixed: bool


@dataclass(frozen=True, slots=True)
class StopSpeaking:
    """Cut the line being played now and drop queued ones (barge-in, machine detected, takeover)."""


@dataclass(frozen=True, slots=True)
class Listen:
    """Wait for the customer once the queued Says have played; send Silence after `timeout_s` without speech."""

    timeout_s: float


@dataclass(frozen=True, slots=True)
class Book:
    """Book the appointment the customer agreed to (lead-local, tz-aware)."""

    slot: TimeSlot


@dataclass(frozen=True, slots=True)
class ScheduleCallback:
    """Call the lead again; `at` None: the dialer picks a time. `reason` is a fixed word, never customer text."""

    at: datetime | None
    reason: str  # "call_me_later", "busy_now", "handoff_timeout", "booking_unresolved"


@dataclass(frozen=True, slots=True)
class RequestHuman:
    """Ask for an agent; if none takes the call within `wait_s`, send HandoffTimeout."""

    reason: str  # "customer_asked" or "score"
    wait_s: float


@dataclass(frozen=True, slots=True)
class MarkDoNotCall:
    """Put the number on the do-not-call list now, before the goodbye is even played."""


@dataclass(frozen=True, slots=True)
class EndCall:
    """Hang up once the queued Says have played."""

    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ScoreUpdate:
    """The lead's score changed. Signals name intents and slots only, never customer text."""

    score: int
    grade: Grade
    category: Category
    signals: tuple[ScoreSignal, ...]


Action = Say | StopSpeaking | Listen | Book | ScheduleCallback | RequestHuman | MarkDoNotCall | EndCall | ScoreUpdate


PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Placeholders whose value is fixed for a whole campaign (CampaignPolicy); any other one is per call.
CAMPAIGN_PLACEHOLDERS = frozenset(
    ("agent_name", "company", "product", "callback_number", "ai_disclosure", "recording_notice")
)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:，。！？；：])")


class Lines:
    """Picks a variant for each line and renders it as a Say. One per call: a seeded RNG and the last variant
    said per line, so that a repeated question comes in other words.

    Choice is Thompson sampling on each variant's record, Beta(1 + conversions, 1 + uses - conversions): the
    best-converting line usually wins and new lines (no record) still get tried.
    """

    def __init__(self, values: Mapping[str, str], seed: int) -> None:
        self.values = dict(values)  # placeholder values; the engine adds "time" once one is agreed
        self._rng = random.Random(seed)
        self._last: dict[str, str] = {}

    def choose(self, key: str, variants: Sequence[Variant], *, avoid_last: bool = False) -> Variant:
        last = self._last.get(key) if avoid_last else None
        pool = [v for v in variants if v.id != last] or list(variants)
        best = max(pool, key=lambda v: self._rng.betavariate(1 + v.stats.conversions, 1 + _lost(v)))
        self._last[key] = best.id
        return best

    def say(
        self,
        line_id: str,
        variants: Sequence[Variant],
        kind: SayKind,
        *,
        barge_in: bool,
        avoid_last: bool = False,
        key: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Say:
        """`key`: what "the last variant said" is remembered under (default `line_id`)."""
        v = self.choose(key or line_id, variants, avoid_last=avoid_last)
        fixed = all(name in CAMPAIGN_PLACEHOLDERS for name in PLACEHOLDER.findall(v.text))
        return Say(self.render(v.text, extra), line_id, v.id, kind, barge_in, fixed)

    def render(self, text: str, extra: Mapping[str, str] | None = None) -> str:
        """Placeholders filled (unknown ones left empty), spaces tidied ("Hi {first_name}," -> "Hi,")."""
        values = self.values if extra is None else {**self.values, **extra}
        out = PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)
        return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(out.split()))


def _lost(v: Variant) -> int:
    return max(0, v.stats.uses - v.stats.conversions)


_ZH_PARTS = ((12, "上午"), (18, "下午"), (24, "晚上"))
_EN_PARTS = ((12, "morning"), (18, "afternoon"), (24, "evening"))


def format_time(slot: TimeSlot, language: str) -> str:
    """`{time}` in a line, as precise as the customer was: "Tuesday 14 May at 3:05 PM", "Tuesday 14 May in the
    afternoon", "Tuesday 14 May"; "5月14日（周二）下午3点05分", "5月14日（周二）下午", "5月14日（周二）"."""
    s, precision = slot.start, slot.precision
    clock = precision in ("minute", "hour", "relative")
    if language == "zh":
        out = f"{s.month}月{s.day}日（周{'一二三四五六日'[s.weekday()]}）"
        part = next(p for end, p in _ZH_PARTS if s.hour < end)
        if clock:
            hour = s.hour - 12 if s.hour > 12 else s.hour
            return out + f"{part}{hour}点" + (f"{s.minute:02d}分" if s.minute else "")
        return out + part if precision == "part_of_day" else out
    out = f"{s:%A} {s.day} {s:%B}"
    if clock:
        return out + f" at {s.hour % 12 or 12}:{s.minute:02d} {'AM' if s.hour < 12 else 'PM'}"
    if precision == "part_of_day":
        return out + f" in the {next(p for end, p in _EN_PARTS if s.hour < end)}"
    return out
