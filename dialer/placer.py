"""The dialer's one seam towards the phone line: `CallPlacer.place(request) -> PlacedCall`.

`RobotPlacer` is the product's placer: it dials through the robot's SIP worker pool and, once answered, the robot
qualifies the lead (`session.robot.Robot.call`). Tests of the dialer's bookkeeping put a scripted placer here; the
kill -9 test and the demo use `RobotPlacer` against the customer simulator.

A placer must return for every call it started (a failure is a `PlacedCall` with disposition `failed`) and hang
up promptly when its task is cancelled (the dialer cancels a call whose lease it lost).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from dialer.dialplan import DialPlan

if TYPE_CHECKING:
    from dialogue import CampaignPolicy
    from session.call_session import CallSession
    from session.record import CallRecord as SessionRecord
    from session.robot import Robot

__all__ = ["CallPlacer", "CallRequest", "PlacedCall", "RobotPlacer", "disposition_of"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One attempt to dial. `lead` holds the script's placeholder values (personal data: never log it)."""

    call_id: str
    attempt_id: int
    lead_id: int
    campaign_id: int
    phone_e164: str
    script_id: str
    lead: Mapping[str, str] = field(default_factory=dict)
    caller_id: str | None = None
    voice: str | None = None  # the agent voice profile the robot speaks with (None: the stock voice)
    timezone: str = "UTC"  # the lead's own zone, for the dialogue's dates and times
    policy: Mapping[str, Any] = field(default_factory=dict)  # the campaign's dialogue settings (CampaignPolicy)
    meta: Mapping[str, Any] = field(default_factory=dict)  # for the console's live board (campaign name, team...)


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """How a call went. `record` is the robot's record of an answered call (None when unanswered)."""

    disposition: str
    sip_status: int | None = None
    answered_at: datetime | None = None
    record: SessionRecord | None = None


class CallPlacer(Protocol):
    async def place(self, request: CallRequest) -> PlacedCall: ...


def disposition_of(record: SessionRecord) -> str:
    """An answered call's disposition: `voicemail` when the robot met an answering machine, else `answered`."""
    return "voicemail" if record.outcome == "voicemail" else "answered"


ServeHook = Callable[["CallRequest", "CallSession"], contextlib.AbstractContextManager[Any]]


class RobotPlacer:
    """Dials with `robot`; `serve(request, session)` wraps each answered call (the console's live board registers
    it there; default: the robot's own registry)."""

    def __init__(self, robot: Robot, plan: DialPlan, *, serve: ServeHook | None = None) -> None:
        self.robot, self.plan, self._serve = robot, plan, serve

    async def place(self, request: CallRequest) -> PlacedCall:
        from session.record import CallRecord as SessionRecord

        policy = self._policy(request)
        dialed_at = datetime.now(UTC)
        result = await self.robot.call(
            self.plan.uri(request.phone_e164),
            call_id=request.call_id,
            script_id=request.script_id,
            lead=request.lead,
            policy=policy,
            caller_id=request.caller_id,
            voice=request.voice,
            serve=None if self._serve is None else (lambda session: self._serve_call(request, session)),
        )
        if isinstance(result, SessionRecord):
            answered = datetime.fromisoformat(result.answered_at)
            return PlacedCall(disposition_of(result), 200, answered, result)
        answered_at = dialed_at + timedelta(seconds=result.setup_s) if result.answered else None
        return PlacedCall(str(result.disposition), result.sip_status or None, answered_at)

    @contextlib.contextmanager
    def _serve_call(self, request: CallRequest, session: CallSession) -> Iterator[None]:
        assert self._serve is not None
        with self._serve(request, session):
            yield

    def _policy(self, request: CallRequest) -> CampaignPolicy:
        from dialogue import CampaignPolicy

        fields = {k: v for k, v in request.policy.items() if k in CampaignPolicy.__dataclass_fields__}
        return CampaignPolicy(**fields, lead_timezone=request.timezone)
