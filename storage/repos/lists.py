"""The do-not-call list and the existing-customer list: bulk add, membership checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import AttemptState, CallAttempt, DoNotCall, ExistingCustomer, Lead, LeadStatus
from storage.models.base import utcnow
from storage.repos._sql import chunks, insert_for

__all__ = [
    "DO_NOT_CALL",
    "add_do_not_call",
    "add_existing_customers",
    "do_not_call_among",
    "existing_customers_among",
    "is_do_not_call",
]

DO_NOT_CALL = "do_not_call"  # disposition of an attempt cancelled because its number was listed
_CHUNK = 500  # rows per statement: well under SQLite's 32,766 bound parameters


def add_do_not_call(session: Session, phones: Iterable[str], *, source: str, now: datetime | None = None) -> int:
    """Add E.164 numbers to the do-not-call list (already listed ones keep their first source and date).

    Takes effect at once: their leads waiting in a queue become `do_not_call`, and attempts claimed but not yet
    dialed end as `do_not_call` (the holder's `mark_dialing` then refuses). Calls already dialing are the caller's
    to end. Returns how many numbers were new.
    """
    now = now or utcnow()
    unique = sorted({_checked(p) for p in phones})
    added = 0
    for part in chunks(unique, _CHUNK):
        rows = [{"phone_e164": p, "source": source, "added_at": now} for p in part]
        stmt = insert_for(session, DoNotCall).values(rows).on_conflict_do_nothing()
        added += len(session.execute(stmt.returning(DoNotCall.phone_e164)).all())
        _stop_calling(session, part, now)
    return added


def _stop_calling(session: Session, phones: list[str], now: datetime) -> None:
    leads = select(Lead.id).where(Lead.phone_e164.in_(phones))
    cancelled = session.scalars(
        update(CallAttempt)
        .where(CallAttempt.state == AttemptState.CLAIMED, CallAttempt.lead_id.in_(leads))
        .values(state=AttemptState.ENDED, disposition=DO_NOT_CALL, ended_at=now, lease_expires_at=None)
        .returning(CallAttempt.lead_id)
    ).all()
    session.execute(
        update(Lead)
        .where(or_(and_(Lead.phone_e164.in_(phones), Lead.status == LeadStatus.QUEUED), Lead.id.in_(cancelled)))
        .values(status=LeadStatus.DO_NOT_CALL, next_attempt_at=None, updated_at=now)
    )


def is_do_not_call(session: Session, phone_e164: str) -> bool:
    return session.get(DoNotCall, phone_e164) is not None


def do_not_call_among(session: Session, phones: Iterable[str]) -> set[str]:
    """The numbers of `phones` that are on the do-not-call list (for cleaning an import batch)."""
    return _among(session, DoNotCall.phone_e164, phones)


def add_existing_customers(
    session: Session, phones: Iterable[str], *, source: str | None = None, now: datetime | None = None
) -> int:
    """Add E.164 numbers to the existing-customer list; returns how many were new."""
    now = now or utcnow()
    added = 0
    for part in chunks(sorted({_checked(p) for p in phones}), _CHUNK):
        rows = [{"phone_e164": p, "source": source, "added_at": now} for p in part]
        stmt = insert_for(session, ExistingCustomer).values(rows).on_conflict_do_nothing()
        added += len(session.execute(stmt.returning(ExistingCustomer.phone_e164)).all())
    return added


def existing_customers_among(session: Session, phones: Iterable[str]) -> set[str]:
    return _among(session, ExistingCustomer.phone_e164, phones)


def _among(session: Session, column: InstrumentedAttribute[str], phones: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(set(phones)), _CHUNK):
        found.update(session.scalars(select(column).where(column.in_(part))))
    return found


def _checked(phone: str) -> str:
    # storage takes E.164 only; normalising raw input (phonenumbers, default region) is the importer's job
    if not (phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16):
        raise ValueError("expected an E.164 number (+ and 7 to 15 digits)")
    return phone
