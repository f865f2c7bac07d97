"""Sales-rep assignment tests (dialer/assignment.py), written once and run on both databases.

Subclasses provide a `db` fixture (a migrated, empty `Database`): tests/unit/test_assignment_sqlite.py on SQLite,
tests/db/test_assignment_pg.py on PostgreSQL. Time is virtual: every call gets `now`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from dialer.assignment import (
    PROTECTION_EXPIRED,
    assign_qualified,
    claim_from_pool,
    public_pool,
    record_follow_up,
    release_expired,
    rep_leads,
)
from storage import Database
from storage.models import Campaign, CampaignStatus, FollowUp, Lead, LeadAssignment, SalesRep, User

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
PROTECT_S = 3600.0
COOLDOWN_S = 7 * 86400.0
R = TypeVar("R")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_reps(db: Database, *specs: tuple[float, list[str]], active: bool = True) -> list[int]:
    """One rep per (sales_rating, industries); returns their ids in order."""
    ids = []
    with db.transaction() as s:
        base = s.scalar(select(func.count()).select_from(User)) or 0
        for n, (rating, industries) in enumerate(specs):
            user = User(username=f"rep{base + n}", password_hash="h")
            s.add(user)
            s.flush()
            rep = SalesRep(user_id=user.id, sales_rating=rating, industries=industries, active=active)
            s.add(rep)
            s.flush()
            ids.append(rep.id)
    return ids


def make_leads(
    db: Database, grades: list[str | None], *, industry: str | None = None, scores: bool = False
) -> list[int]:
    """Leads in one campaign with the given grades (and intent score 0.1 * position when `scores`)."""
    with db.transaction() as s:
        campaign = s.scalar(select(Campaign).limit(1))
        if campaign is None:
            campaign = Campaign(name="spring", script_id="s", language="en", status=CampaignStatus.RUNNING)
            s.add(campaign)
            s.flush()
        base = s.scalar(select(func.count()).select_from(Lead)) or 0
        leads = [
            Lead(
                campaign_id=campaign.id,
                phone_e164=f"+4930{base + i:08d}",
                grade=g,
                industry=industry,
                intent_score=0.1 * i if scores else None,
            )
            for i, g in enumerate(grades)
        ]
        s.add_all(leads)
        s.flush()
        return [lead.id for lead in leads]


def lead_row(db: Database, lead_id: int) -> Lead:
    with db.read() as s:
        return s.get_one(Lead, lead_id)


def assign(db: Database, lead_id: int, now: datetime, strategy: str = "round_robin") -> int | None:
    with db.transaction() as s:
        return assign_qualified(s, lead_id, strategy=strategy, protection_s=PROTECT_S, now=now)  # type: ignore[arg-type]


def claim(db: Database, lead_id: int, rep_id: int, now: datetime) -> bool:
    with db.transaction() as s:
        return claim_from_pool(s, lead_id, rep_id, protection_s=PROTECT_S, now=now)


def sweep(db: Database, now: datetime) -> int:
    with db.transaction() as s:
        return release_expired(s, now=now, cooldown_s=COOLDOWN_S)


def pool_ids(db: Database, now: datetime, **kw: object) -> list[int]:
    with db.read() as s:
        return [lead.id for lead in public_pool(s, now=now, **kw)]  # type: ignore[arg-type]


class AssignmentContract:
    """Strategies, protection, the pool and follow-ups on one database (the subclass's `db` fixture)."""

    def test_only_a_and_b_leads_are_assigned(self, db: Database) -> None:
        make_reps(db, (1.0, []))
        leads = make_leads(db, ["A", "B", "C", "D", None])
        assert [assign(db, lead, T0) is not None for lead in leads] == [True, True, False, False, False]
        assert assign(db, 9999, T0) is None
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(LeadAssignment)) == 2
        lead = lead_row(db, leads[0])
        assert lead.assigned_rep_id is not None and lead.protection_until == at(PROTECT_S)

    def test_an_assigned_lead_is_not_assigned_again(self, db: Database) -> None:
        make_reps(db, (1.0, []), (1.0, []))
        (lead,) = make_leads(db, ["A"])
        first = assign(db, lead, T0)
        assert first is not None
        assert assign(db, lead, at(1)) is None
        assert assign(db, lead, at(1), "rating") is None
        with db.read() as s:
            rows = s.execute(select(LeadAssignment.rep_id, LeadAssignment.assigned_at)).all()
        assert [tuple(r) for r in rows] == [(first, T0)]

    def test_no_active_rep_leaves_the_lead_in_the_pool(self, db: Database) -> None:
        make_reps(db, (5.0, []), active=False)
        (lead,) = make_leads(db, ["A"])
        assert assign(db, lead, T0) is None and assign(db, lead, T0, "rating") is None
        assert pool_ids(db, T0) == [lead]

    def test_round_robin_rotates_fairly(self, db: Database) -> None:
        reps = make_reps(db, (1.0, []), (9.0, []), (3.0, []))
        make_reps(db, (10.0, []), active=False)
        leads = make_leads(db, ["A", "B"] * 6)
        got = [assign(db, lead, at(i)) for i, lead in enumerate(leads)]
        assert got == reps * 4  # the rating plays no part; the inactive rep gets nothing
        late = make_reps(db, (1.0, []))[0]  # a new rep is first in line, then the rotation goes on
        more = make_leads(db, ["A"] * 4)
        assert [assign(db, lead, at(100 + i)) for i, lead in enumerate(more)] == [late, *reps]

    def test_round_robin_with_one_clock_reading_still_rotates(self, db: Database) -> None:
        reps = make_reps(db, (1.0, []), (1.0, []))
        leads = make_leads(db, ["A"] * 5)
        assert [assign(db, lead, T0) for lead in leads] == [reps[0], reps[1], reps[0], reps[1], reps[0]]

    def test_rating_prefers_the_industry_and_balances_by_load(self, db: Database) -> None:
        generalist, star, solid = make_reps(db, (9.0, ["retail"]), (8.0, ["Insurance", "cars"]), (5.0, ["insurance"]))
        leads = make_leads(db, ["A"] * 5, industry="insurance")
        got = [assign(db, lead, at(i), "rating") for i, lead in enumerate(leads)]
        # rating / (1 + open leads): star 8, 4, 4, 2.67, 2 against solid 5, 5, 2.5, 2.5, 2.5
        assert got == [star, solid, star, star, solid]
        assert generalist not in got
        (other,) = make_leads(db, ["B"], industry="shipping")  # nobody covers it: every active rep competes
        assert assign(db, other, at(10), "rating") == generalist
        (unknown,) = make_leads(db, ["B"])
        assert assign(db, unknown, at(11), "rating") == generalist  # 9 / 2 = 4.5 beats star's 8 / 4

    def test_unknown_strategy_and_bad_protection_are_refused(self, db: Database) -> None:
        (lead,) = make_leads(db, ["A"])
        with pytest.raises(ValueError), db.transaction() as s:
            assign_qualified(s, lead, strategy="random", protection_s=PROTECT_S, now=T0)  # type: ignore[arg-type]
        with pytest.raises(ValueError), db.transaction() as s:
            assign_qualified(s, lead, strategy="rating", protection_s=0, now=T0)

    def test_expired_protection_returns_the_lead_to_the_pool_with_a_cooldown(self, db: Database) -> None:
        (rep,) = make_reps(db, (1.0, []))
        (lead,) = make_leads(db, ["A"])
        assert assign(db, lead, T0) == rep
        assert pool_ids(db, T0) == []
        assert sweep(db, at(PROTECT_S - 1)) == 0
        assert sweep(db, at(PROTECT_S)) == 1
        assert sweep(db, at(PROTECT_S + 1)) == 0
        row = lead_row(db, lead)
        assert (row.assigned_rep_id, row.protection_until) == (None, None)
        assert (row.pool_cooldown_rep_id, row.pool_cooldown_until) == (rep, at(PROTECT_S + COOLDOWN_S))
        with db.read() as s:
            a = s.scalars(select(LeadAssignment)).one()
            assert (a.released_at, a.release_reason, a.protection_until) == (
                at(PROTECT_S),
                PROTECTION_EXPIRED,
                at(PROTECT_S),
            )
            assert rep_leads(s, rep) == []
        assert pool_ids(db, at(PROTECT_S)) == [lead]

    def test_a_done_follow_up_renews_protection(self, db: Database) -> None:
        (rep,) = make_reps(db, (1.0, []))
        (lead,) = make_leads(db, ["B"])
        assert assign(db, lead, T0) == rep
        with db.transaction() as s:
            record_follow_up(s, lead, rep, "call", "left a voicemail", done_at=at(1000), now=at(1000))
        assert lead_row(db, lead).protection_until == at(1000 + PROTECT_S)
        assert sweep(db, at(PROTECT_S)) == 0
        with db.read() as s:
            assert [x.id for x in rep_leads(s, rep)] == [lead]
        assert sweep(db, at(1000 + PROTECT_S)) == 1
        assert lead_row(db, lead).pool_cooldown_rep_id == rep

    def test_planned_or_foreign_follow_ups_do_not_keep_the_lead(self, db: Database) -> None:
        rep, other = make_reps(db, (1.0, []), (1.0, []))
        (lead,) = make_leads(db, ["A"])
        assert assign(db, lead, T0) == rep
        with db.transaction() as s:
            record_follow_up(s, lead, rep, "meeting", None, due_at=at(9000), now=at(10))
            record_follow_up(s, lead, other, "note", "checked the file", done_at=at(20), now=at(20))
            record_follow_up(s, lead, None, "note", "system note", done_at=at(30), now=at(30))
        assert lead_row(db, lead).protection_until == at(PROTECT_S)
        assert sweep(db, at(PROTECT_S)) == 1

    def test_a_follow_up_written_directly_is_still_seen_by_the_sweeper(self, db: Database) -> None:
        (rep,) = make_reps(db, (1.0, []))
        early, late = make_leads(db, ["A", "A"])
        assert assign(db, early, T0) == rep and assign(db, late, T0) == rep
        with db.transaction() as s:  # e.g. a console that inserts rows itself: no eager renewal
            s.add(FollowUp(lead_id=early, rep_id=rep, kind="call", done_at=at(-5), created_at=at(-5)))
            s.add(FollowUp(lead_id=late, rep_id=rep, kind="call", done_at=at(600), created_at=at(600)))
        assert sweep(db, at(PROTECT_S)) == 1  # the follow-up before the assignment earns nothing
        assert lead_row(db, early).assigned_rep_id is None
        assert lead_row(db, late).protection_until == at(600 + PROTECT_S)
        assert sweep(db, at(600 + PROTECT_S)) == 1

    def test_cooldown_blocks_the_same_rep_but_not_others(self, db: Database) -> None:
        old, other = make_reps(db, (1.0, []), (1.0, []))
        (lead,) = make_leads(db, ["A"])
        assert assign(db, lead, T0) == old
        assert sweep(db, at(PROTECT_S)) == 1
        now = at(PROTECT_S + 10)
        assert pool_ids(db, now, rep_id=old) == []
        assert pool_ids(db, now, rep_id=other) == [lead]
        assert not claim(db, lead, old, now)
        assert claim(db, lead, other, now)
        assert lead_row(db, lead).assigned_rep_id == other
        with db.read() as s:
            assert [x.id for x in rep_leads(s, other)] == [lead]

    def test_the_cooldown_ends(self, db: Database) -> None:
        (old,) = make_reps(db, (1.0, []))
        (lead,) = make_leads(db, ["A"])
        assert assign(db, lead, T0) == old
        assert sweep(db, at(PROTECT_S)) == 1
        assert assign(db, lead, at(PROTECT_S + 1)) is None  # the only rep is cooling down
        end = at(PROTECT_S + COOLDOWN_S)
        assert pool_ids(db, end, rep_id=old) == [lead]
        assert claim(db, lead, old, end)
        row = lead_row(db, lead)
        assert (row.assigned_rep_id, row.protection_until) == (old, end + timedelta(seconds=PROTECT_S))

    def test_automatic_assignment_skips_the_rep_in_cooldown(self, db: Database) -> None:
        first, second = make_reps(db, (1.0, []), (1.0, []))
        (lead,) = make_leads(db, ["A"])
        assert assign(db, lead, T0) == first
        assert sweep(db, at(PROTECT_S)) == 1
        assert assign(db, lead, at(PROTECT_S + 1), "rating") == second

    def test_claims_that_must_fail(self, db: Database) -> None:
        rep, other = make_reps(db, (1.0, []), (1.0, []))
        (idle,) = make_reps(db, (1.0, []), active=False)
        held, graded_c, free = make_leads(db, ["A", "C", "B"])
        assert assign(db, held, T0) == rep
        assert not claim(db, held, other, T0)  # assigned
        assert not claim(db, graded_c, other, T0)  # not qualified: never in the pool
        assert not claim(db, 9999, other, T0)
        assert not claim(db, free, idle, T0)  # inactive rep
        assert not claim(db, free, 9999, T0)
        with pytest.raises(ValueError), db.transaction() as s:
            claim_from_pool(s, free, other, protection_s=-1, now=T0)
        assert claim(db, free, other, T0) and not claim(db, free, rep, T0)

    def test_public_pool_filters_orders_and_pages(self, db: Database) -> None:
        make_reps(db, (1.0, []))
        b_low, b_high = make_leads(db, ["B", "B"], industry="Insurance", scores=True)
        c_lead, a_lead = make_leads(db, ["C", "A"], industry="cars", scores=True)
        (unscored,) = make_leads(db, ["A"], industry="insurance")
        assert pool_ids(db, T0) == [a_lead, unscored, b_high, b_low]
        assert c_lead not in pool_ids(db, T0)
        assert pool_ids(db, T0, industry="INSURANCE") == [unscored, b_high, b_low]
        assert pool_ids(db, T0, limit=2, offset=1) == [unscored, b_high]
        assign(db, a_lead, T0)
        assert pool_ids(db, T0) == [unscored, b_high, b_low]
        with pytest.raises(ValueError), db.read() as s:
            public_pool(s, limit=0)
        with pytest.raises(ValueError), db.read() as s:
            public_pool(s, limit=10, offset=-1)

    def test_follow_up_validation(self, db: Database) -> None:
        (rep,) = make_reps(db, (1.0, []))
        (lead,) = make_leads(db, ["A"])
        with pytest.raises(ValueError), db.transaction() as s:
            record_follow_up(s, lead, rep, "fax", None, now=T0)
        with pytest.raises(ValueError), db.transaction() as s:
            record_follow_up(s, lead, rep, "call", None, done_at=at(1), now=T0)
        with db.transaction() as s:
            row = record_follow_up(s, lead, rep, "email", "sent the brochure", due_at=at(86400), now=T0)
            assert row.id is not None and row.created_at == T0 and row.done_at is None

    def test_rep_leads_lists_the_most_urgent_first(self, db: Database) -> None:
        (rep,) = make_reps(db, (1.0, []))
        first, second = make_leads(db, ["A", "A"])
        assert assign(db, first, T0) == rep and assign(db, second, at(10)) == rep
        with db.transaction() as s:
            record_follow_up(s, first, rep, "call", None, done_at=at(20), now=at(20))
        with db.read() as s:
            assert [x.id for x in rep_leads(s, rep)] == [second, first]
            assert rep_leads(s, 9999) == []


class AssignmentRaceContract:
    """Concurrent writers (threads, each with its own connection and transaction) on one database."""

    WORKERS = 4

    def _race(self, fn: Callable[[int], R]) -> list[R]:
        start = threading.Barrier(self.WORKERS)

        def run(n: int) -> R:
            start.wait()
            return fn(n)

        with ThreadPoolExecutor(self.WORKERS) as pool:
            return list(pool.map(run, range(self.WORKERS)))

    def test_racing_claims_have_exactly_one_winner_per_lead(self, db: Database) -> None:
        reps = make_reps(db, *[(1.0, [])] * self.WORKERS)
        leads = make_leads(db, ["A", "B"] * 10)
        each_lead = threading.Barrier(self.WORKERS)  # every worker claims the same lead at the same moment

        def claimer(n: int) -> list[bool]:
            results = []
            for lead in leads:
                each_lead.wait()
                results.append(claim(db, lead, reps[n], at(n)))
            return results

        won = self._race(claimer)
        assert [sum(results[i] for results in won) for i in range(len(leads))] == [1] * len(leads)
        with db.read() as s:
            rows = s.execute(select(LeadAssignment.lead_id, LeadAssignment.rep_id)).all()
            holders = {row.id: row.assigned_rep_id for row in s.execute(select(Lead.id, Lead.assigned_rep_id))}
        assert len(rows) == len(leads)
        assert all(holders[lead_id] == rep_id for lead_id, rep_id in rows)

    def test_racing_automatic_assignments_open_one_assignment(self, db: Database) -> None:
        make_reps(db, *[(float(n), []) for n in range(3)])
        leads = make_leads(db, ["A"] * 12)

        def assigner(n: int) -> list[int]:
            strategy = "rating" if n % 2 else "round_robin"
            return [lead for lead in leads if assign(db, lead, at(n), strategy) is not None]

        won = self._race(assigner)
        assert Counter(lead for mine in won for lead in mine) == Counter(leads)
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(LeadAssignment)) == len(leads)

    def test_racing_sweepers_release_each_lead_once(self, db: Database) -> None:
        reps = make_reps(db, (1.0, []), (1.0, []))
        leads = make_leads(db, ["A"] * 10)
        assert all(assign(db, lead, T0) in reps for lead in leads)
        released = self._race(lambda n: sweep(db, at(PROTECT_S + n)))
        assert sum(released) == len(leads)
        with db.read() as s:
            assert s.scalar(select(func.count()).where(LeadAssignment.released_at.is_not(None))) == len(leads)
            assert s.scalar(select(func.count()).where(Lead.pool_cooldown_rep_id.is_not(None))) == len(leads)
