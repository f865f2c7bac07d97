"""Shared pieces of the dialer's unit tests: a settable clock, a scripted placer, and a
driver that runs the real `Dialer.run` and moves the clock on whenever the dialer has nothing left to do now."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dialer.dialer import Dialer
from dialer.placer import CallRequest, PlacedCall
from session.record import CallRecord as SessionRecord
from session.record import TranscriptLine
from storage import Database
from storage.models import Campaign, CampaignStatus, Lead

ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def answered(grade: str | None = "C", **fields: Any) -> PlacedCall:
    """An answered call, as the robot's placer returns it."""
    return PlacedCall("answered", 200, datetime(2030, 1, 1, tzinfo=UTC), robot_record(grade, **fields))


def robot_record(
    grade: str | None = "C",
    *,
    outcome: str = "completed",
    follow_ups: list[dict[str, Any]] | None = None,
    score: int = 40,
) -> SessionRecord:
    """The record the robot would return for an answered call."""
    record = SessionRecord(
        "c",
        datetime.now(UTC).isoformat(),
        duration_s=12.5,
        outcome=outcome,
        grade=grade,
        score=score,
        category="potential",
    )
    record.transcript = [
        TranscriptLine("robot", "Hello, this is Alex.", 0.1, 1.2),
        TranscriptLine("customer", "Hi.", 1.5, 1.8),
    ]
    record.follow_ups = list(follow_ups or [])
    return record


@dataclass
class Dialed:
    attempt_id: int
    lead_id: int
    phone: str
    at: datetime
    zone: str
    voice: str | None = None


@dataclass
class ScriptedPlacer:
    """Answers each number with its script of results, one per call (the last one repeats)."""

    clock: Clock
    script: dict[str, list[PlacedCall]]
    calls: list[Dialed] = field(default_factory=list)
    hold: asyncio.Event | None = None  # when set up: calls wait for it (concurrency, cancellation tests)
    in_progress: int = 0
    most_at_once: int = 0
    cancelled: int = 0

    async def place(self, request: CallRequest) -> PlacedCall:
        self.calls.append(
            Dialed(
                request.attempt_id, request.lead_id, request.phone_e164, self.clock(), request.timezone, request.voice
            )
        )
        self.in_progress += 1
        self.most_at_once = max(self.most_at_once, self.in_progress)
        try:
            if self.hold is not None:
                await self.hold.wait()
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_progress -= 1
        results = self.script[request.phone_e164]
        n = sum(1 for c in self.calls if c.phone == request.phone_e164)
        return results[min(n, len(results)) - 1]


def make_campaign(db: Database, phones: list[str], **fields: Any) -> int:
    values: dict[str, Any] = dict(
        name="spring",
        script_id="insurance-en",
        language="en",
        status=CampaignStatus.RUNNING,
        calling_windows=ALWAYS_OPEN,
        retry_policy={},
        max_attempts=3,
        max_concurrent_calls=4,
        calls_per_second=50.0,
    )
    values.update(fields)
    with db.transaction() as s:
        campaign = Campaign(**values)
        s.add(campaign)
        s.flush()
        s.add_all(
            Lead(campaign_id=campaign.id, phone_e164=p, next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
            for p in phones
        )
        return campaign.id


async def drive(dialer: Dialer, clock: Clock, done: Callable[[], bool], *, step_s: float, max_steps: int) -> int:
    """Run the dialer; each time it is idle (nothing due, no call in progress) move the clock on by `step_s`, until
    `done()`. Returns the steps taken. Fails if it is not done within `max_steps`."""
    stop = asyncio.Event()
    task = asyncio.create_task(dialer.run(stop))
    try:
        for steps in range(max_steps):
            await _settled(dialer)
            if done():
                return steps
            clock.advance(step_s)
        raise AssertionError(f"not done after {max_steps} steps of {step_s} s")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until(predicate: Callable[[], bool], timeout_s: float = 20.0, every_s: float = 0.002) -> None:
    """Poll `predicate` (state the dialer changes from other tasks) until it holds; TimeoutError otherwise."""
    async with asyncio.timeout(timeout_s):
        while True:
            if predicate():
                return
            await asyncio.sleep(every_s)


async def _settled(dialer: Dialer) -> None:
    """Two whole dispatch passes have run since now and the last one found the dialer idle."""
    start = dialer.passes
    await until(lambda: dialer.passes >= start + 2 and dialer.idle.is_set())
