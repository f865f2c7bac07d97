"""Campaigns over REST: the create form's scripts, create and edit, the lifecycle, progress; and an agent's
availability for handoffs (docs/console-api.md, "Campaigns").

The rules live in `dialer.campaigns` (validation, lifecycle, progress, the audit entries); these routes map its
refusals to HTTP: invalid settings `422 invalid_campaign`, an illegal step or an edit outside draft/paused
`409 wrong_status`, an unknown id `404`. Plain `def` handlers (FastAPI's thread pool keeps the database off the
loop), except availability, which touches the handoff desk: that lives on the event loop and is not thread-safe.

Agents see their teams' campaigns (the history rule); supervisors and admins see and change all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from agent_console.context import Console, ConsoleDep, StaffDep, ViewerDep
from agent_console.errors import ApiError
from agent_console.policy import Viewer, is_staff
from dialer import campaigns
from dialer.campaigns import CampaignProgress, CampaignSpec
from scripts_library.catalog import load_catalog
from storage.models import CallAttempt, CallRecord, Campaign, Lead, LeadStatus

__all__ = ["CampaignBody", "campaign_json", "latency_histogram", "progress_json", "router", "visible_campaign"]

router = APIRouter(prefix="/api", tags=["campaigns"])
_WRONG_STATUS = "expected campaign in "  # dialer.campaigns' message for an illegal step or edit
_FINISHED = (LeadStatus.DONE.value, LeadStatus.DO_NOT_CALL.value)
LATENCY_BIN_MS = 100
LATENCY_MAX_BINS = 50  # the last bin gathers everything from 4.9 s up
LATENCY_RECORDS = 5000  # the newest records read for the histogram: bounds one request's cost on a big campaign


class CampaignBody(BaseModel):
    """`CampaignSpec`'s fields; `language` defaults to the script's. Types are checked here, values by
    `dialer.campaigns.validate_spec` (its message is the 422's detail)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    script_id: str
    language: str | None = None
    voice_profile_id: str | None = None
    caller_id: str | None = None
    max_concurrent_calls: int = 1
    calls_per_second: float = 1.0
    calling_windows: dict[str, Any] = {}
    retry_policy: dict[str, Any] = {}
    max_attempts: int = 3
    team_id: int | None = None
    dialogue_settings: dict[str, Any] = {}

    def spec(self) -> CampaignSpec:
        fields = self.model_dump()
        if fields["language"] is None:
            script = load_catalog().get(self.script_id)
            fields["language"] = script.language if script is not None else ""  # validate_spec names the script
        return CampaignSpec(**fields)


class Availability(BaseModel):
    available: bool


@contextmanager
def _refusals() -> Iterator[None]:
    """dialer.campaigns' exceptions as the console's refusals (wrap the transaction: it rolls back first)."""
    try:
        yield
    except KeyError:
        raise  # a bug, not an unknown campaign
    except LookupError:
        raise ApiError.not_found("campaign") from None
    except ValueError as e:
        if str(e).startswith(_WRONG_STATUS):
            raise ApiError(409, "wrong_status", str(e)) from None
        raise ApiError(422, "invalid_campaign", str(e)) from None


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def campaign_json(c: Campaign) -> dict[str, Any]:
    """A campaign's settings and status (the edit form's values)."""
    return {
        "id": c.id,
        "name": c.name,
        "script_id": c.script_id,
        "language": c.language,
        "voice_profile_id": c.voice_profile_id,
        "team_id": c.team_id,
        "status": c.status.value,
        "caller_id": c.caller_id,
        "max_concurrent_calls": c.max_concurrent_calls,
        "calls_per_second": c.calls_per_second,
        "max_attempts": c.max_attempts,
        "calling_windows": c.calling_windows,
        "retry_policy": c.retry_policy,
        "dialogue_settings": c.dialogue_settings,
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
    }


def progress_json(p: CampaignProgress) -> dict[str, Any]:
    """The funnel for charts (attempts dialed, answered; leads qualified; attempts handed to a person) and the
    breakdowns behind it."""
    return {
        "status": p.status.value,
        "funnel": {
            "dialed": p.attempts_total,
            "answered": p.answered,
            "qualified": p.qualified,
            "handed_to_person": p.handed_to_person,
        },
        "leads_total": p.leads_total,
        "leads_by_status": p.leads_by_status,
        "grades": p.grades,
        "dispositions": p.attempts_by_disposition,
        "open_attempts": p.open_attempts,
    }


def _visible(viewer: Viewer) -> Select[Campaign]:
    stmt = select(Campaign)
    if not is_staff(viewer):
        teams = sorted(viewer.team_ids)
        stmt = stmt.where(Campaign.team_id.in_(teams) if teams else false())
    return stmt


def visible_campaign(s: Session, viewer: Viewer, campaign_id: int) -> Campaign:
    """The campaign if the viewer may see it; 404 otherwise (an agent learns nothing of other teams')."""
    campaign = s.scalar(_visible(viewer).where(Campaign.id == campaign_id))
    if campaign is None:
        raise ApiError.not_found("campaign")
    return campaign


def _summaries(s: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Leads by status per campaign: one GROUP BY that the `(campaign_id, status, …)` index answers alone."""
    by_status = {i: dict.fromkeys((st.value for st in LeadStatus), 0) for i in ids}
    rows = s.execute(
        select(Lead.campaign_id, Lead.status, func.count())
        .where(Lead.campaign_id.in_(ids))
        .group_by(Lead.campaign_id, Lead.status)
    )
    for campaign_id, status, count in rows:
        by_status[campaign_id][LeadStatus(status).value] += count
    return {i: _summary(counts) for i, counts in by_status.items()}


def _summary(by_status: dict[str, int]) -> dict[str, Any]:
    total = sum(by_status.values())
    done = sum(by_status[st] for st in _FINISHED)
    return {
        "leads_total": total,
        "leads_by_status": by_status,
        "done_pct": round(100.0 * done / total, 1) if total else 0.0,
    }


# -- scripts and campaigns -------------------------------------------------------------------------------------------


@router.get("/scripts", summary="The scripts library, for the campaign form (supervisors and admins)")
def list_scripts(_: StaffDep) -> dict[str, Any]:
    found = sorted(load_catalog().values(), key=lambda sc: sc.id)
    return {
        "scripts": [
            {
                "id": sc.id,
                "title": sc.title,
                "language": sc.language,
                "industry": sc.industry,
                "nodes": len(sc.nodes),
                "faq": len(sc.faq),
            }
            for sc in found
        ]
    }


@router.get("/campaigns", summary="Campaigns with their status and leads by status (agents: their teams')")
def list_campaigns(viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        found = list(s.scalars(_visible(viewer).order_by(Campaign.id)))
        summaries = _summaries(s, [c.id for c in found]) if found else {}
        return {"campaigns": [campaign_json(c) | {"progress": summaries[c.id]} for c in found]}


@router.post("/campaigns", status_code=201, summary="Create a draft campaign (supervisors and admins, CSRF)")
def create_campaign(body: CampaignBody, viewer: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    spec = body.spec()
    with _refusals(), console.db.transaction() as s:
        return {"campaign": campaign_json(campaigns.create_campaign(s, spec, user_id=viewer.user_id))}


@router.get("/campaigns/{campaign_id}", summary="One campaign: its settings and full progress")
def read_campaign(campaign_id: int, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        campaign = visible_campaign(s, viewer, campaign_id)
        return {"campaign": campaign_json(campaign), "progress": progress_json(campaigns.progress(s, campaign_id))}


@router.put("/campaigns/{campaign_id}", summary="Replace a draft or paused campaign's settings (supervisors+, CSRF)")
def update_campaign(campaign_id: int, body: CampaignBody, viewer: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    spec = body.spec()
    with _refusals(), console.db.transaction() as s:
        campaign = campaigns.update_campaign(s, campaign_id, spec, user_id=viewer.user_id)
        return {"campaign": campaign_json(campaign)}


@router.get("/campaigns/{campaign_id}/progress", summary="The campaign's funnel, grades, dispositions, leads")
def campaign_progress(campaign_id: int, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        visible_campaign(s, viewer, campaign_id)
        return progress_json(campaigns.progress(s, campaign_id))


def latency_histogram(
    values_ms: list[float], bin_ms: int = LATENCY_BIN_MS, max_bins: int = LATENCY_MAX_BINS
) -> dict[str, Any]:
    """Counts of `values_ms` in bins `[i * bin_ms, (i + 1) * bin_ms)`, from 0 up to the highest one used; the last
    of `max_bins` is open-ended (`hi_ms` None). Negative values count in the first bin."""
    counts = [0] * max_bins
    for value in values_ms:
        counts[min(max(int(value // bin_ms), 0), max_bins - 1)] += 1
    used = max((i + 1 for i, n in enumerate(counts) if n), default=0)
    bins = [
        {"lo_ms": i * bin_ms, "hi_ms": None if i == max_bins - 1 else (i + 1) * bin_ms, "count": counts[i]}
        for i in range(used)
    ]
    ordered = sorted(values_ms)
    return {
        "bin_ms": bin_ms,
        "bins": bins,
        "n": len(ordered),
        "p50_ms": _quantile(ordered, 0.5),
        "p95_ms": _quantile(ordered, 0.95),
    }


def _quantile(ordered: list[float], q: float) -> float | None:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None


def _voice_to_voice_ms(s: Session, campaign_id: int) -> list[float]:
    rows = s.scalars(
        select(CallRecord.timings)
        .join(CallAttempt, CallAttempt.id == CallRecord.attempt_id)
        .where(CallAttempt.campaign_id == campaign_id)
        .order_by(CallRecord.id.desc())
        .limit(LATENCY_RECORDS)
    )
    values: list[float] = []
    for timings in rows:
        found = timings.get("voice_to_voice_ms") if isinstance(timings, dict) else None
        if isinstance(found, list):
            values.extend(float(v) for v in found if isinstance(v, int | float) and not isinstance(v, bool))
    return values


@router.get("/campaigns/{campaign_id}/latency", summary="Histogram of the robot's voice-to-voice latency (100 ms bins)")
def campaign_latency(campaign_id: int, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        visible_campaign(s, viewer, campaign_id)
        return latency_histogram(_voice_to_voice_ms(s, campaign_id))


def _step_route(step: Callable[..., Campaign]) -> Callable[..., dict[str, Any]]:
    def run_step(campaign_id: int, viewer: StaffDep, console: ConsoleDep) -> dict[str, Any]:
        with _refusals(), console.db.transaction() as s:
            return {"campaign": campaign_json(step(s, campaign_id, user_id=viewer.user_id))}

    return run_step


_STEPS: dict[str, tuple[Callable[..., Campaign], str]] = {
    "start": (campaigns.start, "draft → running (its settings checked again)"),
    "pause": (campaigns.pause, "running → paused: nothing more is dialed, calls in progress finish"),
    "resume": (campaigns.resume, "paused → running"),
    "stop": (campaigns.stop, "running or paused → stopped, for good"),
}
for _name, (_step, _doc) in _STEPS.items():
    router.add_api_route(
        f"/campaigns/{{campaign_id}}/{_name}",
        _step_route(_step),
        methods=["POST"],
        name=f"{_name}_campaign",
        summary=f"{_doc} (supervisors and admins, CSRF)",
    )


# -- the agent's availability for handoffs ------------------------------------------------------------------------


def _availability(console: Console, viewer: Viewer) -> dict[str, Any]:
    desk = console.settings.desk
    state = desk.roster_state(viewer.username) if desk is not None else None
    value = getattr(state, "value", state)
    return {"dialer": desk is not None, "available": value not in (None, "offline"), "state": value}


# The desk's agent id is the username: the session's `handoff accepted` event names the agent that took the call
# by username (routes_calls, media_ws), and the desk matches the two to put that agent on the call.
@router.get("/me/availability", summary="Whether the logged-in user takes handoffs now (any role)")
async def read_availability(viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    return _availability(console, viewer)


@router.post("/me/availability", summary="Ready for handoffs, or not (any role, CSRF; 409 without a dialer)")
async def set_availability(body: Availability, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    desk = console.settings.desk
    if desk is None:
        raise ApiError(409, "no_dialer", "no dialer in this process")
    if body.available:
        desk.agent_available(viewer.username)
    else:
        desk.agent_offline(viewer.username)
    return _availability(console, viewer)
