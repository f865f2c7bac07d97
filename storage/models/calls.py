"""Call attempts (the dialer's leased work items) and call records (what a finished call left behind)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import JSON_TYPE, AttemptState, Base, BigId, str_enum, utcnow

__all__ = ["CallAttempt", "CallRecord", "TranscriptTurn"]

_OPEN = "state IN ('claimed', 'dialing')"


class CallAttempt(Base):
    """Attempt number `attempt_no` to call one lead, held by one dialer (`claimed_by`) until `lease_expires_at`.

    Two constraints make "dialed twice for the same attempt" impossible: (lead_id, attempt_no) is unique, and a lead
    has at most one open (claimed or dialing) attempt. `claims` counts how often the attempt was claimed: more
    than 1 means a dialer died holding it before dialing and another took it over.
    """

    __tablename__ = "call_attempts"
    __table_args__ = (
        UniqueConstraint("lead_id", "attempt_no"),
        Index(
            "uq_call_attempts_open_lead", "lead_id", unique=True, sqlite_where=text(_OPEN), postgresql_where=text(_OPEN)
        ),
        # abandoned claims: WHERE campaign_id = ? AND state = ? AND lease_expires_at < now ORDER BY lease_expires_at, id
        Index("ix_call_attempts_lease", "campaign_id", "state", "lease_expires_at", "id"),
        Index("ix_call_attempts_expiry", "state", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(BigId, ForeignKey("leads.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    attempt_no: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    claims: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[AttemptState] = mapped_column(str_enum(AttemptState, "attempt_state"), default=AttemptState.CLAIMED)
    disposition: Mapped[str | None] = mapped_column(String(32))
    sip_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class TranscriptTurn(TypedDict):
    """One entry of `CallRecord.transcript`: times in seconds from the answer."""

    speaker: str  # customer | robot | agent
    start_s: float
    end_s: float
    text: str


class CallRecord(Base):
    """What one answered (or attempted) call left: at most one record per attempt.

    `transcript`: a list of `TranscriptTurn`; `timings`: JSON of measured durations (`ring_s`, `talk_s`, …);
    `signals`: the scoring signals behind the grade; `handoff`: JSON with who took over and when (empty if no one).
    """

    __tablename__ = "call_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(BigId, ForeignKey("call_attempts.id"), unique=True)
    transcript: Mapped[list[Any]] = mapped_column(default=list)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recording_path: Mapped[str | None] = mapped_column(String(1024))
    outcome: Mapped[str | None] = mapped_column(String(32))
    grade: Mapped[str | None] = mapped_column(String(1))
    score: Mapped[float | None] = mapped_column(Float)
    signals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    handoff: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
