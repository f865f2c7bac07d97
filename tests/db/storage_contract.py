"""The storage repository tests, written once and run on both databases.

Subclasses provide a `db` fixture (a migrated, empty `Database`): tests/unit/test_storage_repos.py on SQLite in
tmp_path, tests/db/test_storage_pg.py on the PostgreSQL that scripts/pg-test-server.sh started. Time is virtual:
every repository call gets `now` explicitly, so leases expire without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from storage import Database
from storage.models import (
    AttemptState,
    CallAttempt,
    Campaign,
    CampaignStatus,
    Lead,
    LeadStatus,
    Role,
    User,
)
from storage.repos import (
    LEASE_EXPIRED,
    AuditAction,
    Claim,
    add_do_not_call,
    add_existing_customers,
    audit_trail,
    claim_next_attempt,
    create_user,
    do_not_call_among,
    existing_customers_among,
    expire_leases,
    finish_attempt,
    get_call_record,
    get_user_by_username,
    is_do_not_call,
    load_variant_stats,
    mark_dialing,
    open_attempt_count,
    record_audit,
    release_attempt,
    renew_lease,
    save_call_record,
    upsert_variant_stats,
)

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
LEASE_S = 30.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def phone(i: int) -> str:
    return f"+4930{i:08d}"


def make_campaign(db: Database, *, leads: int = 0, max_attempts: int = 3, status: CampaignStatus | None = None) -> int:
    """A running campaign with `leads` leads, all due at T0 (lead i has number phone(i))."""
    with db.transaction() as s:
        campaign = Campaign(
            name="spring",
            script_id="insurance-en",
            language="en",
            max_attempts=max_attempts,
            status=status or CampaignStatus.RUNNING,
        )
        s.add(campaign)
        s.flush()
        s.add_all(Lead(campaign_id=campaign.id, phone_e164=phone(i), next_attempt_at=T0) for i in range(leads))
        return campaign.id


def claim(db: Database, campaign_id: int, worker: str, now: datetime, lease_s: float = LEASE_S) -> Claim | None:
    with db.transaction() as s:
        return claim_next_attempt(s, campaign_id, worker, lease_s=lease_s, now=now)


def lead_row(db: Database, lead_id: int) -> Lead:
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        return lead


def attempt_row(db: Database, attempt_id: int) -> CallAttempt:
    with db.read() as s:
        attempt = s.get(CallAttempt, attempt_id)
        assert attempt is not None
        return attempt


class RepositoryContract:
    """Every repository operation, on one database (the subclass's `db` fixture)."""

    def test_create_and_get_user(self, db: Database) -> None:
        with db.transaction() as s:
            user = create_user(s, "ana", "argon2id$hash", role=Role.SUPERVISOR)
            assert user.id is not None
        with db.read() as s:
            found = get_user_by_username(s, "ana")
            assert found is not None and found.role is Role.SUPERVISOR and found.active
            assert found.created_at.tzinfo is UTC
            assert get_user_by_username(s, "nobody") is None
        with pytest.raises(IntegrityError), db.transaction() as s:
            create_user(s, "ana", "other-hash")
        with pytest.raises(ValueError), db.transaction() as s:
            create_user(s, "", "hash")

    def test_role_is_checked(self, db: Database) -> None:
        with pytest.raises(StatementError), db.transaction() as s:
            s.execute(insert(User).values(username="x", password_hash="h", role="owner", active=True, created_at=T0))

    def test_claims_come_in_due_order_and_only_when_due(self, db: Database) -> None:
        cid = make_campaign(db, leads=3)
        with db.transaction() as s:
            later = s.scalars(select(Lead).where(Lead.phone_e164 == phone(0))).one()
            later.next_attempt_at = at(20)
        first, second = claim(db, cid, "w1", at(0)), claim(db, cid, "w1", at(0))
        assert first is not None and second is not None
        assert (first.attempt_no, second.attempt_no) == (1, 1) and first.lead_id < second.lead_id
        assert claim(db, cid, "w1", at(1)) is None  # the third lead is due at 20 s
        third = claim(db, cid, "w1", at(20))
        assert third is not None and lead_row(db, third.lead_id).phone_e164 == phone(0)
        lead = lead_row(db, first.lead_id)
        assert (lead.status, lead.attempts, lead.next_attempt_at) == (LeadStatus.CALLING, 1, None)
        attempt = attempt_row(db, first.attempt_id)
        assert attempt.state is AttemptState.CLAIMED and attempt.claimed_by == "w1"
        assert attempt.lease_expires_at == at(LEASE_S)

    def test_only_running_campaigns_are_claimed(self, db: Database) -> None:
        cid = make_campaign(db, leads=1, status=CampaignStatus.PAUSED)
        assert claim(db, cid, "w1", at(0)) is None
        assert claim(db, 9999, "w1", at(0)) is None

    def test_do_not_call_numbers_are_never_claimed(self, db: Database) -> None:
        cid = make_campaign(db, leads=3)
        with db.transaction() as s:
            assert add_do_not_call(s, [phone(1)], source="customer_request", now=at(0)) == 1
        assert lead_row(db, 2).status is LeadStatus.DO_NOT_CALL
        with db.transaction() as s:  # a lead queued again by mistake is still refused by the claim itself
            s.get_one(Lead, 2).status = LeadStatus.QUEUED
        claimed = {c.lead_id for c in (claim(db, cid, "w1", at(0)) for _ in range(3)) if c is not None}
        assert claimed == {1, 3}

    def test_listing_a_number_cancels_its_undialed_claim(self, db: Database) -> None:
        cid = make_campaign(db, leads=2)
        first, second = claim(db, cid, "w1", at(0)), claim(db, cid, "w1", at(0))
        assert first is not None and second is not None
        with db.transaction() as s:
            assert mark_dialing(s, second.attempt_id, "w1", now=at(1))
            add_do_not_call(s, [phone(0), phone(1)], source="customer_request", now=at(2))
            assert not mark_dialing(s, first.attempt_id, "w1", now=at(3))
        cancelled, dialing = attempt_row(db, first.attempt_id), attempt_row(db, second.attempt_id)
        assert (cancelled.state, cancelled.disposition) == (AttemptState.ENDED, "do_not_call")
        assert lead_row(db, first.lead_id).status is LeadStatus.DO_NOT_CALL
        assert dialing.state is AttemptState.DIALING  # a call in progress is the dialer's to end
        with db.transaction() as s:
            assert finish_attempt(s, second.attempt_id, "w1", disposition="answered", retry_at=at(10), now=at(9))
        assert lead_row(db, second.lead_id).status is LeadStatus.DO_NOT_CALL  # not queued for the retry
        assert claim(db, cid, "w1", at(LEASE_S + 100)) is None

    def test_attempts_stop_at_the_campaign_maximum(self, db: Database) -> None:
        cid = make_campaign(db, leads=1, max_attempts=2)
        for n in (1, 2):
            c = claim(db, cid, "w1", at(n * 100))
            assert c is not None and c.attempt_no == n
            with db.transaction() as s:
                assert mark_dialing(s, c.attempt_id, "w1", now=at(n * 100))
                assert finish_attempt(
                    s, c.attempt_id, "w1", disposition="busy", sip_status=486, retry_at=at(n * 100 + 1), now=at(n * 100)
                )
        lead = lead_row(db, 1)
        assert (lead.status, lead.attempts, lead.next_attempt_at) == (LeadStatus.DONE, 2, None)
        assert claim(db, cid, "w1", at(1000)) is None

    def test_finish_reschedules_or_closes_the_lead(self, db: Database) -> None:
        cid = make_campaign(db, leads=2)
        a, b = claim(db, cid, "w1", at(0)), claim(db, cid, "w1", at(0))
        assert a is not None and b is not None
        with db.transaction() as s:
            assert finish_attempt(s, a.attempt_id, "w1", disposition="no_answer", retry_at=at(7200), now=at(40))
            assert finish_attempt(
                s, b.attempt_id, "w1", disposition="answered", answered_at=at(5), lead_status=LeadStatus.DO_NOT_CALL
            )
            assert not finish_attempt(s, a.attempt_id, "w1", disposition="again", now=at(41))  # already ended
        lead_a, lead_b = lead_row(db, a.lead_id), lead_row(db, b.lead_id)
        assert (lead_a.status, lead_a.next_attempt_at) == (LeadStatus.QUEUED, at(7200))
        assert lead_b.status is LeadStatus.DO_NOT_CALL
        ended = attempt_row(db, a.attempt_id)
        assert (ended.state, ended.disposition, ended.ended_at, ended.lease_expires_at) == (
            AttemptState.ENDED,
            "no_answer",
            at(40),
            None,
        )
        assert attempt_row(db, b.attempt_id).answered_at == at(5)

    def test_renew_extends_and_an_expired_lease_is_lost(self, db: Database) -> None:
        cid = make_campaign(db, leads=1)
        c = claim(db, cid, "w1", at(0))
        assert c is not None
        with db.transaction() as s:
            assert renew_lease(s, c.attempt_id, "w1", lease_s=LEASE_S, now=at(20)) == at(50)
            assert renew_lease(s, c.attempt_id, "w2", lease_s=LEASE_S, now=at(20)) is None
            assert renew_lease(s, c.attempt_id, "w1", lease_s=LEASE_S, now=at(51)) is None
            assert not mark_dialing(s, c.attempt_id, "w1", now=at(51))

    def test_an_abandoned_claim_is_taken_over_once(self, db: Database) -> None:
        cid = make_campaign(db, leads=2)
        dead = claim(db, cid, "dead", at(0))
        assert dead is not None
        taken = claim(db, cid, "w2", at(LEASE_S + 1))
        assert taken is not None and taken.reclaimed
        assert (taken.attempt_id, taken.lead_id, taken.attempt_no) == (dead.attempt_id, dead.lead_id, 1)
        assert attempt_row(db, dead.attempt_id).claims == 2
        nxt = claim(db, cid, "w3", at(LEASE_S + 1))
        assert nxt is not None and not nxt.reclaimed and nxt.lead_id != dead.lead_id
        with db.transaction() as s:  # the dead worker, should it wake up, holds nothing
            assert not mark_dialing(s, dead.attempt_id, "dead", now=at(LEASE_S + 2))
            assert not finish_attempt(s, dead.attempt_id, "dead", disposition="busy", now=at(LEASE_S + 2))
            assert mark_dialing(s, taken.attempt_id, "w2", now=at(LEASE_S + 2))

    def test_an_expired_dialing_attempt_is_ended_not_redialed(self, db: Database) -> None:
        cid = make_campaign(db, leads=1)
        c = claim(db, cid, "w1", at(0))
        assert c is not None
        with db.transaction() as s:
            assert mark_dialing(s, c.attempt_id, "w1", now=at(1))
        assert claim(db, cid, "w2", at(LEASE_S + 5)) is None  # dialing: never taken over
        with db.transaction() as s:
            assert expire_leases(s, now=at(LEASE_S - 1)) == []
            expired = expire_leases(s, now=at(LEASE_S + 5), retry_after_s=60)
        assert [(e.attempt_id, e.lead_id, e.attempt_no) for e in expired] == [(c.attempt_id, c.lead_id, 1)]
        attempt = attempt_row(db, c.attempt_id)
        assert (attempt.state, attempt.disposition) == (AttemptState.ENDED, LEASE_EXPIRED)
        lead = lead_row(db, c.lead_id)
        assert (lead.status, lead.next_attempt_at) == (LeadStatus.QUEUED, at(LEASE_S + 65))
        with db.transaction() as s:
            assert not finish_attempt(s, c.attempt_id, "w1", disposition="answered", now=at(LEASE_S + 6))
        again = claim(db, cid, "w2", at(LEASE_S + 65))
        assert again is not None and again.lead_id == c.lead_id and again.attempt_no == 2

    def test_release_gives_back_an_undialed_attempt(self, db: Database) -> None:
        cid = make_campaign(db, leads=1)
        c = claim(db, cid, "w1", at(0))
        assert c is not None
        with db.transaction() as s:
            assert not release_attempt(s, c.attempt_id, "w2", retry_at=at(600))
            assert release_attempt(s, c.attempt_id, "w1", retry_at=at(600), now=at(1))
        with db.read() as s:
            assert s.get(CallAttempt, c.attempt_id) is None
        lead = lead_row(db, c.lead_id)
        assert (lead.status, lead.attempts, lead.next_attempt_at) == (LeadStatus.QUEUED, 0, at(600))
        assert claim(db, cid, "w1", at(599)) is None
        again = claim(db, cid, "w1", at(600))
        assert again is not None and again.attempt_no == 1
        with db.transaction() as s:
            assert mark_dialing(s, again.attempt_id, "w1", now=at(601))
            assert not release_attempt(s, again.attempt_id, "w1", retry_at=at(900))  # dialed: must be finished

    def test_the_schema_forbids_a_second_open_or_duplicate_attempt(self, db: Database) -> None:
        cid = make_campaign(db, leads=1)
        c = claim(db, cid, "w1", at(0))
        assert c is not None
        row = {"lead_id": c.lead_id, "campaign_id": cid, "claims": 1, "created_at": T0}
        with pytest.raises(IntegrityError), db.transaction() as s:  # a second open attempt for the lead
            s.execute(insert(CallAttempt).values(attempt_no=2, state=AttemptState.CLAIMED, **row))
        with db.transaction() as s:
            assert finish_attempt(s, c.attempt_id, "w1", disposition="busy", retry_at=at(1), now=at(0))
        with pytest.raises(IntegrityError), db.transaction() as s:  # the same attempt number again
            s.execute(insert(CallAttempt).values(attempt_no=1, state=AttemptState.ENDED, **row))

    def test_open_attempt_count(self, db: Database) -> None:
        cid = make_campaign(db, leads=3)
        claims = [claim(db, cid, "w1", at(0)) for _ in range(3)]
        with db.transaction() as s:
            assert open_attempt_count(s, cid) == 3
            first = claims[0]
            assert first is not None
            finish_attempt(s, first.attempt_id, "w1", disposition="busy", now=at(1))
            assert open_attempt_count(s, cid) == 2

    def test_call_record_round_trip(self, db: Database) -> None:
        cid = make_campaign(db, leads=1)
        c = claim(db, cid, "w1", at(0))
        assert c is not None
        turns: list[Any] = [
            {"speaker": "robot", "start_s": 0.0, "end_s": 2.5, "text": "Hello, this is Harbor Life."},
            {"speaker": "customer", "start_s": 2.9, "end_s": 3.4, "text": "嗯，你好"},
        ]
        with db.transaction() as s:
            save_call_record(s, c.attempt_id, transcript=turns, outcome="callback", grade="B", score=0.61)
            save_call_record(
                s,
                c.attempt_id,
                transcript=turns,
                timings={"talk_s": 41.2},
                recording_path="rec/1.wav",
                outcome="qualified",
                grade="A",
                score=0.9,
                signals={"budget": True},
                handoff={"agent_user_id": 7, "requested_s": 30.1, "taken_s": 31.0},
            )
        with db.read() as s:
            record = get_call_record(s, c.attempt_id)
            assert record is not None
            assert (record.outcome, record.grade, record.score) == ("qualified", "A", 0.9)
            assert record.transcript == turns and record.timings == {"talk_s": 41.2}
            assert record.handoff["agent_user_id"] == 7 and record.signals == {"budget": True}
            assert get_call_record(s, c.attempt_id + 1) is None
        with pytest.raises(ValueError), db.transaction() as s:
            save_call_record(s, c.attempt_id, transcript=[{"speaker": "x", "start_s": 0, "end_s": 1, "text": ""}])

    def test_do_not_call_and_existing_customer_lists(self, db: Database) -> None:
        many = [phone(i) for i in range(1200)]  # more than one statement's worth
        with db.transaction() as s:
            assert add_do_not_call(s, many, source="list:dnc.csv", now=at(0)) == 1200
            assert add_do_not_call(s, [phone(5), phone(5000)], source="customer_request", now=at(1)) == 1
            assert is_do_not_call(s, phone(5)) and not is_do_not_call(s, phone(9999))
            assert do_not_call_among(s, [phone(3), phone(7000), phone(1199)]) == {phone(3), phone(1199)}
            assert add_existing_customers(s, [phone(1), phone(2)], source="crm") == 2
            assert add_existing_customers(s, [phone(2)]) == 0
            assert existing_customers_among(s, [phone(2), phone(3)]) == {phone(2)}
        with pytest.raises(ValueError), db.transaction() as s:
            add_do_not_call(s, ["030 1234567"], source="x")

    def test_audit_log(self, db: Database) -> None:
        with db.transaction() as s:
            user = create_user(s, "sup", "hash", role=Role.SUPERVISOR)
            record_audit(s, user_id=user.id, action=AuditAction.LISTEN, call_id="c-1", at=at(0))
            record_audit(s, user_id=user.id, action=AuditAction.TAKEOVER, call_id="c-1", details={"ms": 31}, at=at(5))
            record_audit(s, user_id=None, action=AuditAction.HANG_UP, call_id="c-2", at=at(6))
            uid = user.id
        with db.read() as s:
            trail = audit_trail(s, call_id="c-1")
            assert [(e.action, e.at) for e in trail] == [("takeover", at(5)), ("listen", at(0))]
            assert trail[0].details == {"ms": 31}
            assert len(audit_trail(s, user_id=uid)) == 2 and len(audit_trail(s)) == 3
        with pytest.raises(ValueError), db.transaction() as s:
            record_audit(s, user_id=None, action="dance")  # type: ignore[arg-type]  # the check under test

    def test_variant_stats_upsert(self, db: Database) -> None:
        with db.transaction() as s:
            upsert_variant_stats(s, "insurance-en", "opening.v1", uses=1, conversions=0)
            upsert_variant_stats(s, "insurance-en", "opening.v1", uses=2, conversions=1)
            upsert_variant_stats(s, "insurance-en", "opening.v2", uses=10, conversions=4, increment=False)
            upsert_variant_stats(s, "education-zh", "greet.v1", uses=5, conversions=5, increment=False)
            upsert_variant_stats(s, "education-zh", "greet.v1", uses=3, conversions=1, increment=False)
        with db.read() as s:
            assert load_variant_stats(s) == {
                "insurance-en": {"opening.v1": (3, 1), "opening.v2": (10, 4)},
                "education-zh": {"greet.v1": (3, 1)},
            }
            assert load_variant_stats(s, "education-zh") == {"education-zh": {"greet.v1": (3, 1)}}
        with pytest.raises(ValueError), db.transaction() as s:
            upsert_variant_stats(s, "a", "b", uses=-1, conversions=0)

    def test_times_are_stored_in_utc_and_naive_ones_refused(self, db: Database) -> None:
        cid = make_campaign(db, leads=1)
        berlin = datetime(2030, 3, 4, 10, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
        with db.transaction() as s:
            s.get_one(Lead, 1).protection_until = berlin
        assert lead_row(db, 1).protection_until == datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
        assert lead_row(db, 1).protection_until.tzinfo is UTC  # type: ignore[union-attr]
        with pytest.raises(StatementError), db.transaction() as s:
            s.get_one(Lead, 1).protection_until = datetime(2030, 1, 1)  # naive on purpose
        assert claim(db, cid, "w1", at(0)) is not None

    def test_campaign_limits_are_checked(self, db: Database) -> None:
        with pytest.raises(IntegrityError), db.transaction() as s:
            s.add(Campaign(name="bad", script_id="x", language="en", max_attempts=0))


class ClaimRaceContract:
    """Concurrent claimers (threads, each with its own connection) on one database."""

    WORKERS = 4

    def _race(self, db: Database, fn: Callable[[str], list[Claim]]) -> list[Claim]:
        start = threading.Barrier(self.WORKERS)

        def run(worker: str) -> list[Claim]:
            start.wait()
            return fn(worker)

        with ThreadPoolExecutor(self.WORKERS) as pool:
            results = list(pool.map(run, [f"w{i}" for i in range(self.WORKERS)]))
        return [c for r in results for c in r]

    def test_concurrent_claimers_never_get_the_same_attempt(self, db: Database) -> None:
        leads = 60
        cid = make_campaign(db, leads=leads)

        def drain(worker: str) -> list[Claim]:
            got: list[Claim] = []
            while (c := claim(db, cid, worker, at(0))) is not None:
                got.append(c)
                time.sleep(0.002)  # a dialer dials between claims; without it one SQLite thread may take all
            return got

        claims = self._race(db, drain)
        assert len(claims) == leads
        assert len({c.attempt_id for c in claims}) == leads and len({c.lead_id for c in claims}) == leads
        assert len({c.claimed_by for c in claims}) > 1  # they really raced
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(CallAttempt)) == leads
            assert s.scalar(select(func.max(Lead.attempts))) == 1

    def test_an_expired_lease_is_reclaimed_exactly_once(self, db: Database) -> None:
        abandoned = 12
        cid = make_campaign(db, leads=abandoned + 3)
        dead = [claim(db, cid, "dead", at(0)) for _ in range(abandoned)]
        dead_ids = {c.attempt_id for c in dead if c is not None}

        def grab(worker: str) -> list[Claim]:
            got: list[Claim] = []
            for _ in range(6):
                c = claim(db, cid, worker, at(LEASE_S + 1))
                if c is not None:
                    got.append(c)
            return got

        claims = self._race(db, grab)
        reclaimed = [c for c in claims if c.reclaimed]
        assert sorted(c.attempt_id for c in reclaimed) == sorted(dead_ids)  # each exactly once
        assert len({c.attempt_id for c in claims}) == len(claims) == abandoned + 3
        with db.read() as s:
            claims_per_attempt = {row.id: row.claims for row in s.execute(select(CallAttempt.id, CallAttempt.claims))}
        assert all(claims_per_attempt[i] == 2 for i in dead_ids)
        assert sum(claims_per_attempt.values()) == 2 * abandoned + 3

    def test_a_late_finish_and_the_sweeper_race_with_one_winner(self, db: Database) -> None:
        cid = make_campaign(db, leads=20)
        dialing: list[Claim] = []
        for _ in range(20):
            c = claim(db, cid, "w", at(0))
            assert c is not None
            with db.transaction() as s:
                assert mark_dialing(s, c.attempt_id, "w", now=at(0))
            dialing.append(c)
        late = at(LEASE_S + 1)

        def finisher(c: Claim) -> bool:
            with db.transaction() as s:
                return finish_attempt(s, c.attempt_id, "w", disposition="answered", now=late)

        def sweeper() -> set[int]:
            with db.transaction() as s:
                return {e.attempt_id for e in expire_leases(s, now=late)}

        with ThreadPoolExecutor(self.WORKERS) as pool:
            swept_f = [pool.submit(sweeper) for _ in range(2)]
            finished_f = {c.attempt_id: pool.submit(finisher, c) for c in dialing}
            swept = [f.result() for f in swept_f]
            finished = {a for a, f in finished_f.items() if f.result()}
        assert not swept[0] & swept[1]
        assert finished.isdisjoint(swept[0] | swept[1])
        assert finished | swept[0] | swept[1] == {c.attempt_id for c in dialing}
