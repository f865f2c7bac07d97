"""The dialer never calls a lead outside its own calling window, whatever the lead's time zone.

Leads in ten zones (half-hour and 45-minute offsets, both hemispheres' daylight saving, a number whose zone the
lead's `timezone` column overrides) are dialed by the real dialer loop over three days of a settable clock that
moves in 7-minute steps. Each call's time is checked against the lead's window with an oracle written here from
`zoneinfo` alone, and every lead must have been called in the end.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from dialer.dialer import Dialer, DialerConfig
from dialer.placer import PlacedCall
from storage import Database
from storage.models import Lead
from tests.unit.dialer_fixtures import Clock, ScriptedPlacer, drive, make_campaign

pytestmark = pytest.mark.unit

WINDOWS = {
    "mon": [["09:00", "12:00"], ["13:30", "17:00"]],
    "tue": [["09:00", "12:00"], ["13:30", "17:00"]],
    "wed": [["09:00", "17:00"]],
    "thu": [["09:00", "17:00"]],
    "fri": [["09:00", "17:00"]],
    "sat": [["10:00", "12:00"]],
    "sun": [],
}
MARGIN_S = 300.0
# number -> the zone the lead is in (the oracle's answer, independent of dialer/zones.py)
LEADS = {
    "+12125550100": "America/New_York",
    "+13105550100": "America/Los_Angeles",
    "+442079460000": "Europe/London",
    "+861012345678": "Asia/Shanghai",
    "+912223456789": "Asia/Kolkata",  # +5:30
    "+97714412345": "Asia/Kathmandu",  # +5:45
    "+61291234567": "Australia/Sydney",  # daylight saving in the southern summer
    "+81312345678": "Asia/Tokyo",
    "+5511912345678": "America/Sao_Paulo",
    "+12065550100": "Asia/Tokyo",  # a Seattle number, but the lead's own column says it lives in Tokyo now
}
OVERRIDDEN = "+12065550100"


def in_window(at_utc: datetime, zone: str, margin_s: float) -> bool:
    local = at_utc.astimezone(ZoneInfo(zone))
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    now_s = local.hour * 3600 + local.minute * 60 + local.second
    for start, end in WINDOWS[day]:
        start_s = _seconds(time.fromisoformat(start))
        end_s = 86400 if end == "24:00" else _seconds(time.fromisoformat(end))
        if start_s <= now_s and now_s + margin_s <= end_s:
            return True
    return False


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60


@pytest.mark.parametrize("start", [datetime(2030, 3, 9, 0, 0, tzinfo=UTC), datetime(2030, 10, 26, 12, 0, tzinfo=UTC)])
def test_no_lead_is_called_outside_its_own_window(db: Database, start: datetime) -> None:
    # March: the US springs forward on the 10th; October: Europe falls back on the 27th, Sydney sprang forward
    # always busy, retried every 10 minutes: calls land all through each window, up to its closing margin
    retry = {"busy": {"times": 20, "after_s": 600}}
    make_campaign(db, list(LEADS), calling_windows=WINDOWS, retry_policy=retry, max_attempts=21)
    with db.transaction() as s:
        s.execute(update(Lead).where(Lead.phone_e164 == OVERRIDDEN).values(timezone="Asia/Tokyo"))
    clock = Clock(start)
    placer = ScriptedPlacer(clock, {p: [PlacedCall("busy", 486)] for p in LEADS})
    config = DialerConfig(idle_poll_s=0.002, campaigns_every_s=0.0, window_margin_s=MARGIN_S, max_calls=10)
    dialer = Dialer(db, placer, config, clock=clock)

    def everyone_called() -> bool:
        calls = Counter(c.phone for c in placer.calls)
        return all(calls[p] == 21 for p in LEADS)

    asyncio.run(drive(dialer, clock, everyone_called, step_s=7 * 60, max_steps=6 * 24 * 60 // 7))

    for call in placer.calls:
        zone = LEADS[call.phone]
        assert in_window(call.at, zone, MARGIN_S), (zone, call.at.astimezone(ZoneInfo(zone)))
        assert call.zone == zone  # the dialogue hears the lead's own zone too
    assert len(placer.calls) == 21 * len(LEADS)
