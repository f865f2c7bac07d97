"""`parse_time`: a callback or appointment time in the lead's local time, from English or Mandarin words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from dialogue.slots_calendar import Pieces, compose
from dialogue.slots_text import Norm, english_numbers, normalize
from dialogue.slots_time_en import extract_en
from dialogue.slots_time_zh import extract_zh
from dialogue.slots_types import TimeSlot

_GRAMMARS: dict[str, tuple[Callable[[str], Norm], Callable[[str, date], Pieces | None]]] = {
    "en": (lambda text: english_numbers(normalize(text)), extract_en),
    "zh": (normalize, extract_zh),
}


def language_code(language: str) -> str:
    """ "en", "en-US", "zh_CN" → "en" / "zh"; anything else is a caller bug."""
    code = language.replace("_", "-").split("-")[0].lower()
    if code not in ("en", "zh"):
        raise ValueError(f"expected language 'en' or 'zh', got {language!r}")
    return code


def parse_time(text: str, language: str, now: datetime) -> TimeSlot | None:
    """The time the customer names, relative to `now`, the lead's local time (timezone-aware; a naive
    `now` raises ValueError). None when the text names no time, or only a past one."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("expected a timezone-aware now (the lead's local time), got a naive datetime")
    prepare, extract = _GRAMMARS[language_code(language)]
    norm = prepare(text)
    pieces = extract(norm.text, now.date())
    if pieces is None:
        return None
    resolved = compose(now, pieces)
    if resolved is None:
        return None
    start, end, precision = resolved
    first = min(s for s, _ in pieces.spans)
    last = max(e for _, e in pieces.spans)
    return TimeSlot(start, end, precision, norm.original(first, last))
