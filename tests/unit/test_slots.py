"""Slot extraction (dialogue.slots): times, amounts and yes/no in English and Mandarin.

Times are read against a fixed `now`: Wednesday 2026-11-18 10:00, in New York for English and in Shanghai for
Mandarin. Expected times are written out by hand as lead-local wall-clock times ("11-19 15:00").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from dialogue.slots import Amount, TimeSlot, parse_amount, parse_time, parse_yes_no
from dialogue.slots_calendar import day_of_month, month_day, weekday_date
from dialogue.slots_text import english_numbers, normalize, zh_number

pytestmark = pytest.mark.unit

NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")
NOW_EN = datetime(2026, 11, 18, 10, 0, tzinfo=NY)  # a Wednesday
NOW_ZH = datetime(2026, 11, 18, 10, 0, tzinfo=SH)
FULL_WIDTH_1530 = "\uff11\uff15\uff1a\uff13\uff10"  # "15:30" typed with a Chinese input method


def local(tz: tzinfo, text: str) -> datetime:
    """ "11-19 15:00" (year 2026) or "2027-03-03 10:00" as a wall-clock time in `tz`."""
    full = text if len(text) > 11 else f"2026-{text}"
    return datetime.strptime(full, "%Y-%m-%d %H:%M").replace(tzinfo=tz)


def check_slot(slot: TimeSlot | None, now: datetime, start: str, end: str | None, precision: str, text: str) -> None:
    assert slot is not None
    assert slot.start.tzinfo is now.tzinfo and (slot.end is None or slot.end.tzinfo is now.tzinfo)
    assert slot.start.astimezone(UTC) == local(now.tzinfo, start).astimezone(UTC)  # type: ignore[arg-type]
    if end is None:
        assert slot.end is None
    else:
        assert slot.end is not None
        assert slot.end.astimezone(UTC) == local(now.tzinfo, end).astimezone(UTC)  # type: ignore[arg-type]
    assert (slot.precision, slot.text) == (precision, text)
    assert slot.start >= now


# (text, start, end, precision, the words quoted as the slot's text)
TIME_EN = [
    ("tomorrow at 3", "11-19 15:00", None, "hour", "tomorrow at 3"),
    ("3pm", "11-18 15:00", None, "hour", "3pm"),
    ("at three thirty", "11-18 15:30", None, "minute", "at three thirty"),
    ("half past four", "11-18 16:30", None, "minute", "half past four"),
    ("in two hours", "11-18 12:00", None, "hour", "in two hours"),
    ("in 20 minutes", "11-18 10:20", None, "minute", "in 20 minutes"),
    ("next Tuesday morning", "11-24 08:00", "11-24 12:00", "part_of_day", "next Tuesday morning"),
    ("Monday", "11-23 08:00", "11-23 20:00", "day", "Monday"),
    ("this afternoon", "11-18 13:00", "11-18 18:00", "part_of_day", "this afternoon"),
    ("tonight", "11-18 18:00", "11-18 22:00", "part_of_day", "tonight"),
    ("end of the week", "11-20 08:00", "11-20 20:00", "day", "end of the week"),
    ("next week", "11-23 08:00", "11-27 20:00", "week", "next week"),
    ("the 15th", "12-15 08:00", "12-15 20:00", "day", "the 15th"),
    ("March 3rd at 10am", "2027-03-03 10:00", None, "hour", "March 3rd at 10am"),
    ("after lunch", "11-18 13:00", "11-18 15:00", "part_of_day", "after lunch"),
    ("around 5", "11-18 17:00", None, "hour", "around 5"),
    ("later today", "11-18 11:00", "11-18 20:00", "relative", "later today"),
    ("3", "11-18 15:00", None, "hour", "3"),  # 03:00 is at night: the business reading wins
    ("at 9", "11-19 09:00", None, "hour", "at 9"),  # 09:00 has passed, 21:00 is after hours
    ("at 7", "11-18 19:00", None, "hour", "at 7"),
    ("at 8", "11-18 20:00", None, "hour", "at 8"),
    ("10am", "11-19 10:00", None, "hour", "10am"),
    ("noon", "11-18 12:00", None, "hour", "noon"),
    ("at noon tomorrow", "11-19 12:00", None, "hour", "at noon tomorrow"),
    ("Friday", "11-20 08:00", "11-20 20:00", "day", "Friday"),
    ("this Friday", "11-20 08:00", "11-20 20:00", "day", "this Friday"),
    ("next Friday", "11-27 08:00", "11-27 20:00", "day", "next Friday"),
    ("Wednesday", "11-25 08:00", "11-25 20:00", "day", "Wednesday"),  # today is Wednesday: the next one
    ("Tuesday next week", "11-24 08:00", "11-24 20:00", "day", "Tuesday next week"),
    ("tomorrow", "11-19 08:00", "11-19 20:00", "day", "tomorrow"),
    ("today", "11-18 10:00", "11-18 20:00", "day", "today"),
    ("tomorrow morning", "11-19 08:00", "11-19 12:00", "part_of_day", "tomorrow morning"),
    ("the day after tomorrow", "11-20 08:00", "11-20 20:00", "day", "the day after tomorrow"),
    ("in half an hour", "11-18 10:30", None, "minute", "in half an hour"),
    ("in an hour", "11-18 11:00", None, "hour", "in an hour"),
    ("in a couple of hours", "11-18 12:00", None, "hour", "in a couple of hours"),
    ("an hour and a half from now", "11-18 11:30", None, "minute", "an hour and a half from now"),
    ("20 minutes", "11-18 10:20", None, "minute", "20 minutes"),
    ("in 3 days", "11-21 08:00", "11-21 20:00", "day", "in 3 days"),
    ("in two weeks", "11-30 08:00", "12-04 20:00", "week", "in two weeks"),
    ("quarter to five", "11-18 16:45", None, "minute", "quarter to five"),
    ("ten past three", "11-18 15:10", None, "minute", "ten past three"),
    ("5:30pm on Friday", "11-20 17:30", None, "minute", "5:30pm on Friday"),
    ("Friday at 2:30", "11-20 14:30", None, "minute", "Friday at 2:30"),
    ("this evening", "11-18 17:00", "11-18 21:00", "part_of_day", "this evening"),
    ("in the evening", "11-18 17:00", "11-18 21:00", "part_of_day", "in the evening"),
    ("tomorrow night at 8", "11-19 20:00", None, "hour", "tomorrow night at 8"),
    ("8 o'clock tomorrow morning", "11-19 08:00", None, "hour", "8 o'clock tomorrow morning"),
    ("December 1st", "12-01 08:00", "12-01 20:00", "day", "December 1st"),
    ("the 3rd of December", "12-03 08:00", "12-03 20:00", "day", "the 3rd of December"),
    ("on the 20th", "11-20 08:00", "11-20 20:00", "day", "on the 20th"),
    ("the fifteenth", "12-15 08:00", "12-15 20:00", "day", "the fifteenth"),
    ("between 2 and 4", "11-18 14:00", "11-18 16:00", "hour", "between 2 and 4"),
    ("2 to 4pm", "11-18 14:00", "11-18 16:00", "hour", "2 to 4pm"),
    ("by 5", "11-18 10:00", "11-18 17:00", "hour", "by 5"),
    ("later", "11-18 11:00", None, "relative", "later"),
    ("in a bit", "11-18 11:00", None, "relative", "in a bit"),
    ("this weekend", "11-21 08:00", "11-22 20:00", "week", "this weekend"),
    ("next month", "12-01 08:00", "12-31 20:00", "week", "next month"),
    ("end of the month", "11-26 08:00", "11-30 20:00", "week", "end of the month"),
    ("around five thirty", "11-18 17:30", None, "minute", "around five thirty"),
    ("twelve thirty", "11-18 12:30", None, "minute", "twelve thirty"),
    ("five pm", "11-18 17:00", None, "hour", "five pm"),
    ("1 p.m.", "11-18 13:00", None, "hour", "1 p.m."),
    ("Call me back tomorrow at three, please.", "11-19 15:00", None, "hour", "tomorrow at three"),
    ("sometime next week would be better", "11-23 08:00", "11-27 20:00", "week", "next week"),
    ("um, how about 4?", "11-18 16:00", None, "hour", "about 4"),
    (
        "can you call me back at lunch, like twelve thirty?",
        "11-18 12:30",
        None,
        "minute",
        "at lunch, like twelve thirty",
    ),
    (
        "I'm on my lunch break, call me tomorrow at five thirty",
        "11-19 17:30",
        None,
        "minute",
        "tomorrow at five thirty",
    ),
    ("call back later, this afternoon, like three", "11-18 15:00", None, "hour", "this afternoon, like three"),
    ("can you call me tomorrow afternoon around 3?", "11-19 15:00", None, "hour", "tomorrow afternoon around 3"),
    ("I'm busy right now, call me back in an hour", "11-18 11:00", None, "hour", "in an hour"),
]


@pytest.mark.parametrize(("text", "start", "end", "precision", "quoted"), TIME_EN)
def test_english_times(text: str, start: str, end: str | None, precision: str, quoted: str) -> None:
    check_slot(parse_time(text, "en", NOW_EN), NOW_EN, start, end, precision, quoted)


TIME_ZH = [
    ("明天下午三点", "11-19 15:00", None, "hour", "明天下午三点"),
    ("后天上午", "11-20 08:00", "11-20 12:00", "part_of_day", "后天上午"),
    ("下周二", "11-24 08:00", "11-24 20:00", "day", "下周二"),
    ("周五", "11-20 08:00", "11-20 20:00", "day", "周五"),
    ("今晚八点", "11-18 20:00", None, "hour", "今晚八点"),
    ("三点半", "11-18 15:30", None, "minute", "三点半"),
    ("两个小时后", "11-18 12:00", None, "hour", "两个小时后"),
    ("半小时以后", "11-18 10:30", None, "minute", "半小时以后"),
    ("下个月", "12-01 08:00", "12-31 20:00", "week", "下个月"),
    ("月底", "11-26 08:00", "11-30 20:00", "week", "月底"),
    ("十五号", "12-15 08:00", "12-15 20:00", "day", "十五号"),
    ("3月3号上午10点", "2027-03-03 10:00", None, "hour", "3月3号上午10点"),
    ("晚点", "11-18 11:00", None, "relative", "晚点"),
    ("晚一点", "11-18 11:00", None, "relative", "晚一点"),
    ("过一会儿", "11-18 11:00", None, "relative", "过一会儿"),
    ("待会儿再说", "11-18 11:00", None, "relative", "待会儿"),
    ("今天晚点", "11-18 11:00", "11-18 20:00", "relative", "今天晚点"),
    ("中午", "11-18 12:00", "11-18 13:30", "part_of_day", "中午"),
    ("傍晚", "11-18 17:00", "11-18 19:00", "part_of_day", "傍晚"),
    ("下午", "11-18 13:00", "11-18 18:00", "part_of_day", "下午"),
    ("明天", "11-19 08:00", "11-19 20:00", "day", "明天"),
    ("后天", "11-20 08:00", "11-20 20:00", "day", "后天"),
    ("大后天", "11-21 08:00", "11-21 20:00", "day", "大后天"),
    ("明晚", "11-19 18:00", "11-19 22:00", "part_of_day", "明晚"),
    ("明天中午", "11-19 12:00", "11-19 13:30", "part_of_day", "明天中午"),
    ("明天上午十点", "11-19 10:00", None, "hour", "明天上午十点"),
    ("星期一", "11-23 08:00", "11-23 20:00", "day", "星期一"),
    ("礼拜天", "11-22 08:00", "11-22 20:00", "day", "礼拜天"),
    ("这周五", "11-20 08:00", "11-20 20:00", "day", "这周五"),
    ("下周五", "11-27 08:00", "11-27 20:00", "day", "下周五"),
    ("下下周三", "12-02 08:00", "12-02 20:00", "day", "下下周三"),
    ("周末", "11-21 08:00", "11-22 20:00", "week", "周末"),
    ("下周", "11-23 08:00", "11-27 20:00", "week", "下周"),
    ("二十号", "11-20 08:00", "11-20 20:00", "day", "二十号"),
    ("三十号", "11-30 08:00", "11-30 20:00", "day", "三十号"),
    ("12月1号", "12-01 08:00", "12-01 20:00", "day", "12月1号"),
    ("下个月5号", "12-05 08:00", "12-05 20:00", "day", "下个月5号"),
    ("月初", "12-01 08:00", "12-05 20:00", "week", "月初"),
    ("十一点", "11-18 11:00", None, "hour", "十一点"),
    ("两点", "11-18 14:00", None, "hour", "两点"),
    ("八点", "11-18 20:00", None, "hour", "八点"),
    ("10点", "11-19 10:00", None, "hour", "10点"),
    ("早上九点", "11-19 09:00", None, "hour", "早上九点"),
    ("晚上七点半", "11-18 19:30", None, "minute", "晚上七点半"),
    ("下午两点半", "11-18 14:30", None, "minute", "下午两点半"),
    ("中午一点", "11-18 13:00", None, "hour", "中午一点"),
    ("明天一点", "11-19 13:00", None, "hour", "明天一点"),
    ("一点半", "11-18 13:30", None, "minute", "一点半"),
    ("三点一刻", "11-18 15:15", None, "minute", "三点一刻"),
    ("三点十五分", "11-18 15:15", None, "minute", "三点十五分"),
    ("15:30", "11-18 15:30", None, "minute", "15:30"),
    (FULL_WIDTH_1530, "11-18 15:30", None, "minute", FULL_WIDTH_1530),  # quoted as said
    ("一个半小时后", "11-18 11:30", None, "minute", "一个半小时后"),
    ("二十分钟后", "11-18 10:20", None, "minute", "二十分钟后"),
    ("过十分钟", "11-18 10:10", None, "minute", "过十分钟"),
    ("三天后", "11-21 08:00", "11-21 20:00", "day", "三天后"),
    ("两周后", "11-30 08:00", "12-04 20:00", "week", "两周后"),
    ("下午三点到五点", "11-18 15:00", "11-18 17:00", "hour", "下午三点到五点"),
    ("五点之前", "11-18 10:00", "11-18 17:00", "hour", "五点之前"),
    ("您明天下午三点再打过来吧", "11-19 15:00", None, "hour", "明天下午三点"),
    ("你下周一下午两点再打吧", "11-23 14:00", None, "hour", "下周一下午两点"),
    ("周六上午十点可以", "11-21 10:00", None, "hour", "周六上午十点"),
    ("对，三点半吧，三点半我肯定有空", "11-18 15:30", None, "minute", "三点半"),
    ("我现在在开会，你下午三点以后再打给我吧", "11-18 15:00", None, "hour", "下午三点"),
]


@pytest.mark.parametrize(("text", "start", "end", "precision", "quoted"), TIME_ZH)
def test_mandarin_times(text: str, start: str, end: str | None, precision: str, quoted: str) -> None:
    check_slot(parse_time(text, "zh", NOW_ZH), NOW_ZH, start, end, precision, quoted)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I don't know",
        "never",
        "yesterday",
        "I called you yesterday at 3",
        "last Monday",
        "two days ago",
        "I have 3 kids",
        "I'm 35 years old",
        "no thanks, I already have one",
        "at 45",
        "25:00",
        "February 30th",
        "call me at 555 1234",
        "what is this about?",
    ],
)
def test_english_texts_that_name_no_time(text: str) -> None:
    assert parse_time(text, "en", NOW_EN) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "不知道",
        "昨天下午",
        "上周二",
        "上个月",
        "我不需要",
        "有一点忙",
        "一点兴趣都没有",
        "三个人",
        "这两点我不同意",
    ],
)
def test_mandarin_texts_that_name_no_time(text: str) -> None:
    assert parse_time(text, "zh", NOW_ZH) is None


def test_a_bare_hour_after_business_hours_of_today_means_tomorrow() -> None:
    now = datetime(2026, 11, 18, 16, 0, tzinfo=NY)
    check_slot(parse_time("at 3", "en", now), now, "11-19 15:00", None, "hour", "at 3")
    check_slot(parse_time("三点", "zh", now), now, "11-19 15:00", None, "hour", "三点")


def test_a_part_of_today_that_is_over_is_tomorrows_unless_today_was_said() -> None:
    now = datetime(2026, 11, 18, 15, 0, tzinfo=NY)
    check_slot(
        parse_time("in the morning", "en", now), now, "11-19 08:00", "11-19 12:00", "part_of_day", "in the morning"
    )
    assert parse_time("this morning", "en", now) is None
    check_slot(
        parse_time("this afternoon", "en", now), now, "11-18 15:00", "11-18 18:00", "part_of_day", "this afternoon"
    )


def test_the_same_weekday_as_today_is_next_weeks() -> None:
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=NY)
    check_slot(parse_time("Monday", "en", monday), monday, "11-30 08:00", "11-30 20:00", "day", "Monday")
    check_slot(parse_time("this Monday", "en", monday), monday, "11-23 09:00", "11-23 20:00", "day", "this Monday")
    slot = parse_time("next week Tuesday at 3", "en", monday)
    check_slot(slot, monday, "12-01 15:00", None, "hour", "next week Tuesday at 3")
    check_slot(parse_time("周二", "zh", monday), monday, "11-24 08:00", "11-24 20:00", "day", "周二")


def test_today_after_business_hours_is_from_now_on() -> None:
    late = datetime(2026, 11, 18, 21, 0, tzinfo=NY)
    slot = parse_time("today", "en", late)
    assert slot is not None and (slot.start, slot.end, slot.precision) == (late, None, "day")


# --- DST: elapsed time is real time, wall-clock times keep their local reading ----------------------------

FALL_BACK_EVE = datetime(2026, 10, 31, 10, 0, tzinfo=NY)  # EDT; clocks go back at 02:00 on Sunday 11-01


def test_wall_clock_time_across_the_fall_back_keeps_its_local_reading() -> None:
    slot = parse_time("tomorrow at 3pm", "en", FALL_BACK_EVE)
    assert slot is not None
    assert (slot.start.month, slot.start.day, slot.start.hour) == (11, 1, 15)
    assert slot.start.utcoffset() == timedelta(hours=-5)  # EST that day, EDT today
    assert FALL_BACK_EVE.utcoffset() == timedelta(hours=-4)


def test_elapsed_time_across_the_fall_back_is_real_time() -> None:
    slot = parse_time("in 24 hours", "en", FALL_BACK_EVE)
    assert slot is not None
    assert slot.start.astimezone(UTC) - FALL_BACK_EVE.astimezone(UTC) == timedelta(hours=24)
    assert (slot.start.day, slot.start.hour) == (1, 9)  # the wall clock shows one hour less


def test_a_day_window_across_the_fall_back_spans_twelve_real_hours() -> None:
    slot = parse_time("tomorrow", "en", FALL_BACK_EVE)
    assert slot is not None and slot.end is not None
    assert (slot.start.hour, slot.end.hour) == (8, 20)
    assert slot.end.astimezone(UTC) - slot.start.astimezone(UTC) == timedelta(hours=12)


def test_elapsed_time_across_the_spring_forward_is_real_time() -> None:
    now = datetime(2027, 3, 14, 1, 30, tzinfo=NY)  # EST; 02:00 becomes 03:00
    slot = parse_time("in 2 hours", "en", now)
    assert slot is not None
    assert slot.start.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=2)
    assert (slot.start.hour, slot.start.minute) == (4, 30)


def test_a_wall_clock_time_that_dst_skips_moves_forward_by_the_gap() -> None:
    now = datetime(2027, 3, 13, 10, 0, tzinfo=NY)
    slot = parse_time("tomorrow at 2:30am", "en", now)
    assert slot is not None
    assert (slot.start.day, slot.start.hour, slot.start.minute) == (14, 3, 30)
    assert slot.start.utcoffset() == timedelta(hours=-4)


def test_time_needs_an_aware_now_and_a_known_language() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_time("tomorrow", "en", datetime(2026, 11, 18, 10, 0))
    with pytest.raises(ValueError, match="'en' or 'zh'"):
        parse_time("demain", "fr", NOW_EN)
    slot = parse_time("tomorrow", "en-US", NOW_EN)
    assert slot is not None and slot.start.day == 19


# --- calendar helpers -------------------------------------------------------------------------------------

WEDNESDAY = date(2026, 11, 18)


@pytest.mark.parametrize(
    ("weekday", "mode", "expected"),
    [
        (4, "upcoming", date(2026, 11, 20)),
        (2, "upcoming", date(2026, 11, 25)),
        (2, "this", date(2026, 11, 18)),
        (0, "this", date(2026, 11, 23)),  # this week's Monday has passed: the upcoming one
        (4, "next", date(2026, 11, 27)),
        (0, "next", date(2026, 11, 23)),
        (2, "after_next", date(2026, 12, 2)),
    ],
)
def test_weekday_date(weekday: int, mode: str, expected: date) -> None:
    assert weekday_date(WEDNESDAY, weekday, mode) == expected  # type: ignore[arg-type]


def test_day_of_month_skips_months_without_that_day() -> None:
    assert day_of_month(date(2027, 1, 31), 31) == date(2027, 1, 31)
    assert day_of_month(date(2027, 2, 1), 31) == date(2027, 3, 31)
    assert day_of_month(date(2027, 2, 1), 32) is None
    assert month_day(date(2026, 11, 18), 2, 29) == date(2028, 2, 29)
    assert month_day(date(2026, 11, 18), 2, 30) is None


# --- amounts ----------------------------------------------------------------------------------------------

AMOUNT_EN = [
    ("$500 a month", 500, "USD", "month", "$500 a month"),
    ("about 2k", 2000, None, None, "2k"),
    ("five hundred dollars", 500, "USD", None, "five hundred dollars"),
    ("1,200 per year", 1200, None, "year", "1,200 per year"),
    ("fifty bucks", 50, "USD", None, "fifty bucks"),
    ("$1.5 million", 1_500_000, "USD", None, "$1.5 million"),
    ("2 grand a year", 2000, None, "year", "2 grand a year"),
    ("€300 monthly", 300, "EUR", "month", "€300 monthly"),
    ("between 500 and 1000 dollars a month", 750, "USD", "month", "between 500 and 1000 dollars a month"),
    ("5-6k", 5500, None, None, "5-6k"),
    ("under $100", 100, "USD", None, "$100"),
    ("ten thousand", 10_000, None, None, "ten thousand"),
    ("twenty five hundred dollars", 2500, "USD", None, "twenty five hundred dollars"),
    ("a hundred a month", 100, None, "month", "a hundred a month"),
    ("we have 3 people and spend about $500 a month", 500, "USD", "month", "$500 a month"),
    ("$9.99", 9.99, "USD", None, "$9.99"),
    ("£40 per week", 173.33, "GBP", "month", "£40 per week"),
    ("around 300 to 400 a month", 350, None, "month", "300 to 400 a month"),
    ("a one-off payment of 2,000", 2000, None, "once", "2,000"),
    ("500", 500, None, None, "500"),
    ("maybe 50 euros", 50, "EUR", None, "50 euros"),
    ("budget's tight, maybe forty a month", 40, None, "month", "forty a month"),
    ("a few hundred a month", 300, None, "month", "a few hundred a month"),  # "a few" reads as 3
    ("a couple of thousand dollars", 2000, "USD", None, "a couple of thousand dollars"),
]


@pytest.mark.parametrize(("text", "value", "currency", "period", "quoted"), AMOUNT_EN)
def test_english_amounts(text: str, value: float, currency: str | None, period: str | None, quoted: str) -> None:
    assert parse_amount(text, "en") == Amount(value, currency, period, quoted)  # type: ignore[arg-type]


AMOUNT_ZH = [
    ("五千块", 5000, "CNY", None, "五千块"),
    ("每个月两百", 200, None, "month", "每个月两百"),
    ("一年三万左右", 30_000, None, "year", "一年三万"),
    ("两万五", 25_000, None, None, "两万五"),
    ("1.5万", 15_000, None, None, "1.5万"),
    ("三百元", 300, "CNY", None, "三百元"),
    ("预算大概五六千", 5500, None, None, "五六千"),  # a range: its midpoint
    ("一两万", 15_000, None, None, "一两万"),
    ("预算三四百块", 350, "CNY", None, "三四百块"),
    ("5到6千", 5500, None, None, "5到6千"),
    ("五千到六千", 5500, None, None, "五千到六千"),
    ("3000块钱", 3000, "CNY", None, "3000块钱"),
    ("一个月三百块", 300, "CNY", "month", "一个月三百块"),
    ("每年一万二", 12_000, None, "year", "每年一万二"),
    ("100美元", 100, "USD", None, "100美元"),
    ("1.5w", 15_000, None, None, "1.5w"),
    ("一次性付五万", 50_000, None, "once", "五万"),
    ("¥800", 800, "CNY", None, "¥800"),
    ("十万左右", 100_000, None, None, "十万"),
    ("我们三个人，每个月预算两千块", 2000, "CNY", "month", "两千块"),
    ("预算的话，一个月几百块 OK 的", 300, "CNY", "month", "一个月几百块"),  # 几 reads as 3
    ("十几万", 130_000, None, None, "十几万"),
    ("一年一两万能接受", 15_000, None, "year", "一年一两万"),
]


@pytest.mark.parametrize(("text", "value", "currency", "period", "quoted"), AMOUNT_ZH)
def test_mandarin_amounts(text: str, value: float, currency: str | None, period: str | None, quoted: str) -> None:
    assert parse_amount(text, "zh") == Amount(value, currency, period, quoted)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("", "en"),
        ("no budget", "en"),
        ("I don't know yet", "en"),
        ("I have 3 kids", "en"),
        ("call me at 3", "en"),
        ("we have 25 employees", "en"),
        ("不知道", "zh"),
        ("没有预算", "zh"),
        ("三个人", "zh"),
        ("我三十五岁", "zh"),
        ("一点都不想", "zh"),
    ],
)
def test_texts_that_name_no_amount(text: str, language: str) -> None:
    assert parse_amount(text, language) is None


# --- yes / no ---------------------------------------------------------------------------------------------

YES_NO_EN = [
    ("yeah sure", True),
    ("yep", True),
    ("Yes, I do", True),
    ("of course", True),
    ("definitely", True),
    ("that's right", True),
    ("I guess so", True),
    ("no problem", True),
    ("why not", True),
    ("not bad", True),
    ("uh-huh", True),
    ("I already have one", True),
    ("okay", True),
    ("not really", False),
    ("nope", False),
    ("no, thanks", False),
    ("absolutely not", False),
    ("I don't think so", False),
    ("I'm not interested", False),
    ("I do not", False),
    ("we don't use that", False),
    ("okay, no thanks", False),
    ("yeah, no", False),
    ("I'd rather not", False),
    ("sure, but not now", None),  # yes in principle, no for now: no agreement to go on
    ("maybe", None),
    ("uh, I don't know", None),
    ("I'm not sure", None),
    ("I can't hear you", None),
    ("hello?", None),
    ("well...", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), YES_NO_EN)
def test_english_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text, "en") is expected


YES_NO_ZH = [
    ("是的", True),
    ("对", True),
    ("嗯", True),
    ("嗯嗯", True),
    ("好的", True),
    ("可以", True),
    ("行", True),
    ("没问题", True),
    ("没什么问题", True),
    ("还行", True),
    ("还行吧", True),
    ("有的", True),
    ("有", True),
    ("有啊", True),
    ("对对对", True),
    ("是我", True),
    ("好的，谢谢", True),
    ("OK的", True),
    ("不是", False),
    ("不用", False),
    ("不需要", False),
    ("没有", False),
    ("算了", False),
    ("不太", False),
    ("不", False),
    ("不用了，谢谢", False),
    ("嗯，不用了", False),  # 嗯 is a filler here
    ("不好意思，我不需要", False),
    ("对不起，没兴趣", False),
    ("没用过", False),
    ("可以，但是现在不行", None),
    ("不知道", None),
    ("我考虑一下", None),
    ("可以考虑", None),
    ("不太清楚", None),
    ("你是谁", None),  # 是 inside a question is not an answer
    ("我有点忙", None),
    ("你说什么", None),
]


@pytest.mark.parametrize(("text", "expected"), YES_NO_ZH)
def test_mandarin_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text, "zh") is expected


# --- text helpers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow at three thirty", "tomorrow at 3 30"),
        ("twenty five hundred", "2500"),
        ("two hundred and fifty", "250"),
        ("between two and four", "between 2 and 4"),
        ("the fifteenth", "the 15th"),
        ("the twenty-first", "the 21st"),
        ("the second of march", "the 2nd of march"),
        ("one second please", "1 second please"),
        ("2 thousand", "2 thousand"),
        ("a hundred a month", "100 a month"),
    ],
)
def test_english_number_words_become_digits(text: str, expected: str) -> None:
    assert english_numbers(normalize(text)).text == expected


def test_normalised_text_maps_back_to_the_customers_words() -> None:
    norm = english_numbers(normalize("Call me at THREE thirty"))
    start = norm.text.index("at")
    assert norm.original(start, len(norm.text)) == "at THREE thirty"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十", 10),
        ("十一", 11),
        ("十五", 15),
        ("二十", 20),
        ("三十五", 35),
        ("两", 2),
        ("一百零五", 105),
        ("一千二", 1200),
        ("两万五", 25_000),
        ("三十万", 300_000),
        ("一万零五", 10_005),
        ("1.5万", 15_000),
        ("3,000", 3000),
        ("二零二六", None),
        ("五六", None),
        ("", None),
    ],
)
def test_chinese_numerals(text: str, expected: float | None) -> None:
    assert zh_number(text) == expected
