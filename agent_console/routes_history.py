"""Finished calls from the database: search, one record's transcript, its recording (docs/console-api.md,
"History"). Plain `def` handlers: FastAPI runs them in its thread pool, so the database never blocks the loop.

Agents see the records of their teams' campaigns; supervisors and admins see all. Numbers are always masked here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from sqlalchemy import ColumnElement, Select, Text, cast, false, func, or_, select
from sqlalchemy.orm import Session

from agent_console.context import Console, ConsoleDep, ViewerDep
from agent_console.errors import ApiError
from agent_console.policy import Viewer, is_staff, mask_phone
from storage.models import CallAttempt, CallRecord, Campaign, Lead

__all__ = ["recording_file", "router"]

router = APIRouter(prefix="/api", tags=["history"])
_Row = tuple[CallRecord, CallAttempt, Lead, Campaign]


def _base(viewer: Viewer) -> Select[CallRecord, CallAttempt, Lead, Campaign]:
    stmt = (
        select(CallRecord, CallAttempt, Lead, Campaign)
        .join(CallAttempt, CallAttempt.id == CallRecord.attempt_id)
        .join(Lead, Lead.id == CallAttempt.lead_id)
        .join(Campaign, Campaign.id == CallAttempt.campaign_id)
    )
    if not is_staff(viewer):
        teams = sorted(viewer.team_ids)
        stmt = stmt.where(Campaign.team_id.in_(teams) if teams else false())
    return stmt


def _search(q: str) -> ColumnElement[bool]:
    """Lead name, the number's last digits (`4567`, `+1 *** *** 4567`), or transcript text."""
    text = cast(CallRecord.transcript, Text)
    terms: list[ColumnElement[bool]] = [Lead.name.icontains(q, autoescape=True), text.icontains(q, autoescape=True)]
    escaped = json.dumps(q)[1:-1]  # SQLite keeps JSON with \uXXXX escapes for non-ASCII text
    if escaped != q:
        terms.append(text.icontains(escaped, autoescape=True))
    digits = re.sub(r"\D", "", q.rsplit("*", 1)[-1])
    if len(digits) >= 3 and re.fullmatch(r"[\d\s+*()-]+", q):
        terms.append(Lead.phone_e164.endswith(digits, autoescape=True))
    return or_(*terms)


def _item(row: _Row) -> dict[str, Any]:
    record, attempt, lead, campaign = row
    started = attempt.answered_at or attempt.started_at
    duration = (attempt.ended_at - started).total_seconds() if started and attempt.ended_at else None
    return {
        "id": record.id,
        "attempt_id": attempt.id,
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "lead_id": lead.id,
        "lead_name": lead.name,
        "phone": mask_phone(lead.phone_e164),
        "started_at": started.isoformat() if started else None,
        "ended_at": attempt.ended_at.isoformat() if attempt.ended_at else None,
        "duration_s": None if duration is None else round(duration, 1),
        "outcome": record.outcome,
        "grade": record.grade,
        "score": record.score,
        "has_recording": bool(record.recording_path),
    }


def _one(s: Session, viewer: Viewer, record_id: int) -> _Row:
    row = s.execute(_base(viewer).where(CallRecord.id == record_id)).first()
    if row is None:
        raise ApiError.not_found("call record")
    record, attempt, lead, campaign = row
    return record, attempt, lead, campaign


@router.get("/history", summary="Finished calls, newest first: search by lead name, number or transcript")
def history(
    viewer: ViewerDep,
    console: ConsoleDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    campaign: int | None = None,
    grade: Annotated[str | None, Query(pattern=r"^[A-D]$")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
) -> dict[str, Any]:
    stmt = _base(viewer)
    if campaign is not None:
        stmt = stmt.where(Campaign.id == campaign)
    if grade is not None:
        stmt = stmt.where(CallRecord.grade == grade)
    if q and q.strip():
        stmt = stmt.where(_search(q.strip()))
    with console.db.read() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.execute(
            stmt.order_by(CallRecord.created_at.desc(), CallRecord.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        items = [_item((r[0], r[1], r[2], r[3])) for r in rows]
    return {"items": items, "page": page, "page_size": page_size, "total": total}


@router.get("/history/{record_id}", summary="One finished call: its transcript, signals and handoff")
def history_record(record_id: int, viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        row = _one(s, viewer, record_id)
    record = row[0]
    return _item(row) | {
        "transcript": [
            {"speaker": t["speaker"], "start_s": t["start_s"], "end_s": t["end_s"], "text": t["text"]}
            for t in record.transcript
        ],
        "signals": record.signals,
        "handoff": record.handoff,
        "recording_url": f"/api/history/{record.id}/recording" if record.recording_path else None,
    }


def recording_file(console: Console, recording_path: str | None) -> Path | None:
    """The recording's file, only if it lies inside the recordings directory (a stored path never escapes it)."""
    if not recording_path:
        return None
    root = console.settings.recordings_dir.resolve()
    path = (root / recording_path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


@router.get(
    "/history/{record_id}/recording",
    summary="The call's stereo WAV (customer left, our side right)",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
def history_recording(record_id: int, viewer: ViewerDep, console: ConsoleDep) -> FileResponse:
    with console.db.read() as s:
        record = _one(s, viewer, record_id)[0]
    path = recording_file(console, record.recording_path)
    if path is None:
        raise ApiError.not_found("recording")
    return FileResponse(path, media_type="audio/wav", filename=f"call-{record.id}.wav")
