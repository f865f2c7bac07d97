"""Turning the pieces of a time expression into a window in the lead's local time, safe across DST changes.

Two kinds of arithmetic, never mixed. *Elapsed* time ("in two hours") is added in UTC, so it is exactly two
hours even across a DST change. *Wall-clock* times ("tomorrow at 3") are built from a date and a clock time in
the lead's zone, so they read 15:00 locally whatever the offset is that day. A wall-clock time that DST skips
(02:30 on spring-forward day) moves forward by the gap; one that happens twice takes the first.

Future bias: a clock time with no day is the next one after `now`; a bare weekday is the next one after
today; of the two readings of "3" (03:00 and 15:00) the one inside business hours wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from dialogue.slots_types import Precision

Meridiem = Literal["am", "pm", "noon"]
Unit = Literal["minute", "hour", "day", "week"]
Resolved = tuple[datetime, datetime | None, Precision]

# A bare "3" means 15:00 because 03:00 is outside these (both ends included: "at 8" said at 10:00 is 20:00).
BUSINESS_START_H = 8
BUSINESS_END_H = 20
# Where a vague "later" / "晚点" / "过一会儿" puts the start: the dialogue engine books a callback there.
LATER_DELAY = timedelta(hours=1)

# Part of the day: (start h, m), (end h, m), and what a bare clock hour inside it means.
PARTS: dict[str, tuple[tuple[int, int], tuple[int, int], Meridiem]] = {
    "small_hours": ((0, 0), (6, 0), "am"),  # 凌晨
    "morning": ((8, 0), (12, 0), "am"),
    "noon": ((12, 0), (13, 30), "noon"),  # lunchtime, 中午: "中午一点" is 13:00
    "after_lunch": ((13, 0), (15, 0), "pm"),
    "afternoon": ((13, 0), (18, 0), "pm"),
    "end_of_day": ((16, 0), (18, 0), "pm"),
    "dusk": ((17, 0), (19, 0), "pm"),  # 傍晚
    "evening": ((17, 0), (21, 0), "pm"),
    "night": ((18, 0), (22, 0), "pm"),  # tonight, 晚上, 今晚
}


@dataclass(frozen=True, slots=True)
class Day:
    day: date


@dataclass(frozen=True, slots=True)
class Span:
    """Several days ("next week", "月底"): business hours from the first day to the last."""

    first: date
    last: date
    precision: Precision = "week"


@dataclass(frozen=True, slots=True)
class Clock:
    hour: int  # as said: 3 for "3", "3pm" and "三点" alike; the meridiem decides
    minute: int = 0
    meridiem: Meridiem | None = None
    exact: bool = False  # minutes were said ("3:30", "三点半"): minute precision
    by: bool = False  # "by 5", "五点之前": the window ends at this time


@dataclass(slots=True)
class Pieces:
    """What a grammar found in one utterance, with the spans (normalised text) that named it."""

    when: Day | Span | None = None
    part: str | None = None
    clock: Clock | None = None
    until: Clock | None = None  # the end of a range ("2 to 4", "三点到五点")
    relative: tuple[float, Unit] | None = None  # "in two hours", "两天后"
    vague: bool = False  # "later", "晚点"
    spans: list[tuple[int, int]] = field(default_factory=list)


def wall(day: date, hour: int, minute: int, tz: tzinfo) -> datetime:
    """Local wall-clock time on `day` (hour 24 is midnight at the end of the day)."""
    naive = datetime(day.year, day.month, day.day) + timedelta(hours=hour, minutes=minute)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def elapsed(now: datetime, delta: timedelta) -> datetime:
    """`now + delta` in real elapsed time (adding in the lead's zone would be wall-clock arithmetic)."""
    return (now.astimezone(UTC) + delta).astimezone(now.tzinfo)


def in_business_hours(t: datetime) -> bool:
    minutes = t.hour * 60 + t.minute
    return BUSINESS_START_H * 60 <= minutes <= BUSINESS_END_H * 60


def hour_readings(hour: int, meridiem: Meridiem | None) -> list[int]:
    """The 24-hour readings of a spoken hour: "3" → [3, 15], "3pm" → [15], "中午一点" → [13]."""
    if not 0 <= hour <= 24:
        return []
    if hour >= 13 or hour == 0:
        return [hour % 24]
    if meridiem == "am":
        return [0 if hour == 12 else hour]
    if meridiem == "pm":
        return [hour if hour == 12 else hour + 12]
    if meridiem == "noon":
        return [hour + 12 if hour <= 5 else hour]
    return [hour] if hour == 12 else [hour, hour + 12]


def resolve_clock(now: datetime, day: date | None, clock: Clock, meridiem: Meridiem | None) -> datetime | None:
    """The earliest reading after `now` on `day` (today or tomorrow if None), business hours first."""
    tz = _tz(now)
    days = [day] if day is not None else [now.date(), now.date() + timedelta(days=1)]
    found = [wall(d, h, clock.minute, tz) for d in days for h in hour_readings(clock.hour, meridiem)]
    future = [t for t in found if t > now]
    preferred = [t for t in future if in_business_hours(t)] or future
    return min(preferred, default=None)


def compose(now: datetime, p: Pieces) -> Resolved | None:
    """The window the pieces name, or None if they name a time in the past or nothing at all."""
    if p.relative is not None:
        return relative(now, *p.relative)
    if isinstance(p.when, Span):
        return span_window(now, p.when)
    if p.clock is not None:
        return _at_clock(now, p)
    day = p.when.day if p.when is not None else None
    if p.part is not None:
        return _in_part(now, day, p.part)
    if p.vague and (day is None or day == now.date()):
        return later(now, today_only=day is not None)
    return day_window(now, day) if day is not None else None


def _at_clock(now: datetime, p: Pieces) -> Resolved | None:
    assert p.clock is not None
    meridiem = p.clock.meridiem or (PARTS[p.part][2] if p.part else None)
    day = p.when.day if isinstance(p.when, Day) else None
    start = resolve_clock(now, day, p.clock, meridiem)
    if start is None:
        return None
    precision: Precision = "minute" if p.clock.exact else "hour"
    if p.clock.by:
        opening = max(now, wall(start.date(), BUSINESS_START_H, 0, _tz(now)))
        return (opening, start, precision) if opening < start else (start, None, precision)
    end = _range_end(start, p.until, meridiem) if p.until is not None else None
    return start, end, precision


def _range_end(start: datetime, until: Clock, meridiem: Meridiem | None) -> datetime | None:
    """The first reading of the range's end that falls after its start, on the same day."""
    tz = _tz(start)
    for hour in sorted(hour_readings(until.hour, until.meridiem or meridiem)):
        t = wall(start.date(), hour, until.minute, tz)
        if t > start:
            return t
    return None


def _in_part(now: datetime, day: date | None, part: str) -> Resolved | None:
    """That part of `day`; with no day, of today if it is not over yet, else of tomorrow."""
    (sh, sm), (eh, em), _ = PARTS[part]
    tz = _tz(now)
    for d in [day] if day is not None else [now.date(), now.date() + timedelta(days=1)]:
        start, end = wall(d, sh, sm, tz), wall(d, eh, em, tz)
        if end > now:
            return max(start, now), end, "part_of_day"
    return None


def day_window(now: datetime, day: date) -> Resolved | None:
    """Business hours of `day`, clipped to start at `now`; today after hours is just "from now"."""
    if day < now.date():
        return None
    tz = _tz(now)
    start = max(now, wall(day, BUSINESS_START_H, 0, tz))
    end = wall(day, BUSINESS_END_H, 0, tz)
    return (start, end, "day") if end > start else (now, None, "day")


def span_window(now: datetime, span: Span) -> Resolved | None:
    tz = _tz(now)
    end = wall(span.last, BUSINESS_END_H, 0, tz)
    if end <= now:
        return None
    return max(now, wall(span.first, BUSINESS_START_H, 0, tz)), end, span.precision


def later(now: datetime, today_only: bool) -> Resolved:
    """A vague "later": `LATER_DELAY` from now; "later today" also ends with today's business hours."""
    start = elapsed(now, LATER_DELAY)
    end = wall(now.date(), BUSINESS_END_H, 0, _tz(now)) if today_only else None
    return start, end if end is not None and end > start else None, "relative"


def relative(now: datetime, amount: float, unit: Unit) -> Resolved | None:
    """ "In N minutes/hours" is elapsed time; "in N days/weeks" lands on that day / that Monday-Friday week."""
    if unit in ("minute", "hour"):
        minutes = amount * (60 if unit == "hour" else 1)
        precision: Precision = "hour" if unit == "hour" and amount == int(amount) else "minute"
        return elapsed(now, timedelta(minutes=minutes)), None, precision
    if unit == "day":
        return day_window(now, now.date() + timedelta(days=round(amount)))
    target = now.date() + timedelta(days=round(7 * amount))
    monday = target - timedelta(days=target.weekday())
    return span_window(now, Span(monday, monday + timedelta(days=4)))


# --- dates named in words -------------------------------------------------------------------------------


def weekday_date(today: date, weekday: int, mode: Literal["upcoming", "this", "next", "after_next"]) -> date:
    """Monday = 0. "upcoming": strictly after today ("Monday", "周一"); "this": this week's, today included,
    or the upcoming one if already past ("this Friday", "这周五"); "next": next Monday-to-Sunday week's
    ("next Friday", "下周五"); "after_next": the week after that ("下下周五")."""
    ahead = (weekday - today.weekday()) % 7
    if mode == "upcoming":
        return today + timedelta(days=ahead or 7)
    if mode == "this":
        return today + timedelta(days=ahead)
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7 if mode == "next" else 14)
    return monday + timedelta(days=weekday)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def day_of_month(today: date, dom: int, months_ahead: int = 0) -> date | None:
    """The next `dom`-th of a month from today on ("the 15th", "十五号"); `months_ahead` forces a month."""
    if not 1 <= dom <= 31:
        return None
    for k in range(months_ahead, months_ahead + 12):
        year, month = divmod(today.month - 1 + k, 12)
        d = _safe_date(today.year + year, month + 1, dom)
        if d is not None and d >= today:
            return d
    return None


def month_day(today: date, month: int, dom: int) -> date | None:
    """The next `month`/`dom` from today on ("March 3rd", "3月3号"); None if there is no such date."""
    if not 1 <= month <= 12:
        return None
    for year in range(today.year, today.year + 9):  # up to 8 years ahead: a February 29th
        d = _safe_date(year, month, dom)
        if d is not None and d >= today:
            return d
    return None


def week_span(today: date, weeks_ahead: int) -> Span:
    """Monday to Friday, `weeks_ahead` weeks from this one ("next week" = 1); this week starts today."""
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7 * weeks_ahead)
    first = max(today, monday)
    last = monday + timedelta(days=4 if first.weekday() <= 4 else 6)
    return Span(first, last)


def weekend(today: date, weeks_ahead: int) -> Span:
    saturday = today - timedelta(days=today.weekday()) + timedelta(days=5 + 7 * weeks_ahead)
    return Span(max(today, saturday), saturday + timedelta(days=1))


def end_of_week(today: date) -> Day:
    """Friday of this week, or of next week once this week's Friday has passed."""
    return Day(weekday_date(today, 4, "this"))


def _month_bounds(today: date, months_ahead: int) -> tuple[date, date]:
    year, month = divmod(today.month - 1 + months_ahead, 12)
    first = date(today.year + year, month + 1, 1)
    ny, nm = divmod(month + 1, 12)
    return first, date(today.year + year + ny, nm + 1, 1) - timedelta(days=1)


def month_span(today: date, months_ahead: int) -> Span:
    first, last = _month_bounds(today, months_ahead)
    return Span(max(first, today), last)


def month_end(today: date, months_ahead: int) -> Span:
    """The last five days of the month ("end of the month", "月底")."""
    _, last = _month_bounds(today, months_ahead)
    return Span(max(today, last - timedelta(days=4)), last)


def month_start(today: date, months_ahead: int) -> Span:
    """The first five days of the month ("月初"), next month's once this month's have begun."""
    first, _ = _month_bounds(today, months_ahead)
    if first < today:
        first, _ = _month_bounds(today, months_ahead + 1)
    return Span(first, first + timedelta(days=4))


def _tz(t: datetime) -> tzinfo:
    if t.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime, got a naive one")
    return t.tzinfo
