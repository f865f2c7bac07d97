"""The dialer: claims due attempts of running campaigns under leases, checks each lead's calling window, keeps to
the campaign's caps and the pacer, dials through a `CallPlacer`, and records every outcome.

One attempt, step by step (each step one short transaction; see storage/repos/attempts.py for the guarantees):

    claim (leased) ─▶ window open here and not closing? ─no─▶ release (not an attempt; due when it opens)
                              │ yes
                      mark dialing (committed before the INVITE) ─▶ place the call ─▶ record the outcome

While a call runs its lease is renewed every third of the lease time. A lease that cannot be renewed (the
database was unreachable for a whole lease, or another dialer's sweeper ended the attempt) hangs the call up: the
lead may be called again by someone else, so this dialer must not stay on the line. A dialer that dies (`kill -9`)
leaves claims that another dialer (or itself, restarted) takes over once they expire, and dialing attempts that the
sweeper ends as `lease_expired` and retries as a new attempt: no lead is lost and no attempt is dialed twice.

Decisions are taken by pure objects (`CampaignRules`: windows, retries; `TokenBucket`; the `Pacer`); this module is
the I/O around them. The database is only ever touched from threads (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from dialer.outcomes import DIALER_STOPPED, OutcomeRecorder
from dialer.placer import CallPlacer, CallRequest, PlacedCall
from dialer.rules import CampaignRules, WindowVerdict, lease_expired_delay_s, load_lead, load_running_campaigns
from storage import Database
from storage.models import AttemptState, CallAttempt, Campaign
from storage.models.base import utcnow
from storage.repos import (
    Claim,
    claim_next_attempt,
    expire_leases,
    mark_dialing,
    open_attempt_count,
    renew_lease,
)

__all__ = ["Admission", "Dialer", "DialerConfig", "default_worker_id"]

log = logging.getLogger(__name__)

# Admission(campaign) -> how many more calls may start now (the pacer's say; it keeps its own view of the calls)
Admission = Callable[[CampaignRules], int]


def default_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class DialerConfig:
    worker_id: str = field(default_factory=default_worker_id)
    lease_s: float = 30.0
    max_calls: int = 4  # calls this process carries at once (the robot's SIP capacity)
    idle_poll_s: float = 1.0  # nothing due: look again after this long (sooner when a call ends)
    campaigns_every_s: float = 5.0  # re-read running campaigns (start, pause, edits)
    window_margin_s: float = 120.0  # no call starts this close to the end of the lead's window
    drain_s: float = 30.0  # on stop: calls in progress get this long to finish, then are hung up
    campaign_ids: tuple[int, ...] | None = None  # None: every running campaign ...
    script_ids: frozenset[str] | None = None  # ... whose script this process has loaded (None: any)
    voice_ids: frozenset[str] | None = None  # ... and whose agent voice (None: any)

    def __post_init__(self) -> None:
        if self.lease_s < 3 or self.max_calls < 1:
            raise ValueError(f"expected lease_s >= 3 and max_calls >= 1, got {self.lease_s}, {self.max_calls}")


@dataclass(eq=False, slots=True)
class _Held:
    claim: Claim
    task: asyncio.Task[None]
    lost: bool = False


class Dialer:
    def __init__(
        self,
        database: Database,
        placer: CallPlacer,
        config: DialerConfig | None = None,
        *,
        outcomes: OutcomeRecorder | None = None,
        admission: Admission | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.placer = database, placer
        self.config = config or DialerConfig()
        self.outcomes = outcomes or OutcomeRecorder()
        self.admission = admission
        self.clock = clock
        self.campaigns: dict[int, CampaignRules] = {}
        self._held: dict[int, _Held] = {}  # attempt id -> claim held by this dialer
        self._wake = asyncio.Event()
        self.idle = asyncio.Event()  # set after a pass that found nothing due and no call in progress
        self.passes = 0  # dispatch passes so far (tests wait for whole passes)
        self.dialed = 0  # attempts this dialer sent an INVITE for
        self._last_s = float("-inf")

    # -- the loops --

    async def run(self, stop: asyncio.Event) -> None:
        """Dial until `stop` is set; then let calls in progress finish (at most `drain_s`) and return."""
        drained = asyncio.Event()  # leases are kept until the last call has ended
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._keep_leases(drained), name="dialer-leases")
            tg.create_task(self._sweep(stop), name="dialer-sweeper")
            await self._dispatch(stop, tg)
            await self._drain()
            drained.set()

    async def _dispatch(self, stop: asyncio.Event, tg: asyncio.TaskGroup) -> None:
        refreshed = float("-inf")
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if loop.time() - refreshed >= self.config.campaigns_every_s:
                await self._refresh_campaigns()
                refreshed = loop.time()
            started = 0
            for rules in list(self.campaigns.values()):
                started += await self._start_calls(rules, tg)
            if started == 0 and not self._held:
                self.idle.set()
            else:
                self.idle.clear()
            self.passes += 1
            self._wake.clear()
            await _first_of(stop.wait(), self._wake.wait(), timeout_s=self.config.idle_poll_s)

    async def _refresh_campaigns(self) -> None:
        c = self.config
        fresh = await asyncio.to_thread(
            load_running_campaigns, self.db, self._now_s(), c.campaign_ids, c.script_ids, c.voice_ids
        )
        for cid, rules in fresh.items():
            old = self.campaigns.get(cid)
            if old is not None:  # the calls-per-second budget survives a re-read (and follows an edited cap)
                old.bucket.set_rate(rules.bucket.rate_per_s, rules.bucket.burst, self._now_s())
                rules.bucket = old.bucket
        self.campaigns = fresh

    async def _start_calls(self, rules: CampaignRules, tg: asyncio.TaskGroup) -> int:
        """Claim and start as many attempts as every cap allows; returns how many."""
        room = self.config.max_calls - len(self._held)
        if self.admission is not None:
            room = min(room, self.admission(rules))
        if room <= 0:
            return 0
        everywhere = await asyncio.to_thread(self._open_attempts, rules.campaign_id)
        room = min(room, rules.max_concurrent_calls - everywhere)
        room = min(room, rules.bucket.available(self._now_s()))
        started = 0
        while started < room:
            claim = await asyncio.to_thread(self._claim, rules.campaign_id)
            if claim is None:
                break
            rules.bucket.take(1, self._now_s())
            task = tg.create_task(self._attempt(rules, claim), name=f"attempt-{claim.attempt_id}")
            self._held[claim.attempt_id] = _Held(claim, task)
            started += 1
        return started

    async def _keep_leases(self, drained: asyncio.Event) -> None:
        every_s = self.config.lease_s / 3
        while not drained.is_set():
            await _first_of(drained.wait(), timeout_s=every_s)
            for held in list(self._held.values()):
                if held.lost:
                    continue
                until = await asyncio.to_thread(self._renew, held.claim)
                if until is None and held.claim.attempt_id in self._held:
                    held.lost = True
                    log.warning("attempt %d: lease lost, hanging up", held.claim.attempt_id)
                    held.task.cancel()

    async def _sweep(self, stop: asyncio.Event) -> None:
        """End attempts whose dialer died mid-call (any dialer's, this one's before a restart), whatever the state
        of their campaign now."""
        while True:  # at least once: a restarted dialer ends its own dead calls first
            ended = await asyncio.to_thread(self._expire)
            if ended:
                log.warning("%d attempts ended as lease_expired", ended)
            if stop.is_set():
                return
            await _first_of(stop.wait(), timeout_s=self.config.lease_s / 2)

    async def _drain(self) -> None:
        tasks = [h.task for h in self._held.values()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.config.drain_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)  # each records its hung-up call before it ends

    def _now_s(self) -> float:
        """The clock in seconds, never going back (the rate buckets refuse that; a wall clock may step back)."""
        self._last_s = max(self._last_s, self.clock().timestamp())
        return self._last_s

    # -- one attempt --

    async def _attempt(self, rules: CampaignRules, claim: Claim) -> None:
        try:
            lead = await asyncio.to_thread(load_lead, self.db, claim.lead_id)
            margin = timedelta(seconds=self.config.window_margin_s)
            verdict = rules.window_verdict(lead, self.clock(), margin)
            if not verdict.open:
                await asyncio.to_thread(self._release, claim, verdict)
                return
            if not await asyncio.to_thread(self._mark_dialing, claim):
                return  # the lease was lost (or the number was listed do-not-call) before the INVITE
            request = rules.request(claim, lead, verdict.zone)
            placed = await self._place(rules, claim, request)
            await asyncio.to_thread(self.outcomes.record, self.db, rules, claim, request, placed, self.clock())
        except Exception:
            # e.g. the database went away: the attempt stays `dialing`, its lease runs out, and the sweeper ends it
            # as lease_expired and queues the lead again. The other calls go on.
            log.exception("attempt %d: its outcome could not be recorded", claim.attempt_id)
        finally:
            self._held.pop(claim.attempt_id, None)
            self._wake.set()

    async def _place(self, rules: CampaignRules, claim: Claim, request: CallRequest) -> PlacedCall:
        """Place the call. Cancelled (shutdown, or a lost lease) the placer hangs up; a shutdown's call is recorded
        as `dialer_stopped` (retried like any failed call), a lost lease's is left to the sweeper."""
        self.dialed += 1
        held = self._held[claim.attempt_id]
        try:
            return await self.placer.place(request)
        except asyncio.CancelledError:
            if not held.lost:
                stopped = PlacedCall(DIALER_STOPPED)
                record = asyncio.to_thread(self.outcomes.record, self.db, rules, claim, request, stopped, self.clock())
                await asyncio.shield(record)
            raise
        except Exception:
            log.exception("attempt %d: the placer failed", claim.attempt_id)
            return PlacedCall("failed")

    # -- storage, in threads --

    def _claim(self, campaign_id: int) -> Claim | None:
        with self.db.transaction() as s:
            return claim_next_attempt(
                s, campaign_id, self.config.worker_id, lease_s=self.config.lease_s, now=self.clock()
            )

    def _open_attempts(self, campaign_id: int) -> int:
        with self.db.read() as s:
            return open_attempt_count(s, campaign_id)

    def _mark_dialing(self, claim: Claim) -> bool:
        with self.db.transaction() as s:
            return mark_dialing(s, claim.attempt_id, self.config.worker_id, now=self.clock())

    def _renew(self, claim: Claim) -> datetime | None:
        try:
            with self.db.transaction() as s:
                return renew_lease(
                    s, claim.attempt_id, self.config.worker_id, lease_s=self.config.lease_s, now=self.clock()
                )
        except Exception:  # a database outage: retried at the next renewal; the lease may yet be lost
            log.exception("attempt %d: lease renewal failed", claim.attempt_id)
            return self.clock() + timedelta(seconds=1)  # not known lost yet

    def _release(self, claim: Claim, verdict: WindowVerdict) -> None:
        with self.db.transaction() as s:
            self.outcomes.not_dialed(s, claim, verdict.retry_at, verdict.reason, self.clock())

    def _expire(self) -> int:
        """Expired dialing attempts of every campaign, each lead retried after its campaign's `lease_expired`
        delay (the default one if the campaign's stored policy is invalid)."""
        now = self.clock()
        with self.db.transaction() as s:
            expired = (
                select(CallAttempt.campaign_id)
                .where(CallAttempt.state == AttemptState.DIALING, CallAttempt.lease_expires_at < now)
                .distinct()
            )
            ended = 0
            for cid, policy in s.execute(select(Campaign.id, Campaign.retry_policy).where(Campaign.id.in_(expired))):
                delay_s = lease_expired_delay_s(policy)
                ended += len(expire_leases(s, now=now, retry_after_s=delay_s, campaign_id=cid))
            return ended


async def _first_of(*aws: object, timeout_s: float) -> None:
    """Wait until the first of `aws` completes or `timeout_s` passes; cancel the rest."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
