"""The audit log: who listened to, took over, handed back or hung up which call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEntry
from storage.models.base import utcnow

__all__ = ["AuditAction", "audit_trail", "record_audit"]


class AuditAction(StrEnum):
    """Stored as plain strings (no CHECK), so adding an action needs no migration."""

    LISTEN = "listen"
    TAKEOVER = "takeover"
    HAND_BACK = "hand_back"
    HANG_UP = "hang_up"
    WHISPER = "whisper"
    SET_OUTCOME = "set_outcome"
    LOGIN = "login"
    LOGOUT = "logout"
    USER_CHANGED = "user_changed"
    CAMPAIGN_CHANGED = "campaign_changed"
    LIST_IMPORTED = "list_imported"  # numbers added to the do-not-call or existing-customer list
    LEAD_ASSIGNED = "lead_assigned"


def record_audit(
    session: Session,
    *,
    user_id: int | None,
    action: AuditAction,
    call_id: str | None = None,
    lead_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry (flushed). `details` is structured context; keep phone numbers and transcripts out of it."""
    entry = AuditEntry(
        user_id=user_id,
        action=AuditAction(action).value,
        call_id=call_id,
        lead_id=lead_id,
        details=dict(details or {}),
        at=at or utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def audit_trail(
    session: Session, *, call_id: str | None = None, user_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest first, filtered by call and/or user."""
    stmt = select(AuditEntry)
    if call_id is not None:
        stmt = stmt.where(AuditEntry.call_id == call_id)
    if user_id is not None:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    return list(session.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))
