"""A dialer process: the robot (models, voices, SIP workers), the dialer loop, the webhook sender and the metrics,
run until SIGTERM or SIGINT.

    callcenter dialer run --campaign 3 --dial-plan 'sip:{digits}@trunk.example.net' --metrics-port 9464

Several dialer processes may serve the same campaigns against one database: leases keep them from taking the same
attempt. SIGTERM stops claiming, lets calls in progress finish (`drain_s`), and exits; `kill -9` is survived by
the leases (dialer/dialer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dialer.assignment import Strategy
from dialer.desk import HandoffDesk
from dialer.dialer import Dialer, DialerConfig
from dialer.dialplan import DialPlan
from dialer.metrics import DialerMetrics
from dialer.outcomes import OutcomeRecorder
from dialer.placer import CallPlacer, CallRequest, PlacedCall, RobotPlacer
from storage import Database, migrate
from storage.models import Campaign, CampaignStatus
from storage.models.base import utcnow
from telephony import SipAccount

__all__ = ["DialerService", "ServiceOptions", "TrackedPlacer", "campaign_needs"]

log = logging.getLogger(__name__)
POOL_RELEASE_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    dial_plan: DialPlan
    database_url: str | None = None
    campaign_ids: tuple[int, ...] | None = None  # None: every running campaign whose script is loaded
    scripts: tuple[str, ...] = ()  # loaded in addition to the scripts of the campaigns running at start
    max_calls: int = 4
    lease_s: float = 30.0
    account: SipAccount = field(default_factory=SipAccount)
    sip_port: int = 0
    rtp_port: int = 16000
    recordings_dir: Path | None = Path("data/recordings")
    phrase_dir: Path | None = Path("data/phrases")
    metrics_port: int | None = None
    assignment: Strategy = "round_robin"  # or "rating"
    protection_s: float = 7 * 86400.0
    detect_machines: bool = True
    window_margin_s: float = 120.0
    voices_dir: Path | None = None  # agents' voice profiles (None: $CALLCENTER_VOICES_DIR, else var/voices)
    pool_cooldown_s: float = 3 * 86400.0  # a released lead's former rep may not claim it again before this
    pace_with_agents: bool = False  # pace by agent availability (a console in this process reports it)


def campaign_needs(database: Database, campaign_ids: tuple[int, ...] | None) -> tuple[list[str], list[str]]:
    """The scripts and agent voices the dialer must load: those of the listed campaigns, else of every running one."""
    stmt = select(Campaign.script_id, Campaign.voice_profile_id)
    if campaign_ids is None:
        stmt = stmt.where(Campaign.status == CampaignStatus.RUNNING)
    else:
        stmt = stmt.where(Campaign.id.in_(campaign_ids))
    with database.read() as s:
        rows = s.execute(stmt).all()
    return sorted({r.script_id for r in rows}), sorted({r.voice_profile_id for r in rows if r.voice_profile_id})


class DialerService:
    def __init__(self, options: ServiceOptions) -> None:
        self.options = options
        self.metrics = DialerMetrics()
        # agents can only take calls from a console in this process; without one, pace by the campaign's caps
        self.desk = HandoffDesk(metrics=self.metrics, handoffs_enabled=options.pace_with_agents)
        # a console in this process shows each answered call on its live board (`LiveCalls.serving`)
        self.live: Callable[[CallRequest, Any], contextlib.AbstractContextManager[Any]] | None = None

    @contextlib.contextmanager
    def _serving(self, request: CallRequest, session: Any) -> Iterator[None]:
        """An answered call: followed by the handoff desk, and shown on the console's board if there is one."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(self.desk.serving(request, session))
            if self.live is not None:
                stack.enter_context(self.live(request, session))
            yield

    async def run(self, stop: asyncio.Event) -> None:
        from session.robot import Robot, RobotConfig

        o = self.options
        await asyncio.to_thread(migrate.upgrade, o.database_url)
        database = Database(o.database_url)
        try:
            needed, voices = await asyncio.to_thread(campaign_needs, database, o.campaign_ids)
            scripts = sorted({*o.scripts, *needed})
            if not scripts:
                raise ValueError("expected a running campaign or --script, got nothing to load")
            config = RobotConfig(
                scripts=tuple(scripts),
                max_calls=o.max_calls,
                account=o.account,
                sip_port=o.sip_port,
                rtp_port=o.rtp_port,
                phrase_dir=o.phrase_dir,
                records_dir=None,
                recordings_dir=o.recordings_dir,
                detect_machines=o.detect_machines,
                voices=tuple(voices),
                voices_dir=o.voices_dir,
            )
            robot = await Robot.load(config)
            try:
                await self._serve(database, robot, frozenset(scripts), frozenset(voices), stop)
            finally:
                await robot.close()
        finally:
            database.dispose()

    async def _serve(
        self, database: Database, robot: Any, scripts: frozenset[str], voices: frozenset[str], stop: asyncio.Event
    ) -> None:
        from dialer.webhooks import WebhookSender

        o = self.options
        self.metrics.watch_robot(robot)
        if o.metrics_port is not None:
            self.metrics.serve(o.metrics_port)
        outcomes = OutcomeRecorder(
            strategy=o.assignment, protection_s=o.protection_s, on_recorded=self.metrics.on_recorded
        )
        placer = TrackedPlacer(RobotPlacer(robot, o.dial_plan, serve=self._serving), self.desk)
        config = DialerConfig(
            lease_s=o.lease_s,
            max_calls=o.max_calls,
            campaign_ids=o.campaign_ids,
            script_ids=scripts,
            voice_ids=voices,
            window_margin_s=o.window_margin_s,
        )
        dialer = Dialer(database, placer, config, outcomes=outcomes, admission=self.desk.admission)
        log.info("dialer %s: serving scripts %s", config.worker_id, ",".join(sorted(scripts)))
        async with WebhookSender(database) as sender, asyncio.TaskGroup() as tg:
            tg.create_task(sender.run(stop), name="webhook-sender")
            tg.create_task(self._release_pool(database, stop), name="pool-release")
            await dialer.run(stop)

    async def _release_pool(self, database: Database, stop: asyncio.Event) -> None:
        """Every minute: assigned leads whose protection ended with no follow-up go back to the public pool."""
        from dialer.assignment import release_expired

        def release() -> int:
            with database.transaction() as s:
                return release_expired(s, now=utcnow(), cooldown_s=self.options.pool_cooldown_s)

        while not stop.is_set():
            released = await asyncio.to_thread(release)
            if released:
                log.info("%d leads returned to the public pool", released)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POOL_RELEASE_EVERY_S)


class TrackedPlacer:
    """A placer that tells the handoff desk when each call starts and ends (the pacer's observations)."""

    def __init__(self, inner: CallPlacer, desk: HandoffDesk) -> None:
        self.inner, self.desk = inner, desk

    async def place(self, request: CallRequest) -> PlacedCall:
        self.desk.dialing(request)
        answered = False
        try:
            placed = await self.inner.place(request)
            answered = placed.answered_at is not None
            return placed
        finally:
            self.desk.ended(request.call_id, answered)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
