"""Mandarin time grammar: 明天下午三点, 后天上午, 下周二, 今晚八点, 三点半, 两个小时后, 月底, 十五号, 晚点 ...

Works on normalised text (NFKC: full-width digits and colons are ASCII). Numbers may be digits or Chinese
numerals (一二三…十, 两, 十一, 二十, 三十五, 半). "一点" is 1 o'clock only in context (明天一点, 一点半, 一点钟),
never after 晚/早/快/有 ("晚一点" is "a bit later"). Past references (昨天, 上周, 上个月) name no callback time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from dialogue.slots_calendar import (
    Clock,
    Day,
    Pieces,
    Span,
    Unit,
    day_of_month,
    month_day,
    month_end,
    month_span,
    month_start,
    week_span,
    weekday_date,
    weekend,
)
from dialogue.slots_text import zh_number

_N = "[0-9零\u3007一二两三四五六七八九十]"
_WEEK = "(?:周|星期|礼拜)"
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "7": 6}
_WEEKDAY.update({str(i + 1): i for i in range(6)})

_PAST = re.compile(rf"昨天|昨晚|昨日|前天|上{_WEEK}|上个{_WEEK}|上个?月|去年|刚才")

DayHandler = Callable[[re.Match[str], date], Day | Span | None]


def _int(text: str) -> int:
    value = zh_number(text)
    return -1 if value is None or value != int(value) else int(value)


def _weekday(m: re.Match[str], today: date) -> Day:
    mod, wd = m.group("mod") or "", _WEEKDAY[m.group("wd")]
    if mod.startswith("下下"):
        return Day(weekday_date(today, wd, "after_next"))
    if mod.startswith("下"):
        return Day(weekday_date(today, wd, "next"))
    return Day(weekday_date(today, wd, "this" if mod else "upcoming"))


def _date(d: date | None) -> Day | None:
    return Day(d) if d is not None else None


def _plus(days: int) -> DayHandler:
    return lambda _m, today: Day(today + timedelta(days=days))


# Tried in order; the first that matches names the day.
_DAYS: list[tuple[re.Pattern[str], DayHandler]] = [
    (re.compile("大后天"), _plus(3)),
    (re.compile("后天"), _plus(2)),
    (re.compile("明天|明日|明儿|明早|明晚"), _plus(1)),
    (re.compile(rf"(?P<mod>下下个?|下个?|这个?|本)?{_WEEK}(?P<wd>[一二三四五六日天1-7])"), _weekday),
    (
        re.compile(rf"(?P<mod>下个?|这个?|本)?{_WEEK}末"),
        lambda m, t: weekend(t, 1 if m.group("mod") and m.group("mod")[0] == "下" else 0),
    ),
    (re.compile(rf"下个?月(?P<d>{_N}{{1,3}})[号日]"), lambda m, t: _date(day_of_month(t, _int(m.group("d")), 1))),
    (
        re.compile(rf"(?P<mo>{_N}{{1,3}})月(?P<d>{_N}{{1,3}})[号日]?"),
        lambda m, t: _date(month_day(t, _int(m.group("mo")), _int(m.group("d")))),
    ),
    (re.compile("下个?月底"), lambda _m, t: month_end(t, 1)),
    (re.compile("月底"), lambda _m, t: month_end(t, 0)),
    (re.compile("下个?月初"), lambda _m, t: month_start(t, 1)),
    (re.compile("月初"), lambda _m, t: month_start(t, 0)),
    (re.compile("下个?月"), lambda _m, t: month_span(t, 1)),
    (re.compile("这个?月|本月"), lambda _m, t: month_span(t, 0)),
    (re.compile(rf"(?P<d>{_N}{{1,3}})[号日](?!子)"), lambda m, t: _date(day_of_month(t, _int(m.group("d"))))),
    (re.compile(rf"下下个?{_WEEK}"), lambda _m, t: week_span(t, 2)),
    (re.compile(rf"下个?{_WEEK}"), lambda _m, t: week_span(t, 1)),
    (re.compile(rf"(?:这个?|本){_WEEK}"), lambda _m, t: week_span(t, 0)),
    (re.compile("今天|今日|今儿|今早|今晚"), _plus(0)),
]

_PARTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile("凌晨"), "small_hours"),
    (re.compile("午饭后|吃完午饭|吃完饭|午休后"), "after_lunch"),
    (re.compile("早上|早晨|清早|一早|明早|今早|上午"), "morning"),
    (re.compile("中午|午饭时间|午休"), "noon"),
    (re.compile("下午"), "afternoon"),
    (re.compile("下班前"), "end_of_day"),
    (re.compile("傍晚"), "dusk"),
    (re.compile("晚上|夜里|今晚|明晚|晚间"), "night"),
]

_RANGE = re.compile(
    rf"(?P<a>{_N}{{1,3}})\s*(?:[点點](?P<ah>半)?)?\s*(?:到|至|-|~)\s*(?P<b>{_N}{{1,3}})\s*[点點](?P<bh>半)?(?:之间|中间)?"
)
_CLOCK = re.compile(
    rf"(?P<h>{_N}{{1,3}})\s*[点點时](?![点儿])钟?"
    rf"(?:(?P<half>半)|(?P<q>[一三13])刻|(?P<m>{_N}{{1,3}})(?:分钟?)?)?(?P<by>之前|以前|前)?"
)
_COLON = re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<m>[0-5]\d)(?![\d:])")
# "两点" after 这/有/第 is "these two points"; "一点" after 晚/早/快/... is "a bit".
_NOT_CLOCK_AFTER = "这那有第"
_NOT_ONE_OCLOCK_AFTER = "晚早快慢好多少大小差等再一有这那第"
_ONE_OCLOCK_NEXT = re.compile(rf"钟|半|刻|分|{_N}|左右|以后|之后|之前|以前|前|到")
_REL = re.compile(
    rf"(?<![点點{_N[1:-1]}])(?P<pre>再过|过|等)?\s*(?P<n>{_N}+|半)\s*个?\s*(?P<half>半)?\s*"
    r"(?P<unit>小时|钟头|分钟|分|天|周|星期|礼拜)\s*(?P<post>(?:左右)?(?:以后|之后|后))?"
)
_VAGUE = re.compile(
    "晚些时候|晚一点|晚点|晚些|晚会儿|过一会儿?|过会儿?|一会儿?|待会儿?|等会儿?|等一下|回头|稍后|迟些|迟点"
)
_UNITS: dict[str, Unit] = {"小时": "hour", "钟头": "hour", "分钟": "minute", "分": "minute", "天": "day"}


def extract_zh(t: str, today: date) -> Pieces | None:
    """The pieces of a time expression in normalised Mandarin text; None if there is none."""
    if _PAST.search(t):
        return None
    rel = _relative(t)
    if rel is not None:
        return rel
    p = Pieces()
    _find_day(t, today, p)
    _find_part(t, p)
    _find_clock(t, p)
    m = _VAGUE.search(t)
    if p.when is None and p.part is None and p.clock is None:
        if m is None:
            return None
        p.vague = True
        p.spans.append(m.span())
    elif m is not None and p.when == Day(today) and p.part is None and p.clock is None:
        p.vague = True  # 今天晚点
        p.spans.append(m.span())
    return p


def _relative(t: str) -> Pieces | None:
    for m in _REL.finditer(t):
        if not (m.group("pre") or m.group("post")):
            continue
        n = m.group("n")
        value = 0.5 if n == "半" else zh_number(n)
        if value is None:
            continue
        if m.group("half"):
            value += 0.5
        return Pieces(relative=(value, _UNITS.get(m.group("unit"), "week")), spans=[m.span()])
    return None


def _find_day(t: str, today: date, p: Pieces) -> None:
    for pattern, handler in _DAYS:
        for m in pattern.finditer(t):
            when = handler(m, today)
            if when is not None:
                p.when = when
                p.spans.append(m.span())
                return


def _find_part(t: str, p: Pieces) -> None:
    for pattern, part in _PARTS:
        m = pattern.search(t)
        if m is not None:
            p.part = part
            p.spans.append(m.span())
            return


def _find_clock(t: str, p: Pieces) -> None:
    taken = list(p.spans)
    for find in (_range, _clock, _colon):
        found = find(t, taken, bool(p.spans))
        if found is not None:
            p.clock, p.until, span = found
            p.spans.append(span)
            return


Found = tuple[Clock, Clock | None, tuple[int, int]] | None


def _range(t: str, taken: list[tuple[int, int]], _context: bool) -> Found:
    for m in _RANGE.finditer(t):
        a, b = _int(m.group("a")), _int(m.group("b"))
        if _overlaps(m.span(), taken) or not (0 <= a <= 24 and 0 <= b <= 24):
            continue
        start = Clock(a, 30 if m.group("ah") else 0, exact=bool(m.group("ah")))
        return start, Clock(b, 30 if m.group("bh") else 0), m.span()
    return None


def _clock(t: str, taken: list[tuple[int, int]], context: bool) -> Found:
    for m in _CLOCK.finditer(t):
        h, before = _int(m.group("h")), t[m.start() - 1 : m.start()]
        minute = _minutes(m)
        if _overlaps(m.span(), taken) or not 0 <= h <= 24 or minute is None or (before and before in _NOT_CLOCK_AFTER):
            continue
        if m.group("h") == "一" and not _one_oclock(t, m, before, context):
            continue
        exact = minute != 0
        return Clock(h, minute, exact=exact, by=bool(m.group("by"))), None, m.span()
    return None


def _minutes(m: re.Match[str]) -> int | None:
    if m.group("half"):
        return 30
    if m.group("q"):
        return 15 if m.group("q") in "一1" else 45
    if m.group("m"):
        value = _int(m.group("m"))
        return value if 0 <= value < 60 else None
    return 0


def _one_oclock(t: str, m: re.Match[str], before: str, context: bool) -> bool:
    """Whether "一点" is 1 o'clock: said with a day or part of day, or with minutes / 钟 / 左右 ..."""
    if before and before in _NOT_ONE_OCLOCK_AFTER:
        return False
    return context or m.end() - m.start() > 2 or _ONE_OCLOCK_NEXT.match(t, m.end()) is not None


def _colon(t: str, taken: list[tuple[int, int]], _context: bool) -> Found:
    for m in _COLON.finditer(t):
        h, minute = int(m.group("h")), int(m.group("m"))
        if not _overlaps(m.span(), taken) and h <= 24:
            return Clock(h, minute, exact=minute != 0), None, m.span()
    return None


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)
