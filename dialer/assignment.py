"""Qualified leads to sales reps: automatic assignment, protection periods, the public pool (公海) and follow-ups.

Functions over a `Session` (the caller owns the transaction: `with db.transaction() as s: ...`); every time comes
from the caller (`now`), so protection and cooldown expire in virtual time in tests.

Rules (docs/assignment.md has the whole picture):

- Only grade A and B leads are assigned or claimed (`QUALIFIED_GRADES`).
- A lead has at most one open assignment (`LeadAssignment.released_at IS NULL`, a partial unique index). Every
  write that opens one is a conditional `UPDATE leads … WHERE assigned_rep_id IS NULL` followed by the INSERT,
  both in a SAVEPOINT: of two racing writers one updates the row, the other (on PostgreSQL, after waiting for the
  row lock and re-checking the condition) updates nothing; should the index still refuse the INSERT, the
  SAVEPOINT is rolled back and the call reports "not assigned". On SQLite `BEGIN IMMEDIATE` serialises writers.
- `LeadAssignment.protection_until` is the original end of protection (`assigned_at + protection_s`), never
  changed; `Lead.protection_until` is the effective end, renewed by follow-ups: a follow-up DONE by the assigned
  rep at `t` renews protection to `t + (original protection period)` (never shortens it).
- `release_expired` returns leads whose effective protection ended to the public pool, with a cooldown during
  which the previous rep may not take the same lead back (neither by claim nor by automatic assignment).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import ColumnElement, and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import FollowUp, Lead, LeadAssignment, SalesRep
from storage.models.base import utcnow

__all__ = [
    "FOLLOW_UP_KINDS",
    "PROTECTION_EXPIRED",
    "QUALIFIED_GRADES",
    "RepCandidate",
    "Strategy",
    "assign_qualified",
    "claim_from_pool",
    "pick_by_rating",
    "pick_round_robin",
    "public_pool",
    "rating_score",
    "record_follow_up",
    "release_expired",
    "renewed_protection_until",
    "rep_leads",
]

Strategy = Literal["round_robin", "rating"]
QUALIFIED_GRADES = ("A", "B")
FOLLOW_UP_KINDS = frozenset({"call", "email", "meeting", "note"})
PROTECTION_EXPIRED = "protection_expired"  # LeadAssignment.release_reason set by release_expired
MAX_POOL_PAGE = 500


@dataclass(frozen=True, slots=True)
class RepCandidate:
    """An active sales rep as the assignment strategies see it.

    `open_leads`: assignments not yet released; `last_assigned_at` / `last_assignment_id`: the rep's most recent
    assignment of any kind (automatic or claimed from the pool), None if never assigned.
    """

    rep_id: int
    industries: tuple[str, ...]
    sales_rating: float
    open_leads: int
    last_assigned_at: datetime | None
    last_assignment_id: int | None


# --- pure decisions -------------------------------------------------------------------------------------------


def pick_round_robin(candidates: Iterable[RepCandidate]) -> int | None:
    """The rep whose most recent assignment is oldest; never-assigned reps first; ties by assignment id, rep id.

    No rotation state is stored: the assignments themselves are the rotation, so a restart or a second dialer
    continues it. Two leads assigned at the same instant by two processes may go to the same rep (fairness is
    restored by the next assignments); one lead never gets two reps.
    """

    def key(c: RepCandidate) -> tuple[bool, datetime | None, int, int]:
        return (c.last_assigned_at is not None, c.last_assigned_at, c.last_assignment_id or 0, c.rep_id)

    ranked = sorted(candidates, key=key)
    return ranked[0].rep_id if ranked else None


def rating_score(sales_rating: float, open_leads: int) -> float:
    """`sales_rating / (1 + open_leads)`: a better rep gets more leads, but each open lead halves, thirds, … the
    pull, so a top rep with 3 open leads (rating 8 → 2.0) yields to a rep rated 5 with 1 open lead (2.5)."""
    return sales_rating / (1 + max(open_leads, 0))


def pick_by_rating(candidates: Iterable[RepCandidate], industry: str | None) -> int | None:
    """The best `rating_score` among the reps who cover `industry` (case-insensitive); all reps when none does.

    Ties: higher rating, then fewer open leads, then the round-robin order (oldest most-recent assignment).
    """
    pool = list(candidates)
    wanted = _norm(industry)
    if wanted:
        covering = [c for c in pool if wanted in {_norm(i) for i in c.industries}]
        pool = covering or pool
    if not pool:
        return None
    best = max(rating_score(c.sales_rating, c.open_leads) for c in pool)
    top = [c for c in pool if rating_score(c.sales_rating, c.open_leads) == best]
    top_rating = max(c.sales_rating for c in top)
    top = [c for c in top if c.sales_rating == top_rating]
    fewest = min(c.open_leads for c in top)
    return pick_round_robin(c for c in top if c.open_leads == fewest)


def renewed_protection_until(
    assigned_at: datetime, original_until: datetime, last_done_at: datetime | None
) -> datetime | None:
    """The protection end a follow-up done at `last_done_at` earns: `last_done_at + (original_until - assigned_at)`.

    None when there is no follow-up since the assignment (one done before `assigned_at` belonged to an earlier
    assignment and earns nothing).
    """
    if last_done_at is None or last_done_at < assigned_at:
        return None
    return last_done_at + (original_until - assigned_at)


def _norm(text: str | None) -> str:
    return (text or "").strip().casefold()


def _is_qualified(grade: str | None) -> bool:
    return grade in QUALIFIED_GRADES


def _in_cooldown(cooldown_rep_id: int | None, cooldown_until: datetime | None, rep_id: int, now: datetime) -> bool:
    return cooldown_rep_id == rep_id and cooldown_until is not None and cooldown_until > now


def _seconds(value: float, name: str) -> timedelta:
    if not value > 0:
        raise ValueError(f"expected {name} > 0, got {value}")
    return timedelta(seconds=value)


# --- SQL building blocks --------------------------------------------------------------------------------------


def _has_open_assignment() -> ColumnElement[bool]:
    return exists().where(LeadAssignment.lead_id == Lead.id, LeadAssignment.released_at.is_(None))


def _not_in_cooldown_for(rep_id: int, now: datetime) -> ColumnElement[bool]:
    return or_(
        Lead.pool_cooldown_rep_id.is_(None),
        Lead.pool_cooldown_rep_id != rep_id,
        Lead.pool_cooldown_until.is_(None),
        Lead.pool_cooldown_until <= now,
    )


def _in_pool() -> list[ColumnElement[bool]]:
    """Qualified, held by nobody: never assigned, released, or its reps all inactive when it qualified."""
    return [Lead.grade.in_(QUALIFIED_GRADES), Lead.assigned_rep_id.is_(None), ~_has_open_assignment()]


def _rep_candidates(session: Session) -> list[RepCandidate]:
    mine = LeadAssignment.rep_id == SalesRep.id
    open_leads = select(func.count()).where(mine, LeadAssignment.released_at.is_(None)).scalar_subquery()
    last_at = select(func.max(LeadAssignment.assigned_at)).where(mine).scalar_subquery()
    last_id = select(func.max(LeadAssignment.id)).where(mine).scalar_subquery()
    rows = session.execute(
        select(SalesRep.id, SalesRep.industries, SalesRep.sales_rating, open_leads, last_at, last_id)
        .where(SalesRep.active.is_(True))
        .order_by(SalesRep.id)
    ).all()
    return [RepCandidate(r[0], tuple(str(i) for i in (r[1] or ())), float(r[2]), int(r[3]), r[4], r[5]) for r in rows]


def _open_assignment(session: Session, lead_id: int, rep_id: int, *, until: datetime, now: datetime) -> bool:
    """Give the lead to `rep_id` if it is still in the pool and the rep is not in cooldown for it; False when it is
    not (another writer may have won)."""
    try:
        with session.begin_nested():
            taken = session.execute(
                update(Lead)
                .where(Lead.id == lead_id, *_in_pool(), _not_in_cooldown_for(rep_id, now))
                .values(assigned_rep_id=rep_id, protection_until=until, updated_at=now)
                .returning(Lead.id)
            ).one_or_none()
            if taken is None:
                return False
            session.execute(
                insert(LeadAssignment).values(rep_id=rep_id, lead_id=lead_id, assigned_at=now, protection_until=until)
            )
    except IntegrityError:  # the partial unique index: another transaction opened an assignment first
        return False
    return True


# --- the operations -------------------------------------------------------------------------------------------


def assign_qualified(
    session: Session, lead_id: int, *, strategy: Strategy, protection_s: float, now: datetime
) -> int | None:
    """Assign a grade A/B lead to an active rep; returns the rep's id, or None when nothing was assigned.

    None: the lead is unknown, not graded A or B, already assigned (an open assignment, possibly by a racing
    call), or no active rep is eligible. The rep in pool cooldown for this lead is skipped. `round_robin`: see
    `pick_round_robin`; `rating`: see `pick_by_rating`. Protection lasts `protection_s` from `now`.
    """
    if strategy not in get_args(Strategy):
        raise ValueError(f"expected a strategy in {get_args(Strategy)}, got {strategy!r}")
    until = now + _seconds(protection_s, "protection_s")
    lead = session.execute(
        select(
            Lead.grade, Lead.industry, Lead.assigned_rep_id, Lead.pool_cooldown_rep_id, Lead.pool_cooldown_until
        ).where(Lead.id == lead_id)
    ).one_or_none()
    if lead is None or not _is_qualified(lead.grade) or lead.assigned_rep_id is not None:
        return None
    candidates = [
        c
        for c in _rep_candidates(session)
        if not _in_cooldown(lead.pool_cooldown_rep_id, lead.pool_cooldown_until, c.rep_id, now)
    ]
    rep_id = pick_round_robin(candidates) if strategy == "round_robin" else pick_by_rating(candidates, lead.industry)
    if rep_id is None:
        return None
    return rep_id if _open_assignment(session, lead_id, rep_id, until=until, now=now) else None


def claim_from_pool(session: Session, lead_id: int, rep_id: int, *, protection_s: float, now: datetime) -> bool:
    """A rep takes a lead from the public pool; True when the lead is now theirs.

    False (nothing changes) when the rep is unknown or inactive, the lead is unknown, not graded A/B, already
    assigned (including to a rep who claimed it a moment earlier: of racing claimers exactly one wins), or the
    rep is in cooldown for it (`pool_cooldown_until` not reached). The console tells these apart with
    `public_pool` (is it listed for this rep?) when it needs to explain a refusal.
    """
    until = now + _seconds(protection_s, "protection_s")
    if not session.scalar(select(SalesRep.active).where(SalesRep.id == rep_id)):
        return False
    return _open_assignment(session, lead_id, rep_id, until=until, now=now)


def release_expired(session: Session, *, now: datetime, cooldown_s: float) -> int:
    """Return to the public pool every assigned lead whose protection ended; returns how many were released.

    A follow-up done by the assigned rep since the assignment renews protection (`renewed_protection_until`);
    if that renewed end is still ahead, the lead stays and `Lead.protection_until` moves to it. Otherwise the
    assignment is released (`released_at=now`, `release_reason="protection_expired"`), the lead loses its rep,
    and that rep may not claim it again before `now + cooldown_s`. Safe against a racing sweeper or follow-up:
    each release is an UPDATE guarded by "still this rep's, protection still ended".
    """
    cooldown_until = now + _seconds(cooldown_s, "cooldown_s")
    a = LeadAssignment
    last_done = (
        select(func.max(FollowUp.done_at))
        .where(FollowUp.lead_id == a.lead_id, FollowUp.rep_id == a.rep_id, FollowUp.done_at >= a.assigned_at)
        .where(FollowUp.done_at <= now)
        .scalar_subquery()
    )
    rows = session.execute(
        select(a.id, a.lead_id, a.rep_id, a.assigned_at, a.protection_until, last_done)
        .join(Lead, Lead.id == a.lead_id)
        .where(a.released_at.is_(None), a.protection_until <= now, _protection_ended(now))
        .order_by(a.id)
    ).all()
    released = 0
    for assignment_id, lead_id, rep_id, assigned_at, original_until, last_done_at in rows:
        renewed = renewed_protection_until(assigned_at, original_until, last_done_at)
        if renewed is not None and renewed > now:
            _extend_protection(session, lead_id, rep_id, renewed, now)
        elif _release(session, assignment_id, lead_id, rep_id, now=now, cooldown_until=cooldown_until):
            released += 1
    return released


def _protection_ended(now: datetime) -> ColumnElement[bool]:
    return or_(Lead.protection_until.is_(None), Lead.protection_until <= now)


def _extend_protection(session: Session, lead_id: int, rep_id: int, until: datetime, now: datetime) -> None:
    session.execute(
        update(Lead)
        .where(
            Lead.id == lead_id,
            Lead.assigned_rep_id == rep_id,
            or_(Lead.protection_until.is_(None), Lead.protection_until < until),
        )
        .values(protection_until=until, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _release(
    session: Session, assignment_id: int, lead_id: int, rep_id: int, *, now: datetime, cooldown_until: datetime
) -> bool:
    # the lead first: its guard is re-checked after a racing follow-up's (or sweeper's) row lock is released
    lead = session.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.assigned_rep_id == rep_id, _protection_ended(now))
        .values(
            assigned_rep_id=None,
            protection_until=None,
            pool_cooldown_rep_id=rep_id,
            pool_cooldown_until=cooldown_until,
            updated_at=now,
        )
        .returning(Lead.id)
    ).one_or_none()
    if lead is None:
        return False
    done = session.execute(
        update(LeadAssignment)
        .where(LeadAssignment.id == assignment_id, LeadAssignment.released_at.is_(None))
        .values(released_at=now, release_reason=PROTECTION_EXPIRED)
        .returning(LeadAssignment.id)
    ).one_or_none()
    return done is not None


def record_follow_up(
    session: Session,
    lead_id: int,
    rep_id: int | None,
    kind: str,
    note: str | None,
    *,
    due_at: datetime | None = None,
    done_at: datetime | None = None,
    now: datetime,
) -> FollowUp:
    """Record a follow-up (`kind`: call, email, meeting or note); planned (`due_at`) and/or done (`done_at`).

    A follow-up done by the lead's assigned rep renews the lead's protection at once (see
    `renewed_protection_until`). `done_at` may not lie in the future. Returns the flushed row (its `id` is set).
    """
    if kind not in FOLLOW_UP_KINDS:
        raise ValueError(f"expected a follow-up kind in {sorted(FOLLOW_UP_KINDS)}, got {kind!r}")
    if done_at is not None and done_at > now:
        raise ValueError("expected done_at at or before now, got a time in the future")
    follow_up = FollowUp(
        lead_id=lead_id, rep_id=rep_id, kind=kind, note=note, due_at=due_at, done_at=done_at, created_at=now
    )
    session.add(follow_up)
    session.flush()
    if done_at is not None and rep_id is not None:
        _renew_for(session, lead_id, rep_id, done_at, now)
    return follow_up


def _renew_for(session: Session, lead_id: int, rep_id: int, done_at: datetime, now: datetime) -> None:
    current = session.execute(
        select(LeadAssignment.assigned_at, LeadAssignment.protection_until).where(
            LeadAssignment.lead_id == lead_id, LeadAssignment.rep_id == rep_id, LeadAssignment.released_at.is_(None)
        )
    ).one_or_none()
    if current is None:
        return
    renewed = renewed_protection_until(current.assigned_at, current.protection_until, done_at)
    if renewed is not None:
        _extend_protection(session, lead_id, rep_id, renewed, now)


def public_pool(
    session: Session,
    *,
    rep_id: int | None = None,
    industry: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> list[Lead]:
    """Leads in the public pool: graded A/B with no rep (released, or never assigned), best first.

    With `rep_id`, leads that rep is in cooldown for (at `now`, default: the current time) are left out.
    `industry` filters case-insensitively. Order: grade A before B, higher intent score first, then id.
    `limit` is 1 … 500 (a page); `offset` pages on.
    """
    if not 1 <= limit <= MAX_POOL_PAGE or offset < 0:
        raise ValueError(f"expected 1 <= limit <= {MAX_POOL_PAGE} and offset >= 0, got {limit}, {offset}")
    cond = _in_pool()
    if rep_id is not None:
        cond.append(_not_in_cooldown_for(rep_id, now or utcnow()))
    if industry is not None:
        cond.append(func.lower(Lead.industry) == _norm(industry))
    stmt = (
        select(Lead)
        .where(and_(*cond))
        .order_by(Lead.grade, Lead.intent_score.is_(None), Lead.intent_score.desc(), Lead.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(stmt))


def rep_leads(session: Session, rep_id: int) -> list[Lead]:
    """A rep's "my leads": the leads `rep_id` holds now (open assignments), earliest protection end first."""
    stmt = (
        select(Lead)
        .join(LeadAssignment, LeadAssignment.lead_id == Lead.id)
        .where(LeadAssignment.rep_id == rep_id, LeadAssignment.released_at.is_(None))
        .order_by(Lead.protection_until, Lead.id)
    )
    return list(session.scalars(stmt))
