"""Campaigns and their leads, lead imports, the do-not-call and existing-customer lists, and what happens to a
qualified lead afterwards (assignment to a sales rep, follow-ups).

Phone numbers are E.164 strings (`+4930123456`, at most 16 characters). Leads hold personal data: the base class's
`__repr__` prints primary keys only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, CampaignStatus, LeadStatus, str_enum, utcnow

__all__ = [
    "Campaign",
    "DoNotCall",
    "ExistingCustomer",
    "FollowUp",
    "ImportBatch",
    "ImportRowReport",
    "Lead",
    "LeadAssignment",
]

E164 = String(16)


class Campaign(Base):
    """A bulk calling job.

    `calling_windows`: JSON, evaluated in each lead's own time zone by the dialer, e.g.
    `{"mon": [["09:00", "12:00"], ["14:00", "18:00"]], ...}`. `retry_policy`: JSON per disposition, e.g.
    `{"busy": {"times": 3, "after_s": 600}, "no_answer": {"times": 2, "after_s": 7200}}`.
    """

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("max_attempts >= 1", name="max_attempts"),
        CheckConstraint("max_concurrent_calls >= 1", name="max_concurrent_calls"),
        CheckConstraint("calls_per_second > 0", name="calls_per_second"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    script_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    voice_profile_id: Mapped[str | None] = mapped_column(String(64))
    caller_id: Mapped[str | None] = mapped_column(E164)
    max_concurrent_calls: Mapped[int] = mapped_column(Integer, default=1)
    calls_per_second: Mapped[float] = mapped_column(Float, default=1.0)
    calling_windows: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retry_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    # what the robot says on the campaign's behalf: `dialogue.CampaignPolicy` fields (agent_name, callback_number...)
    dialogue_settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lead(Base):
    """One person to call in one campaign (a number appears at most once per campaign).

    The dialer's queue: `status` queued and `next_attempt_at` due. `attempts` counts attempts begun (claimed).
    After a sales rep's protection period (`protection_until`) ends with no follow-up, the lead returns to the
    public pool; `pool_cooldown_rep_id` may not claim it again before `pool_cooldown_until`.
    """

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone_e164"),
        # the dialer's next-due-lead query: WHERE campaign_id = ? AND status = 'queued' AND next_attempt_at <= now
        # ORDER BY next_attempt_at, id LIMIT 1 (id included so PostgreSQL reads it in order, with no sort)
        Index("ix_leads_due", "campaign_id", "status", "next_attempt_at", "id"),
        Index("ix_leads_protection", "assigned_rep_id", "protection_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    phone_e164: Mapped[str] = mapped_column(E164, index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[LeadStatus] = mapped_column(str_enum(LeadStatus, "lead_status"), default=LeadStatus.QUEUED)
    grade: Mapped[str | None] = mapped_column(String(1))
    intent_score: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # due at once by default; NULL means "not scheduled" (never claimed while NULL)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    assigned_rep_id: Mapped[int | None] = mapped_column(ForeignKey("sales_reps.id"))
    protection_until: Mapped[datetime | None]
    pool_cooldown_rep_id: Mapped[int | None] = mapped_column(ForeignKey("sales_reps.id"))
    pool_cooldown_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImportBatch(Base):
    """One uploaded lead file. `column_mapping` maps our field names to the file's column headers."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    default_region: Mapped[str | None] = mapped_column(String(2))
    column_mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_kept: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ImportRowReport(Base):
    """Why one row of an import was rejected (reason: a short code such as `invalid_number`, `duplicate_in_file`)."""

    __tablename__ = "import_rows"
    __table_args__ = (UniqueConstraint("batch_id", "row_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    row_no: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(255))


class DoNotCall(Base):
    """A number that must never be dialed. `source`: where it came from (`customer_request`, `list:<file>`, …)."""

    __tablename__ = "do_not_call"

    phone_e164: Mapped[str] = mapped_column(E164, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExistingCustomer(Base):
    """A number that already belongs to a customer: imports drop it."""

    __tablename__ = "existing_customers"

    phone_e164: Mapped[str] = mapped_column(E164, primary_key=True)
    source: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadAssignment(Base):
    """A qualified lead handed to a sales rep; `released_at` is set when it goes back to the public pool.

    A lead has at most one open assignment (partial unique index on `released_at IS NULL`).
    """

    __tablename__ = "lead_assignments"
    __table_args__ = (
        Index(
            "uq_lead_assignments_open",
            "lead_id",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
        Index("ix_lead_assignments_rep", "rep_id", "released_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("sales_reps.id"))
    lead_id: Mapped[int] = mapped_column(BigId, ForeignKey("leads.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    protection_until: Mapped[datetime]
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(String(32))


class FollowUp(Base):
    """Something a rep did or will do about a lead (kind: call, email, meeting, note)."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_due", "rep_id", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(BigId, ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("sales_reps.id"))
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
