"""Calling windows: the local hours in which a campaign may call a lead, evaluated in each of the lead's zones.

The campaign JSON (`Campaign.calling_windows`):

    {"mon": [["09:00", "12:00"], ["14:00", "18:00"]], "tue": [...], ..., "sun": [],
     "holidays": ["2030-12-25", ...]}

Either all seven days are given (a day with `[]` has no calling) or none: `{}` (or only `"holidays"`) means the
default windows, weekdays 09:00-20:00 and Saturday 10:00-18:00, no Sunday: common consumer-protection hours,
inside e.g. the US TCPA's 08:00-21:00. A range is `[start, end)` in local wall-clock time, `"HH:MM"`, end
exclusive, `"24:00"` allowed as an end; overlapping or touching ranges merge, and a range ending at 24:00 runs on
into a next day that starts at 00:00. Holidays are local dates without calling, in every zone of the lead.

The rules, all pure functions of (zones, instant):

- A lead is open at an instant only when the instant is inside the window in EVERY zone of the lead
  (dialer.zones gives several for an ambiguous number): the conservative rule. No zones: never open.
- Wall-clock judgement, DST included: an instant is inside when its local time, as a clock there shows it, is in
  a range. A local time skipped by a spring-forward transition never happens (a window starting at 02:30 on
  that night opens at 03:00); one repeated by a fall-back transition happens twice, and both passes count.
- `next_open` finds the earliest instant >= the given one that is open in all zones (None past the horizon,
  14 days by default); `closes_at` when the current all-zones window ends, so the dialer can refuse to start a
  call within a margin of closing (`may_start`).

Zone offsets are assumed to change at most once between two window boundaries (true of every zone in use).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["DAYS", "DEFAULT_HORIZON_S", "DEFAULT_WINDOWS", "CallingWindows"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HORIZON_S = 14 * 86_400.0
DEFAULT_WINDOWS: dict[str, Any] = {
    **{day: [["09:00", "20:00"]] for day in DAYS[:5]},
    "sat": [["10:00", "18:00"]],
    "sun": [],
}

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_US = 86_400_000_000
_MINUTE_US = 60_000_000
_MAX_STEPS = 100_000  # a guard: a 14-day search over a few zones takes tens of steps

Ranges = tuple[tuple[int, int], ...]  # [start, end) in minutes of the local day, sorted, disjoint, not touching


@dataclass(frozen=True, slots=True)
class CallingWindows:
    """Validated, merged calling windows. `days[0]` is Monday; ranges in minutes of the local day."""

    days: tuple[Ranges, Ranges, Ranges, Ranges, Ranges, Ranges, Ranges]
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def default(cls) -> CallingWindows:
        return cls.from_json(DEFAULT_WINDOWS)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CallingWindows:
        """Parse and validate the campaign JSON; ValueError naming the first bad item (`calling_windows.tue[1]: …`)."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ValueError(f"calling_windows: expected an object, got {_show(data)}")
        unknown = sorted(str(k) for k in data if k not in DAYS and k != "holidays")
        if unknown:
            raise ValueError(f"calling_windows: unknown keys {', '.join(unknown)} (expected mon..sun, holidays)")
        holidays = _parse_holidays(data.get("holidays", []))
        given = [day for day in DAYS if day in data]
        if not given:
            return cls(_parse_days(DEFAULT_WINDOWS), holidays)
        missing = [day for day in DAYS if day not in data]
        if missing:
            raise ValueError(
                f"calling_windows: missing days {', '.join(missing)} (give all seven; [] for a day without calling)"
            )
        return cls(_parse_days(data), holidays)

    def to_json(self) -> dict[str, Any]:
        """The normalised JSON (merged ranges, sorted holidays); `from_json(to_json())` gives the same windows."""
        out: dict[str, Any] = {
            day: [[_hhmm(s), _hhmm(e)] for s, e in ranges] for day, ranges in zip(DAYS, self.days, strict=True)
        }
        if self.holidays:
            out["holidays"] = [d.isoformat() for d in sorted(self.holidays)]
        return out

    def ranges_on(self, local_day: date) -> Ranges:
        """The ranges of one local date (none on a holiday)."""
        return () if local_day in self.holidays else self.days[local_day.weekday()]

    def is_open(self, zones: Sequence[ZoneInfo], at_utc: datetime) -> bool:
        """True when `at_utc` is inside the window in every zone (False for no zones)."""
        at_utc = _utc(at_utc)
        return bool(zones) and all(self._zone_state(z, at_utc)[0] for z in zones)

    def next_open(
        self, zones: Sequence[ZoneInfo], after_utc: datetime, *, horizon_s: float = DEFAULT_HORIZON_S
    ) -> datetime | None:
        """The earliest instant >= `after_utc` open in every zone, or None if none within `horizon_s` (or no zones)."""
        t = _utc(after_utc)
        if not zones:
            return None
        end = t + timedelta(seconds=horizon_s)
        for _ in range(_MAX_STEPS):
            if t > end:
                return None
            states = [self._zone_state(z, t) for z in zones]
            if all(is_open for is_open, _ in states):
                return t
            # each closed zone stays closed until its next change: nothing before the latest of those is all-open
            t = max(change for is_open, change in states if not is_open)
        raise RuntimeError("calling windows: next_open did not converge")

    def closes_at(
        self, zones: Sequence[ZoneInfo], at_utc: datetime, *, horizon_s: float = DEFAULT_HORIZON_S
    ) -> datetime | None:
        """When the all-zones window open at `at_utc` ends (the first instant it is not open); None if it is not
        open now. A window still open at the horizon's end returns the horizon's end."""
        t = _utc(at_utc)
        if not self.is_open(zones, t):
            return None
        end = t + timedelta(seconds=horizon_s)
        for _ in range(_MAX_STEPS):
            if t >= end:
                return end
            states = [self._zone_state(z, t) for z in zones]
            if not all(is_open for is_open, _ in states):
                return t
            t = min(change for _, change in states)  # all open: the earliest change is where one may close
        raise RuntimeError("calling windows: closes_at did not converge")

    def may_start(self, zones: Sequence[ZoneInfo], at_utc: datetime, *, margin_s: float) -> bool:
        """Open now and still open `margin_s` from now (a call started now has that long before closing)."""
        closes = self.closes_at(zones, at_utc, horizon_s=max(margin_s, 0.0) + 1.0)
        return closes is not None and (closes - at_utc).total_seconds() > margin_s

    def _zone_state(self, zone: ZoneInfo, t: datetime) -> tuple[bool, datetime]:
        """(open in `zone` at `t`, the next instant the answer may change: a range boundary or an offset change)."""
        local = t.astimezone(zone)
        now_us = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
        is_open, boundary_us = False, _DAY_US
        for start, end in self.ranges_on(local.date()):
            if now_us < start * _MINUTE_US:
                boundary_us = start * _MINUTE_US
                break
            if now_us < end * _MINUTE_US:
                is_open, boundary_us = True, end * _MINUTE_US
                break
        # the boundary as if the offset held; an offset change before it moves the wall clock, so stop there
        candidate = t + timedelta(microseconds=boundary_us - now_us)
        return is_open, _first_offset_change(zone, t, candidate)


def _first_offset_change(zone: ZoneInfo, t: datetime, candidate: datetime) -> datetime:
    """`candidate`, or the first whole second in (t, candidate) where `zone`'s UTC offset differs from at `t`."""
    offset = t.astimezone(zone).utcoffset()
    if candidate.astimezone(zone).utcoffset() == offset:
        return candidate
    # transitions fall on whole seconds (the zone database stores them so): bisect over whole seconds
    lo = t.replace(microsecond=0)  # offset(lo) == offset: no transition inside one second
    hi = candidate
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=max(1, int((hi - lo).total_seconds()) // 2))
        if mid.astimezone(zone).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    return hi


def _utc(at: datetime) -> datetime:
    """`at` in UTC (arithmetic on a datetime in another zone would be wall-clock arithmetic); naive refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("expected a timezone-aware datetime, got a naive one")
    return at.astimezone(UTC)


def _parse_days(data: Mapping[str, Any]) -> tuple[Ranges, Ranges, Ranges, Ranges, Ranges, Ranges, Ranges]:
    mon, tue, wed, thu, fri, sat, sun = (_parse_day(day, data[day]) for day in DAYS)
    return mon, tue, wed, thu, fri, sat, sun


def _parse_day(day: str, value: Any) -> Ranges:
    if not isinstance(value, list):
        raise ValueError(f"calling_windows.{day}: expected a list of [HH:MM, HH:MM] ranges, got {_show(value)}")
    ranges = [_parse_range(f"calling_windows.{day}[{i}]", item) for i, item in enumerate(value)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_range(where: str, item: Any) -> tuple[int, int]:
    problem = f"{where}: expected HH:MM < HH:MM, got {_show(item)}"
    if not isinstance(item, list | tuple) or len(item) != 2 or not all(isinstance(x, str) for x in item):
        raise ValueError(problem)
    start, end = (_minutes(x) for x in item)
    if start is None or end is None or start >= end:
        raise ValueError(problem)
    return start, end


def _minutes(text: str) -> int | None:
    match = _HHMM.fullmatch(text)
    if match is None:
        return None
    if text == "24:00":
        return 1440
    return int(match.group(1)) * 60 + int(match.group(2))


def _parse_holidays(value: Any) -> frozenset[date]:
    if not isinstance(value, list):
        raise ValueError(f"calling_windows.holidays: expected a list of YYYY-MM-DD dates, got {_show(value)}")
    days = set()
    for i, item in enumerate(value):
        problem = f"calling_windows.holidays[{i}]: expected a date YYYY-MM-DD, got {_show(item)}"
        if not isinstance(item, str) or not _ISO_DATE.fullmatch(item):
            raise ValueError(problem)
        try:
            days.add(date.fromisoformat(item))
        except ValueError:
            raise ValueError(problem) from None
    return frozenset(days)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _show(value: Any) -> str:
    """A bad value for an error message, cut short (campaign settings, never personal data)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
