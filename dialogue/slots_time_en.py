"""English time grammar: finds the day, part of day, clock time, range, relative offset or vague "later" in
normalised text (lower case, number words already digits) and hands them to `slots_calendar.compose`.

A bare number is a clock time only with a cue ("at 3", "around 5", "3pm", "3:30"), next to a day or part of
day ("tomorrow 3", "Monday morning 10"), or when it is all the customer said ("3", "three thirty"), so that
"I have 3 kids" is not a time. Past references ("yesterday", "last Monday", "ago") name no callback time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from dialogue.slots_calendar import (
    Clock,
    Day,
    Meridiem,
    Pieces,
    Span,
    Unit,
    day_of_month,
    end_of_week,
    month_day,
    month_end,
    month_span,
    week_span,
    weekday_date,
    weekend,
)

_WEEKDAYS = {
    **dict(zip("monday tuesday wednesday thursday friday saturday sunday".split(), range(7), strict=True)),
    **{"mon": 0, "tue": 1, "tues": 1, "thu": 3, "thur": 3, "thurs": 3, "fri": 4},
}
_MONTHS = {
    **dict(
        zip(
            "january february march april may june july august september october november december".split(),
            range(1, 13),
            strict=True,
        )
    ),
    **{"jan": 1, "feb": 2, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11},
    "dec": 12,
}


def _alt(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_WD = _alt(_WEEKDAYS)
_MON = _alt(_MONTHS)
_ORD = r"(?:st|nd|rd|th)"

_PAST = re.compile(rf"\b(?:yesterday|ago|last\s+(?:night|week|month|year|time|{_WD}))\b")

DayHandler = Callable[[re.Match[str], date], Day | Span | None]


def _weekday(m: re.Match[str], today: date) -> Day:
    mod, week = m.group("mod") or "", m.group("wk") or ""
    wd = _WEEKDAYS[m.group("wd")]
    if mod.startswith("next") or week == "next":
        return Day(weekday_date(today, wd, "next"))
    return Day(weekday_date(today, wd, "this" if mod or week else "upcoming"))


def _month_day(m: re.Match[str], today: date) -> Day | None:
    d = month_day(today, _MONTHS[m.group("mon")], int(m.group("d")))
    return Day(d) if d else None


def _dom(m: re.Match[str], today: date) -> Day | None:
    d = day_of_month(today, int(m.group("d")))
    return Day(d) if d else None


def _plus(days: int) -> DayHandler:
    return lambda _m, today: Day(today + timedelta(days=days))


# Tried in order; the first that matches names the day.
_DAYS: list[tuple[re.Pattern[str], DayHandler]] = [
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b"), _plus(2)),
    (re.compile(r"\b(?:tomorrow|tomorow|tmrw|tmr)\b"), _plus(1)),
    (
        re.compile(
            rf"\b(?:(?P<mod>next\s+week(?:\s+on)?|next|this|coming|this\s+coming)\s+)?(?P<wd>{_WD})\b(?:\s+(?P<wk>next|this)\s+week\b)?"
        ),
        _weekday,
    ),
    (re.compile(rf"\b(?P<mon>{_MON})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}?\b"), _month_day),
    (re.compile(rf"\b(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}?\s+(?:of\s+)?(?P<mon>{_MON})\b"), _month_day),
    (re.compile(rf"\b(?:on\s+)?the\s+(?P<d>\d{{1,2}}){_ORD}\b"), _dom),
    (re.compile(r"\bon\s+the\s+(?P<d>\d{1,2})\b"), _dom),
    (re.compile(r"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week\b"), lambda _m, t: end_of_week(t)),
    (re.compile(r"\bnext\s+weekend\b"), lambda _m, t: weekend(t, 1)),
    (re.compile(r"\b(?:this\s+|the\s+)?weekend\b"), lambda _m, t: weekend(t, 0)),
    (re.compile(r"\b(?:the\s+)?end\s+of\s+next\s+month\b"), lambda _m, t: month_end(t, 1)),
    (re.compile(r"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month\b"), lambda _m, t: month_end(t, 0)),
    (re.compile(r"\bnext\s+month\b"), lambda _m, t: month_span(t, 1)),
    (re.compile(r"\b(?:early\s+|later\s+)?next\s+week\b"), lambda _m, t: week_span(t, 1)),
    (re.compile(r"\b(?:later\s+)?this\s+week\b"), lambda _m, t: week_span(t, 0)),
    (re.compile(r"\b(?:today|tonight)\b"), _plus(0)),
]

# (pattern, part of day, whether it also names today)
_PARTS: list[tuple[re.Pattern[str], str, bool]] = [
    (re.compile(r"\btonight\b"), "night", True),
    (re.compile(r"\bthis\s+morning\b"), "morning", True),
    (re.compile(r"\bthis\s+afternoon\b"), "afternoon", True),
    (re.compile(r"\bthis\s+evening\b"), "evening", True),
    (re.compile(r"\bafter\s+lunch\b"), "after_lunch", False),
    # "lunch" alone is often now ("I'm on my lunch break"), so it needs a preposition or "time".
    (re.compile(r"\b(?:at|around|over|during|by|before)\s+lunch(?:\s*time)?\b|\blunch\s*time\b"), "noon", False),
    (
        re.compile(r"\b(?:by\s+|at\s+|before\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(?:business\s+)?day\b"),
        "end_of_day",
        False,
    ),
    (re.compile(r"\bfirst\s+thing\b"), "morning", False),
    (re.compile(r"\b(?:in\s+the\s+)?morning\b"), "morning", False),
    (re.compile(r"\b(?:in\s+the\s+)?afternoon\b"), "afternoon", False),
    (re.compile(r"\b(?:in\s+the\s+)?evening\b"), "evening", False),
    (re.compile(r"\b(?:at\s+)?night\b"), "night", False),
]

_CUE = r"(?:at|around|about|by|before|until|till|after|from|say|like|approximately|roughly|maybe)"
_BY_CUES = ("by", "before", "until", "till")
_MER = r"(?P<mer>[ap]\.?\s?m\b\.?|o'?\s?clock\b|ish\b)"
_RANGE = re.compile(
    r"\b(?:(?P<kw>between|from)\s+)?(?P<a>\d{1,2})(?::(?P<am>[0-5]\d))?\s*(?P<amer>[ap]\.?m\b\.?)?"
    r"\s*(?:and|to|till|until|-)\s*(?P<b>\d{1,2})(?::(?P<bm>[0-5]\d))?\s*(?P<bmer>[ap]\.?m\b\.?)?(?![\d:])"
)
_PAST_HOUR = re.compile(
    rf"\b(?:(?P<cue>{_CUE})\s+)?(?:a\s+)?(?P<q>half|quarter|(?P<mm>\d{{1,2}})(?:\s+minutes?)?)\s+"
    r"(?P<dir>past|after|to|till|before|of)\s+(?P<h>\d{1,2})\b(?![:\d])"
)
_NOON = re.compile(rf"\b(?:(?P<cue>{_CUE})\s+)?(?P<w>noon|midday|midnight)\b")
_CLOCK = re.compile(
    rf"(?<![\d:.,$])\b(?:(?P<cue>{_CUE})\s+)?(?P<h>\d{{1,2}})(?!{_ORD}\b)"
    r"(?:[:.](?P<m>[0-5]\d)|\s+(?P<m2>[0-5]\d)|\s+oh\s+(?P<m3>\d))?(?!\d|[,.]\d|%|\$)"
    rf"(?:\s*{_MER})?"
)
_REL = re.compile(
    r"\b(?:(?P<cue>in|after|within|give\s+me|another|wait)\s+)?(?:(?:about|around|like|maybe|roughly|just)\s+)?"
    r"(?P<n>\d+(?:\.\d+)?|half\s+an?|an?|a\s+couple(?:\s+of)?|a\s+few)\s+(?P<half>and\s+a\s+half\s+)?"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?)\b(?P<half2>\s+and\s+a\s+half)?"
    r"(?P<tail>\s+from\s+now|\s+later|'?s\s+time)?"
)
_VAGUE = re.compile(
    r"\b(?:later(?:\s+on)?|in\s+a\s+(?:bit|while|little\s+while|little\s+bit|minute|moment|sec)|"
    r"a\s+(?:bit|little)\s+later|after\s+a\s+while|shortly|soon)\b"
)
_FILLERS = frozenset(
    "um umm uh er hmm well ok okay so how about what maybe let's lets say call me back then please works "
    "is fine good would work that try yeah yes sure oh like how's hows".split()
)
_UNITS: dict[str, Unit] = {"min": "minute", "minute": "minute", "hr": "hour", "hour": "hour", "day": "day"}


def extract_en(t: str, today: date) -> Pieces | None:
    """The pieces of a time expression in normalised English text; None if there is none."""
    if _PAST.search(t):
        return None
    rel = _relative(t)
    if rel is not None:
        return rel
    p = Pieces()
    _find_day(t, today, p)
    _find_part(t, today, p)
    _find_clock(t, p)
    if p.when is None and p.part is None and p.clock is None:
        m = _VAGUE.search(t)
        if m is None:
            return None
        p.vague = True
        p.spans.append(m.span())
    elif (m := _VAGUE.search(t)) is not None and p.when == Day(today) and p.part is None and p.clock is None:
        p.vague = True  # "later today"
        p.spans.append(m.span())
    return p


def _relative(t: str) -> Pieces | None:
    for m in _REL.finditer(t):
        if not (m.group("cue") or m.group("tail") or _alone(t, m.span())):
            continue
        n = m.group("n")
        value = 0.5 if n.startswith("half") else 2.0 if "couple" in n else 3.0 if "few" in n else _num(n)
        if m.group("half") or m.group("half2"):
            value += 0.5
        unit = m.group("unit").rstrip("s")
        return Pieces(relative=(value, _UNITS.get(unit, "week")), spans=[m.span()])
    return None


def _num(n: str) -> float:
    return 1.0 if n in ("a", "an") else float(n)


def _find_day(t: str, today: date, p: Pieces) -> None:
    for pattern, handler in _DAYS:
        for m in pattern.finditer(t):
            when = handler(m, today)
            if when is not None:
                p.when = when
                p.spans.append(m.span())
                return


def _find_part(t: str, today: date, p: Pieces) -> None:
    for pattern, part, names_today in _PARTS:
        m = pattern.search(t)
        if m is not None:
            p.part = part
            p.spans.append(m.span())
            if names_today and p.when is None:
                p.when = Day(today)
            return


def _find_clock(t: str, p: Pieces) -> None:
    taken = list(p.spans)
    for find in (_range, _past_hour, _noon, _plain_clock):
        found = find(t, taken)
        if found is not None:
            p.clock, p.until, span = found
            p.spans.append(span)
            return


Found = tuple[Clock, Clock | None, tuple[int, int]] | None


def _range(t: str, taken: list[tuple[int, int]]) -> Found:
    for m in _RANGE.finditer(t):
        if _overlaps(m.span(), taken) or not (m.group("kw") or m.group("amer") or m.group("bmer")):
            continue
        a, b = int(m.group("a")), int(m.group("b"))
        amer, bmer = _meridiem(m.group("amer")), _meridiem(m.group("bmer"))
        if a > 24 or b > 24:
            continue
        if amer is None and bmer is not None and a <= b:
            amer = bmer  # "2 to 4pm"
        start = Clock(a, int(m.group("am") or 0), amer, exact=bool(m.group("am")))
        return start, Clock(b, int(m.group("bm") or 0), bmer), m.span()
    return None


def _past_hour(t: str, taken: list[tuple[int, int]]) -> Found:
    """ "half past four", "quarter to five", "ten past three"."""
    for m in _PAST_HOUR.finditer(t):
        q, h = m.group("q"), int(m.group("h"))
        minutes = 30 if q.startswith("half") else 15 if q.startswith("quarter") else int(m.group("mm"))
        if (
            _overlaps(m.span(), taken)
            or not 1 <= h <= 12
            or minutes >= 60
            or (q.startswith("half") and m.group("dir") != "past")
        ):
            continue
        if m.group("dir") in ("to", "till", "before", "of"):
            h, minutes = (h - 1) % 24 or 12, 60 - minutes
        return Clock(h, minutes, exact=True, by=m.group("cue") in _BY_CUES), None, m.span()
    return None


def _noon(t: str, taken: list[tuple[int, int]]) -> Found:
    m = _NOON.search(t)
    if m is None or _overlaps(m.span(), taken):
        return None
    return Clock(0 if m.group("w") == "midnight" else 12, by=m.group("cue") in _BY_CUES), None, m.span()


def _plain_clock(t: str, taken: list[tuple[int, int]]) -> Found:
    for m in _CLOCK.finditer(t):
        h = int(m.group("h"))
        minute = m.group("m") or m.group("m2") or m.group("m3")
        strong = m.group("cue") or m.group("mer") or m.group("m")
        if _overlaps(m.span(), taken) or h > 24:
            continue
        if not (strong or _adjacent(t, m.span(), taken) or _alone(t, m.span())):
            continue
        mer = _meridiem(m.group("mer"))
        exact = minute is not None and int(minute) != 0
        clock = Clock(h, int(minute or 0), mer, exact=exact, by=m.group("cue") in _BY_CUES)
        return clock, None, m.span()
    return None


def _meridiem(text: str | None) -> Meridiem | None:
    if not text or text[0] not in "ap":
        return None
    return "am" if text[0] == "a" else "pm"


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


def _adjacent(t: str, span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    """Only spaces, commas or "at" between `span` and a day or part of day already found."""
    for s, e in taken:
        gap = t[e : span[0]] if e <= span[0] else t[span[1] : s]
        if re.fullmatch(r"[\s,]*(?:at\s*)?", gap):
            return True
    return False


def _alone(t: str, span: tuple[int, int]) -> bool:
    """Whether the match is all the customer said, apart from filler words ("um, how about 3?")."""
    if len(t) - (span[1] - span[0]) > 80:  # more than fillers around it (and keeps long texts linear)
        return False
    rest = t[: span[0]] + " " + t[span[1] :]
    return all(w in _FILLERS for w in re.findall(r"[a-z0-9']+", rest))
