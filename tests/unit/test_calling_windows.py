"""Calling windows: parsing, the all-zones rule across time zones, DST, holidays, and the next opening found exactly.

The property test checks `next_open` and `closes_at` against `is_open` on random windows, zones and instants:
whatever `next_open` returns is open, and nothing sampled between the start and it is open.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.windows import DAYS, DEFAULT_WINDOWS, CallingWindows
from dialer.zones import lead_zones

pytestmark = pytest.mark.unit

DEFAULT = CallingWindows.default()
US = 1e-6  # one microsecond, in seconds


def zones(*names: str) -> tuple[ZoneInfo, ...]:
    return tuple(ZoneInfo(n) for n in names)


def local(zone: str, y: int, mo: int, d: int, h: int, mi: int = 0, *, fold: int = 0) -> datetime:
    """A local wall-clock time in `zone`, as a UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def every_day(*ranges: list[str], **extra: Any) -> CallingWindows:
    return CallingWindows.from_json({**{day: [list(r) for r in ranges] for day in DAYS}, **extra})


def week(**days: Any) -> dict[str, Any]:
    """All seven days without calling, but for the ones given."""
    return {**{day: [] for day in DAYS}, **days}


def tick(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


# ---- parsing ------------------------------------------------------------------------------------------------


def test_no_days_means_the_default_windows() -> None:
    assert CallingWindows.from_json({}) == CallingWindows.from_json(None) == DEFAULT
    assert DEFAULT.to_json() == DEFAULT_WINDOWS
    with_holidays = CallingWindows.from_json({"holidays": ["2030-12-25"]})
    assert with_holidays.days == DEFAULT.days and with_holidays.holidays == {date(2030, 12, 25)}


def test_ranges_are_sorted_and_merged_and_round_trip() -> None:
    windows = CallingWindows.from_json(
        {
            **{day: [] for day in DAYS},
            "mon": [["14:00", "18:00"], ["09:00", "12:00"], ["11:30", "12:30"], ["18:00", "24:00"]],
            "sun": [["00:00", "24:00"]],
            "holidays": ["2031-01-01", "2030-12-25"],
        }
    )
    assert windows.days[0] == ((9 * 60, 12 * 60 + 30), (14 * 60, 24 * 60))
    assert windows.days[6] == ((0, 24 * 60),)
    out = windows.to_json()
    assert out["mon"] == [["09:00", "12:30"], ["14:00", "24:00"]] and out["holidays"] == ["2030-12-25", "2031-01-01"]
    assert CallingWindows.from_json(out) == windows


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "calling_windows: expected an object, got []"),
        ({"mon": []}, "calling_windows: missing days tue, wed, thu, fri, sat, sun (give all seven"),
        ({"monday": []}, "calling_windows: unknown keys monday (expected mon..sun, holidays)"),
        (week(tue="09:00-18:00"), "calling_windows.tue: expected a list of [HH:MM, HH:MM] ranges, got '09:00-18:00'"),
        (
            week(tue=[["09:00", "12:00"], ["18:00", "14:00"]]),
            "calling_windows.tue[1]: expected HH:MM < HH:MM, got ['18:00', '14:00']",
        ),
        (week(tue=[["09:00", "09:00"]]), "calling_windows.tue[0]: expected HH:MM < HH:MM, got ['09:00', '09:00']"),
        (week(tue=[["9:00", "12:00"]]), "calling_windows.tue[0]: expected HH:MM < HH:MM, got ['9:00', '12:00']"),
        (week(tue=[["09:00", "24:01"]]), "calling_windows.tue[0]: expected HH:MM < HH:MM"),
        (week(tue=[["09:60", "10:00"]]), "calling_windows.tue[0]: expected HH:MM < HH:MM"),
        (week(tue=[["24:00", "24:00"]]), "calling_windows.tue[0]: expected HH:MM < HH:MM"),
        (week(tue=[["09:00"]]), "calling_windows.tue[0]: expected HH:MM < HH:MM, got ['09:00']"),
        (week(tue=[[900, 1200]]), "calling_windows.tue[0]: expected HH:MM < HH:MM, got [900, 1200]"),
        ({"holidays": "2030-12-25"}, "calling_windows.holidays: expected a list of YYYY-MM-DD dates"),
        ({"holidays": ["2030-02-30"]}, "calling_windows.holidays[0]: expected a date YYYY-MM-DD, got '2030-02-30'"),
        ({"holidays": ["20301225"]}, "calling_windows.holidays[0]: expected a date YYYY-MM-DD, got '20301225'"),
    ],
)
def test_invalid_windows_are_refused_with_the_place_named(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as error:
        CallingWindows.from_json(data)
    assert str(error.value).startswith(message)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT.is_open(zones("UTC"), datetime(2030, 1, 1, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT.next_open(zones("UTC"), datetime(2030, 1, 1, 12))


# ---- one zone at a time ---------------------------------------------------------------------------------------

CITIES = [
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Asia/Shanghai",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Sydney",  # DST from October to April
]
# Tuesdays in the northern winter and summer (Sydney: summer time, then winter time)
TUESDAYS = [(2030, 1, 15), (2030, 7, 16)]


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("day", TUESDAYS)
def test_default_window_is_nine_to_eight_local_in_every_city(city: str, day: tuple[int, int, int]) -> None:
    z = zones(city)
    opens, closes = local(city, *day, 9), local(city, *day, 20)
    assert not DEFAULT.is_open(z, opens - tick(US)) and DEFAULT.is_open(z, opens)
    assert DEFAULT.is_open(z, closes - tick(US)) and not DEFAULT.is_open(z, closes)
    assert DEFAULT.next_open(z, local(city, *day, 3)) == opens
    assert DEFAULT.next_open(z, local(city, *day, 12)) == local(city, *day, 12)
    assert DEFAULT.closes_at(z, local(city, *day, 12)) == closes
    assert DEFAULT.next_open(z, closes) == local(city, day[0], day[1], day[2] + 1, 9)


def test_kathmandu_opens_at_a_quarter_past_three_utc() -> None:
    assert DEFAULT.next_open(zones("Asia/Kathmandu"), datetime(2030, 1, 15, 0, 0, tzinfo=UTC)) == datetime(
        2030, 1, 15, 3, 15, tzinfo=UTC
    )
    assert DEFAULT.next_open(zones("Asia/Kolkata"), datetime(2030, 1, 15, 0, 0, tzinfo=UTC)) == datetime(
        2030, 1, 15, 3, 30, tzinfo=UTC
    )


def test_weekends_follow_the_local_calendar() -> None:
    # Friday 2030-01-18 20:00 in Shanghai is Friday noon UTC: Saturday opens at 10:00 local = 02:00 UTC
    z = zones("Asia/Shanghai")
    assert DEFAULT.next_open(z, local("Asia/Shanghai", 2030, 1, 18, 20)) == datetime(2030, 1, 19, 2, 0, tzinfo=UTC)
    # Saturday 18:00 local: no Sunday calling, so Monday 09:00 local
    assert DEFAULT.next_open(z, local("Asia/Shanghai", 2030, 1, 19, 18)) == local("Asia/Shanghai", 2030, 1, 21, 9)


def test_sydney_follows_its_southern_hemisphere_dst() -> None:
    z = zones("Australia/Sydney")
    # summer time (UTC+11) ends on Sunday 2030-04-07: 09:00 Friday before is 22:00 UTC, Monday after is 23:00 UTC
    assert DEFAULT.next_open(z, datetime(2030, 4, 4, 12, tzinfo=UTC)) == datetime(2030, 4, 4, 22, tzinfo=UTC)
    assert DEFAULT.next_open(z, datetime(2030, 4, 6, 12, tzinfo=UTC)) == datetime(2030, 4, 7, 23, tzinfo=UTC)
    # summer time begins on Sunday 2030-10-06: Monday 09:00 is 22:00 UTC the day before
    assert DEFAULT.next_open(z, datetime(2030, 10, 6, 0, tzinfo=UTC)) == datetime(2030, 10, 6, 22, tzinfo=UTC)


def test_an_aware_non_utc_start_is_handled_as_an_instant() -> None:
    ny = ZoneInfo("America/New_York")
    # 2030-03-09 23:00 EST, the night before spring forward: adding hours to a New York datetime would be wall-clock
    # arithmetic; the answer must be the instant of Monday 09:00 EDT whatever zone the argument carries
    start = datetime(2030, 3, 9, 23, 0, tzinfo=ny)
    assert DEFAULT.next_open(zones("America/New_York"), start) == local("America/New_York", 2030, 3, 11, 9)


# ---- DST edges -------------------------------------------------------------------------------------------------


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    # New York springs forward on 2030-03-10 at 02:00 EST -> 03:00 EDT (07:00 UTC): 02:30 never happens that night
    windows = every_day(["02:30", "04:00"])
    z = zones("America/New_York")
    jump = datetime(2030, 3, 10, 7, 0, tzinfo=UTC)
    assert not windows.is_open(z, jump - tick(US))
    assert windows.is_open(z, jump)  # 03:00 EDT, inside 02:30-04:00
    assert windows.next_open(z, datetime(2030, 3, 10, 5, 0, tzinfo=UTC)) == jump
    assert windows.closes_at(z, jump) == datetime(2030, 3, 10, 8, 0, tzinfo=UTC)  # 04:00 EDT
    assert windows.next_open(z, datetime(2030, 3, 10, 8, 0, tzinfo=UTC)) == local(
        "America/New_York", 2030, 3, 11, 2, 30
    )


def test_a_window_entirely_in_the_skipped_hour_does_not_open_that_day() -> None:
    windows = every_day(["02:10", "02:50"])
    z = zones("America/New_York")
    assert windows.next_open(z, datetime(2030, 3, 10, 5, 0, tzinfo=UTC)) == local(
        "America/New_York", 2030, 3, 11, 2, 10
    )


def test_a_repeated_hour_counts_twice() -> None:
    # New York falls back on 2030-11-03 at 02:00 EDT -> 01:00 EST: 01:00-01:30 happens at 05:00 and at 06:00 UTC
    windows = every_day(["01:00", "01:30"])
    z = zones("America/New_York")
    first, second = datetime(2030, 11, 3, 5, 0, tzinfo=UTC), datetime(2030, 11, 3, 6, 0, tzinfo=UTC)
    assert local("America/New_York", 2030, 11, 3, 1, 0, fold=0) == first
    assert local("America/New_York", 2030, 11, 3, 1, 0, fold=1) == second
    assert windows.next_open(z, first - tick(3600)) == first
    assert windows.closes_at(z, first) == first + tick(1800)
    assert windows.next_open(z, first + tick(1800)) == second
    assert windows.closes_at(z, second) == second + tick(1800)


@pytest.mark.parametrize(
    ("zone", "transition_utc"),
    [
        ("America/Santiago", datetime(2030, 9, 8, 4, 0, tzinfo=UTC)),  # 24:00 -04 -> 01:00 -03
        ("Asia/Beirut", datetime(2030, 3, 30, 22, 0, tzinfo=UTC)),  # 24:00 +02 -> 01:00 +03
        ("America/Havana", datetime(2030, 3, 10, 5, 0, tzinfo=UTC)),  # 24:00 -05 -> 01:00 -04
    ],
)
def test_a_spring_forward_at_midnight_skips_the_first_hour_of_the_day(zone: str, transition_utc: datetime) -> None:
    windows = every_day(["00:00", "00:30"], ["12:00", "13:00"])
    z = zones(zone)
    # the new day begins at 01:00: 00:00-00:30 never happens, so from 23:59:59 the next opening is noon
    assert transition_utc.astimezone(ZoneInfo(zone)).hour == 1
    assert not windows.is_open(z, transition_utc)
    noon = transition_utc.astimezone(ZoneInfo(zone)).replace(hour=12).astimezone(UTC)
    assert windows.next_open(z, transition_utc - tick(1)) == noon


# ---- several zones ---------------------------------------------------------------------------------------------


def test_a_lead_in_two_zones_is_called_only_when_both_are_open() -> None:
    z = zones("America/New_York", "America/Los_Angeles")
    day = (2030, 7, 16)
    opens = local("America/Los_Angeles", *day, 9)  # 12:00 in New York
    closes = local("America/New_York", *day, 20)  # 17:00 in Los Angeles
    assert DEFAULT.next_open(z, local("America/New_York", *day, 9)) == opens
    assert not DEFAULT.is_open(z, opens - tick(US)) and DEFAULT.is_open(z, opens)
    assert DEFAULT.closes_at(z, opens) == closes and not DEFAULT.is_open(z, closes)


def test_a_multi_zone_mobile_waits_for_its_last_zone_and_stops_with_its_first() -> None:
    z = lead_zones("+61412345678")  # Perth (UTC+8) to Lord Howe Island (UTC+10:30 in July)
    assert len(z) > 1
    day = (2030, 7, 16)
    opens = DEFAULT.next_open(z, local("Australia/Sydney", *day, 0))
    assert opens == local("Australia/Perth", *day, 9)
    assert DEFAULT.closes_at(z, opens) == local("Australia/Lord_Howe", *day, 20)


def test_zones_without_a_common_window_never_open() -> None:
    z = zones("Pacific/Kiritimati", "Pacific/Pago_Pago")  # UTC+14 and UTC-11: 25 hours apart
    start = datetime(2030, 1, 1, tzinfo=UTC)
    assert every_day(["09:00", "10:00"]).next_open(z, start) is None  # Kiritimati 09:00 is Pago Pago 08:00
    # 09:00-11:00: Kiritimati 10:00-11:00 is Pago Pago 09:00-10:00, 20:00-21:00 UTC
    assert every_day(["09:00", "11:00"]).next_open(z, start) == datetime(2030, 1, 1, 20, tzinfo=UTC)


def test_no_zones_never_open() -> None:
    at = datetime(2030, 1, 15, 15, tzinfo=UTC)
    assert not DEFAULT.is_open((), at)
    assert DEFAULT.next_open((), at) is None and DEFAULT.closes_at((), at) is None
    assert not DEFAULT.may_start((), at, margin_s=0)
    assert lead_zones("+15551234567") == ()  # an unknown number: never called


# ---- holidays, horizons, margins ------------------------------------------------------------------------------


def test_holidays_are_local_dates() -> None:
    windows = CallingWindows.from_json({"holidays": ["2030-12-25"]})
    sh = zones("Asia/Shanghai")
    assert not windows.is_open(sh, local("Asia/Shanghai", 2030, 12, 25, 10))
    assert windows.is_open(zones("America/New_York"), local("America/New_York", 2030, 12, 24, 10))
    # 10:00 on the 25th in Shanghai is still the 24th in New York: a lead in both zones is closed
    assert not windows.is_open(zones("Asia/Shanghai", "America/New_York"), local("Asia/Shanghai", 2030, 12, 25, 10))
    assert windows.next_open(sh, local("Asia/Shanghai", 2030, 12, 24, 21)) == local("Asia/Shanghai", 2030, 12, 26, 9)


def test_next_open_gives_up_at_the_horizon() -> None:
    closed = CallingWindows.from_json({day: [] for day in DAYS})
    assert closed.next_open(zones("UTC"), datetime(2030, 1, 1, tzinfo=UTC)) is None
    christmas_week = CallingWindows.from_json({"holidays": [f"2030-12-{d}" for d in range(23, 32)]})
    start = datetime(2030, 12, 22, tzinfo=UTC)
    assert christmas_week.next_open(zones("UTC"), start, horizon_s=5 * 86400) is None
    assert christmas_week.next_open(zones("UTC"), start) == datetime(2031, 1, 1, 9, tzinfo=UTC)


def test_a_window_running_past_midnight_continues_into_the_next_day() -> None:
    windows = CallingWindows.from_json(
        {**{d: [] for d in DAYS}, "mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"], ["09:00", "10:00"]]}
    )
    z = zones("Europe/London")
    assert windows.closes_at(z, local("Europe/London", 2030, 1, 14, 21)) == local("Europe/London", 2030, 1, 15, 2)


def test_closes_at_a_window_that_never_closes_is_the_horizon() -> None:
    always = every_day(["00:00", "24:00"])
    at = datetime(2030, 1, 1, tzinfo=UTC)
    assert always.closes_at(zones("Asia/Kolkata"), at, horizon_s=3600) == at + tick(3600)
    assert always.may_start(zones("Asia/Kolkata"), at, margin_s=600)


def test_may_start_keeps_a_margin_before_closing() -> None:
    z = zones("America/New_York")
    day = (2030, 1, 15)
    assert DEFAULT.may_start(z, local("America/New_York", *day, 19, 50), margin_s=300)
    assert not DEFAULT.may_start(z, local("America/New_York", *day, 19, 56), margin_s=300)
    assert not DEFAULT.may_start(z, local("America/New_York", *day, 20, 30), margin_s=300)


# ---- property: next_open and closes_at agree with is_open ------------------------------------------------------

PROPERTY_ZONES = [
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Asia/Shanghai",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # half-hour DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # DST changes at midnight
    "Asia/Beirut",
    "America/Havana",
    "UTC",
]
# instants near DST transitions of the zones above, so the search crosses them often
TRANSITIONS = [
    datetime(2030, 3, 10, 7, tzinfo=UTC),
    datetime(2030, 11, 3, 6, tzinfo=UTC),
    datetime(2030, 4, 6, 16, tzinfo=UTC),
    datetime(2030, 10, 5, 15, tzinfo=UTC),
    datetime(2030, 9, 8, 4, tzinfo=UTC),
    datetime(2030, 3, 30, 22, tzinfo=UTC),
    datetime(2030, 3, 31, 1, tzinfo=UTC),
    datetime(2030, 10, 27, 1, tzinfo=UTC),
    datetime(2030, 4, 6, 13, 45, tzinfo=UTC),
]
_range = st.integers(min_value=0, max_value=1439).flatmap(
    lambda start: st.tuples(st.just(start), st.integers(min_value=start + 1, max_value=1440))
)


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


@st.composite
def windows_json(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for day in DAYS:
        data[day] = [[_hhmm(a), _hhmm(b)] for a, b in draw(st.lists(_range, max_size=3))]
    holidays = draw(st.lists(st.dates(date(2030, 1, 1), date(2031, 1, 31)), max_size=4))
    data["holidays"] = [d.isoformat() for d in holidays]
    return data


instants = st.one_of(
    st.datetimes(datetime(2030, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda base, offset_s: base + timedelta(seconds=offset_s),
        st.sampled_from(TRANSITIONS),
        st.floats(min_value=-2 * 86400, max_value=2 * 86400, allow_nan=False),
    ),
)
zone_sets = st.lists(st.sampled_from(PROPERTY_ZONES), min_size=1, max_size=3, unique=True)


def _samples(start: datetime, stop: datetime, count: int = 1500) -> list[datetime]:
    """Every minute from `start` to `stop` (exclusive), thinned to about `count` instants on long spans."""
    span_min = (stop - start).total_seconds() / 60
    step_min = max(1.0, span_min / count)
    out, k = [], 0
    while (at := start + timedelta(minutes=k * step_min)) < stop:
        out.append(at)
        k += 1
    return out


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=windows_json(), names=zone_sets, start=instants)
def test_next_open_is_open_and_nothing_before_it_is(data: dict[str, Any], names: list[str], start: datetime) -> None:
    windows = CallingWindows.from_json(data)
    z = zones(*names)
    horizon = timedelta(days=14)
    found = windows.next_open(z, start)
    if found is None:
        assert not any(windows.is_open(z, at) for at in _samples(start, start + horizon))
        return
    assert start <= found <= start + horizon
    assert windows.is_open(z, found)
    assert not any(windows.is_open(z, at) for at in _samples(start, found))
    assert found == start or not windows.is_open(z, found - tick(US))  # exact to the microsecond
    closes = windows.closes_at(z, found)
    assert closes is not None and closes > found
    assert all(windows.is_open(z, at) for at in _samples(found, closes))
    assert closes == found + horizon or not windows.is_open(z, closes)
