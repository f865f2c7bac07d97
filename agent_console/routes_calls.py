"""Live calls over REST: the list, one call's view, takeover, hand-back, hang-up, outcome, and marking a
recommendation as used (docs/console-api.md, "Live calls").

These handlers are `async`: live calls belong to the event loop. Database work (audit, variant stats) runs in
threads.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agent_console.audit import RECOMMENDATION_USED
from agent_console.context import Console, ConsoleDep, ViewerDep
from agent_console.errors import ApiError
from agent_console.live import LiveCall, call_json, counts_json
from agent_console.policy import Viewer, can_control, can_see, can_whisper
from session.call_session import TakeoverError
from storage.repos.audit import AuditAction
from storage.repos.variants import load_variant_stats, upsert_variant_stats

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["calls"])
OUTCOME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class OutcomeBody(BaseModel):
    outcome: Annotated[str, Field(pattern=OUTCOME_PATTERN)]
    note: Annotated[str | None, Field(max_length=500)] = None


def _call(console: Console, viewer: Viewer, call_id: str, *, control: bool = False) -> LiveCall:
    call = console.live.get(call_id)
    if call is None:
        raise ApiError(404, "not_live", "no such live call")
    allowed = can_control if control else can_see
    if not allowed(viewer, call.meta.scope):
        raise ApiError.forbidden("not your call")
    return call


async def _audit(console: Console, viewer: Viewer, call: LiveCall, action: str, **details: Any) -> None:
    await console.auditor.record(
        viewer.user_id, action, call_id=call.meta.call_id, lead_id=call.meta.lead_id, details=details
    )


@router.get("/calls", summary="Live calls the viewer may see, with counts per state")
async def list_calls(viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    calls = console.live.visible(viewer)
    return {"calls": [call_json(c, viewer) for c in calls], "counts": counts_json(calls)}


@router.get("/calls/{call_id}", summary="One live call: summary, transcript so far, signals, recommendations")
async def get_call(call_id: str, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    call = _call(console, viewer, call_id)
    s = call.summary
    return {
        "call": call_json(call, viewer),
        "transcript": list(s.lines),
        "partials": dict(s.partials),
        "signals": list(s.signals),
        "recommendations": list(s.recommendations),
        "can_control": can_control(viewer, call.meta.scope),
        "can_listen": can_see(viewer, call.meta.scope),
        "can_whisper": can_whisper(viewer),
        "seq": s.seq,
    }


@router.post("/calls/{call_id}/takeover", summary="Take the call over (CSRF); the agent socket carries the audio")
async def take_over(call_id: str, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    call = _call(console, viewer, call_id, control=True)
    link = call.links.get(viewer.username)
    try:
        if link is not None:
            await link.take_over()  # the agent's socket is open: it carries the takeover at once
        else:
            call.held = call.session.request_takeover(viewer.username)  # the socket picks it up when it opens
    except TakeoverError as e:
        raise ApiError(409, "takeover_refused", str(e)) from None
    await _audit(console, viewer, call, AuditAction.TAKEOVER, via="rest")
    return {"call": call_json(call, viewer)}


@router.post("/calls/{call_id}/hand-back", summary="Give the call back to the robot (CSRF)")
async def hand_back(call_id: str, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    call = _call(console, viewer, call_id, control=True)
    holder = next((ln for ln in call.links.values() if ln.channel is not None and not ln.channel.closed), None)
    try:
        if holder is not None:
            await holder.hand_back()  # tells the socket, stops its audio
        else:
            call.session.hand_back()
    except TakeoverError as e:
        raise ApiError(409, "takeover_refused", str(e)) from None
    call.held = None
    await _audit(console, viewer, call, AuditAction.HAND_BACK, via="rest")
    return {"call": call_json(call, viewer)}


@router.post("/calls/{call_id}/hangup", status_code=202, summary="Hang up the call now (CSRF)")
async def hang_up(call_id: str, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    call = _call(console, viewer, call_id, control=True)
    call.session.end()
    await _audit(console, viewer, call, AuditAction.HANG_UP)
    return {"call": call_json(call, viewer)}


@router.post("/calls/{call_id}/outcome", summary="Set the call's outcome (CSRF)")
async def set_outcome(call_id: str, body: OutcomeBody, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    call = _call(console, viewer, call_id, control=True)
    call.agent_outcome, call.agent_note = body.outcome, body.note
    console.live.changed(call_id)
    # the note is free text written about a person: it stays with the call, not in the audit log
    await _audit(console, viewer, call, AuditAction.SET_OUTCOME, outcome=body.outcome, note=body.note is not None)
    return {"call": call_json(call, viewer)}


@router.post("/recommendations/{rec_id}/used", summary="Mark a recommended answer as used (CSRF): feeds mining")
async def recommendation_used(rec_id: str, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    issued = console.recommendations.get(rec_id)
    if issued is None:
        raise ApiError.not_found("recommendation (unknown or expired id)")
    if not can_control(viewer, issued.scope):
        raise ApiError.forbidden("not your call")
    first = console.recommendations.mark_used(rec_id)

    def count() -> tuple[int, int]:
        with console.db.transaction() as s:
            if first:
                upsert_variant_stats(s, issued.script_id, issued.variant_id, uses=1, conversions=0)
            stats = load_variant_stats(s, issued.script_id).get(issued.script_id, {})
            return stats.get(issued.variant_id, (0, 0))

    uses, conversions = await asyncio.to_thread(count)
    if first:
        call = console.live.get(issued.call_id)
        if call is not None:
            call.recommendations_used.append(issued.variant_id)
        details = {"rec_id": rec_id, "script_id": issued.script_id, "variant_id": issued.variant_id}
        await console.auditor.record(viewer.user_id, RECOMMENDATION_USED, call_id=issued.call_id, details=details)
    return {
        "rec_id": rec_id,
        "script_id": issued.script_id,
        "variant_id": issued.variant_id,
        "uses": uses,
        "conversions": conversions,
    }
