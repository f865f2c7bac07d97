"""The dialer's work queue: claim the next due attempt of a campaign under a lease, renew, dial, finish, release.

Crash safety rests on three rules, each enforced by one conditional statement (atomic on both databases):

- A claim creates attempt `n = lead.attempts + 1`; (lead, attempt_no) is unique and a lead has at most one open
  attempt, so two dialers can never hold the same attempt, whatever the race.
- An attempt whose lease expired while still `claimed` (its dialer died before dialing) is taken over by the next
  `claim_next_attempt` of its campaign, exactly once: the takeover is an UPDATE guarded by the expiry.
- An attempt whose lease expired while `dialing` (the INVITE may have gone out) is never dialed again:
  `expire_leases` ends it as `lease_expired` and puts its lead back in the queue for a new attempt.

A dialer marks an attempt `dialing` just before it sends the INVITE, renews its leases every third of the lease
time, and stops dialing anything whose `renew_lease` or `mark_dialing` returned a lost lease.

SQLite takes the whole claim as one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING` inside a `BEGIN
IMMEDIATE` transaction (one writer at a time); PostgreSQL adds `FOR UPDATE SKIP LOCKED` to the inner SELECT so
concurrent claimers take different rows without waiting for each other. Times come from the caller's clock (`now`,
default: the current UTC time): every dialer should run NTP; leases of tens of seconds tolerate small skew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.orm import Session

from storage.models import AttemptState, CallAttempt, Campaign, CampaignStatus, DoNotCall, Lead, LeadStatus
from storage.models.base import UTCDateTime, utcnow
from storage.repos._sql import dialect_name

__all__ = [
    "LEASE_EXPIRED",
    "Claim",
    "ExpiredAttempt",
    "claim_next_attempt",
    "expire_leases",
    "finish_attempt",
    "mark_dialing",
    "open_attempt_count",
    "release_attempt",
    "renew_lease",
]

LEASE_EXPIRED = "lease_expired"  # disposition of an attempt whose dialer vanished mid-call
_OPEN_STATES = (AttemptState.CLAIMED, AttemptState.DIALING)


@dataclass(frozen=True, slots=True)
class Claim:
    """An attempt this dialer now holds. `reclaimed`: taken over from a dialer whose lease expired before dialing."""

    attempt_id: int
    lead_id: int
    campaign_id: int
    attempt_no: int
    claimed_by: str
    lease_expires_at: datetime
    reclaimed: bool


@dataclass(frozen=True, slots=True)
class ExpiredAttempt:
    attempt_id: int
    lead_id: int
    campaign_id: int
    attempt_no: int


def claim_next_attempt(
    session: Session, campaign_id: int, worker: str, *, lease_s: float, now: datetime | None = None
) -> Claim | None:
    """The next attempt for `worker` to dial in a running campaign, or None if nothing is due.

    Abandoned claims (expired before dialing) come first, then the lead with the earliest `next_attempt_at` that
    has attempts left and is not on the do-not-call list. Commit the session promptly: the claim holds row locks
    (PostgreSQL) or the write lock (SQLite) until then.
    """
    now = now or utcnow()
    lease_until = now + timedelta(seconds=lease_s)
    max_attempts = session.scalar(
        select(Campaign.max_attempts).where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.RUNNING)
    )
    if max_attempts is None:
        return None
    taken = _reclaim_abandoned(session, campaign_id, worker, lease_until, now)
    if taken is not None:
        return taken
    return _claim_due_lead(session, campaign_id, worker, max_attempts, lease_until, now)


def _reclaim_abandoned(
    session: Session, campaign_id: int, worker: str, lease_until: datetime, now: datetime
) -> Claim | None:
    expired = and_(
        CallAttempt.campaign_id == campaign_id,
        CallAttempt.state == AttemptState.CLAIMED,
        CallAttempt.lease_expires_at < now,
    )
    pick = select(CallAttempt.id).where(expired).order_by(CallAttempt.lease_expires_at, CallAttempt.id).limit(1)
    if dialect_name(session) == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    row = session.execute(
        update(CallAttempt)
        .where(CallAttempt.id == pick.scalar_subquery(), expired)  # the guard again: PostgreSQL re-checks it
        .values(claimed_by=worker, lease_expires_at=lease_until, claims=CallAttempt.claims + 1)
        .returning(CallAttempt.id, CallAttempt.lead_id, CallAttempt.attempt_no)
    ).one_or_none()
    if row is None:
        return None
    return Claim(row.id, row.lead_id, campaign_id, row.attempt_no, worker, lease_until, reclaimed=True)


def _claim_due_lead(
    session: Session, campaign_id: int, worker: str, max_attempts: int, lease_until: datetime, now: datetime
) -> Claim | None:
    due = and_(
        Lead.campaign_id == campaign_id,
        Lead.status == LeadStatus.QUEUED,
        Lead.next_attempt_at <= now,
        Lead.attempts < max_attempts,
        ~exists().where(DoNotCall.phone_e164 == Lead.phone_e164),
    )
    pick = select(Lead.id).where(due).order_by(Lead.next_attempt_at, Lead.id).limit(1)
    if dialect_name(session) == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    lead = session.execute(
        update(Lead)
        .where(Lead.id == pick.scalar_subquery(), Lead.status == LeadStatus.QUEUED)
        .values(status=LeadStatus.CALLING, attempts=Lead.attempts + 1, next_attempt_at=None, updated_at=now)
        .returning(Lead.id, Lead.attempts)
    ).one_or_none()
    if lead is None:
        return None
    attempt_id = session.execute(
        insert(CallAttempt)
        .values(
            lead_id=lead.id,
            campaign_id=campaign_id,
            attempt_no=lead.attempts,
            claimed_by=worker,
            lease_expires_at=lease_until,
            claims=1,
            state=AttemptState.CLAIMED,
            created_at=now,
        )
        .returning(CallAttempt.id)
    ).scalar_one()
    return Claim(attempt_id, lead.id, campaign_id, lead.attempts, worker, lease_until, reclaimed=False)


def _held(attempt_id: int, worker: str, now: datetime) -> list[ColumnElement[bool]]:
    return [
        CallAttempt.id == attempt_id,
        CallAttempt.claimed_by == worker,
        CallAttempt.state.in_(_OPEN_STATES),
        CallAttempt.lease_expires_at > now,
    ]


def renew_lease(
    session: Session, attempt_id: int, worker: str, *, lease_s: float, now: datetime | None = None
) -> datetime | None:
    """Extend `worker`'s lease; returns the new expiry, or None when the lease is lost (expired or taken)."""
    now = now or utcnow()
    until = now + timedelta(seconds=lease_s)
    done = session.execute(
        update(CallAttempt)
        .where(*_held(attempt_id, worker, now))
        .values(lease_expires_at=until)
        .returning(CallAttempt.id)
    ).one_or_none()
    return until if done is not None else None


def mark_dialing(session: Session, attempt_id: int, worker: str, *, now: datetime | None = None) -> bool:
    """Record that the INVITE is about to go out; False (do not dial) when the lease is no longer held.

    Commit before dialing: from then on a crash ends the attempt instead of handing it to another dialer.
    """
    now = now or utcnow()
    done = session.execute(
        update(CallAttempt)
        .where(*_held(attempt_id, worker, now), CallAttempt.state == AttemptState.CLAIMED)
        .values(state=AttemptState.DIALING, started_at=now)
        .returning(CallAttempt.id)
    ).one_or_none()
    return done is not None


def finish_attempt(
    session: Session,
    attempt_id: int,
    worker: str,
    *,
    disposition: str,
    sip_status: int | None = None,
    answered_at: datetime | None = None,
    retry_at: datetime | None = None,
    lead_status: LeadStatus | None = None,
    now: datetime | None = None,
) -> bool:
    """End `worker`'s attempt with its disposition and reschedule its lead.

    The lead goes back to the queue at `retry_at` (if given and attempts remain), else it is `done`; `lead_status`
    (e.g. `do_not_call`) overrides both. False when the attempt is no longer this worker's (taken over, or already
    ended by `expire_leases`); then nothing changes.
    """
    now = now or utcnow()
    row = session.execute(
        update(CallAttempt)
        .where(CallAttempt.id == attempt_id, CallAttempt.claimed_by == worker, CallAttempt.state.in_(_OPEN_STATES))
        .values(
            state=AttemptState.ENDED,
            disposition=disposition,
            sip_status=sip_status,
            answered_at=answered_at,
            ended_at=now,
            lease_expires_at=None,
        )
        .returning(CallAttempt.lead_id)
    ).one_or_none()
    if row is None:
        return False
    if lead_status is not None:
        values: dict[str, Any] = {
            "status": lead_status,
            "next_attempt_at": retry_at if lead_status == LeadStatus.QUEUED else None,
        }
        session.execute(update(Lead).where(Lead.id == row.lead_id).values(updated_at=now, **values))
    else:
        _requeue_leads(session, [row.lead_id], retry_at, now)
    return True


def release_attempt(
    session: Session, attempt_id: int, worker: str, *, retry_at: datetime, now: datetime | None = None
) -> bool:
    """Give back an attempt that was never dialed (e.g. the lead's calling window closed): it leaves no trace and
    the lead is due again at `retry_at` with its attempt count restored. False if not held or already dialing."""
    now = now or utcnow()
    row = session.execute(
        delete(CallAttempt)
        .where(
            CallAttempt.id == attempt_id, CallAttempt.claimed_by == worker, CallAttempt.state == AttemptState.CLAIMED
        )
        .returning(CallAttempt.lead_id)
    ).one_or_none()
    if row is None:
        return False
    session.execute(
        update(Lead)
        .where(Lead.id == row.lead_id)
        .values(status=LeadStatus.QUEUED, attempts=Lead.attempts - 1, next_attempt_at=retry_at, updated_at=now)
    )
    return True


def expire_leases(
    session: Session, *, now: datetime | None = None, retry_after_s: float = 0.0, campaign_id: int | None = None
) -> list[ExpiredAttempt]:
    """End every `dialing` attempt whose lease expired (its dialer died mid-call) as `lease_expired`.

    Their leads return to the queue `retry_after_s` from now, or become `done` if they have no attempts left.
    Expired claims that were never dialed are left for `claim_next_attempt` to take over.
    """
    now = now or utcnow()
    cond = [CallAttempt.state == AttemptState.DIALING, CallAttempt.lease_expires_at < now]
    if campaign_id is not None:
        cond.append(CallAttempt.campaign_id == campaign_id)
    rows = session.execute(
        update(CallAttempt)
        .where(*cond)
        .values(state=AttemptState.ENDED, disposition=LEASE_EXPIRED, ended_at=now, lease_expires_at=None)
        .returning(CallAttempt.id, CallAttempt.lead_id, CallAttempt.campaign_id, CallAttempt.attempt_no)
    ).all()
    expired = [ExpiredAttempt(r.id, r.lead_id, r.campaign_id, r.attempt_no) for r in rows]
    if expired:
        _requeue_leads(session, [e.lead_id for e in expired], now + timedelta(seconds=retry_after_s), now)
    return expired


def _requeue_leads(session: Session, lead_ids: list[int], retry_at: datetime | None, now: datetime) -> None:
    """Leads whose attempt ended: queued at `retry_at` while attempts remain, else done; do_not_call if listed."""
    listed = exists().where(DoNotCall.phone_e164 == Lead.phone_e164)
    max_attempts = select(Campaign.max_attempts).where(Campaign.id == Lead.campaign_id).scalar_subquery()
    final = or_(listed, Lead.attempts >= max_attempts) if retry_at is not None else true()
    status = case(
        (listed, literal(LeadStatus.DO_NOT_CALL.value)),
        (final, literal(LeadStatus.DONE.value)),
        else_=literal(LeadStatus.QUEUED.value),
    )
    next_at = case((final, literal(None, UTCDateTime())), else_=literal(retry_at, UTCDateTime()))
    session.execute(
        update(Lead)
        .where(Lead.id.in_(lead_ids), Lead.status == LeadStatus.CALLING)
        .values(status=status, next_attempt_at=next_at, updated_at=now)
    )


def open_attempt_count(session: Session, campaign_id: int) -> int:
    """Attempts of a campaign now claimed or dialing (for the max-concurrent-calls cap)."""
    stmt = select(func.count()).where(CallAttempt.campaign_id == campaign_id, CallAttempt.state.in_(_OPEN_STATES))
    return session.scalar(stmt) or 0
