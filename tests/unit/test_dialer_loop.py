"""The dialer loop over a real SQLite database with a scripted placer and a settable clock: retries per
disposition, the attempt cap, outcomes (record, grade, follow-ups, do-not-call, rep, webhooks), concurrency and
rate caps, a lost lease hanging up, a graceful stop, and a lead whose zone cannot be told."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from dialer.dialer import Dialer, DialerConfig
from dialer.placer import PlacedCall
from storage import Database
from storage.models import (
    AttemptState,
    CallAttempt,
    CallRecord,
    Campaign,
    CampaignStatus,
    DoNotCall,
    FollowUp,
    Lead,
    LeadStatus,
    SalesRep,
    User,
    Webhook,
    WebhookDelivery,
)
from storage.repos import claim_next_attempt, expire_leases, mark_dialing
from tests.unit.dialer_fixtures import Clock, ScriptedPlacer, answered, drive, make_campaign, until

pytestmark = pytest.mark.unit

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
BUSY = PlacedCall("busy", 486)
NO_ANSWER = PlacedCall("no_answer", 480)


def attempts_of(db: Database, phone: str) -> list[CallAttempt]:
    with db.read() as s:
        stmt = select(CallAttempt).join(Lead, Lead.id == CallAttempt.lead_id).where(Lead.phone_e164 == phone)
        return list(s.scalars(stmt.order_by(CallAttempt.attempt_no)))


def lead_of(db: Database, phone: str) -> Lead:
    with db.read() as s:
        return s.scalars(select(Lead).where(Lead.phone_e164 == phone)).one()


def all_settled(db: Database) -> bool:
    with db.read() as s:
        open_leads = s.scalar(select(func.count()).where(Lead.status.in_([LeadStatus.QUEUED, LeadStatus.CALLING])))
    return open_leads == 0


def dialer_for(db: Database, placer: ScriptedPlacer, clock: Clock, **config: object) -> Dialer:
    settings: dict[str, object] = dict(lease_s=30.0, max_calls=4, idle_poll_s=0.005, campaigns_every_s=0.0)
    settings.update(config)
    return Dialer(db, placer, DialerConfig(**settings), clock=clock)  # type: ignore[arg-type]


def test_retries_follow_the_policy_per_disposition(db: Database) -> None:
    busy, late, quick = "+12125550101", "+12125550102", "+12125550103"
    policy = {"busy": {"times": 2, "after_s": 600}, "no_answer": {"times": 2, "after_s": 7200}}
    make_campaign(db, [busy, late, quick], retry_policy=policy, max_attempts=5)
    clock = Clock(T0)
    script = {busy: [BUSY], late: [NO_ANSWER, answered("C")], quick: [answered("C")]}
    placer = ScriptedPlacer(clock, script)
    asyncio.run(drive(dialer_for(db, placer, clock), clock, lambda: all_settled(db), step_s=300, max_steps=100))

    assert [a.disposition for a in attempts_of(db, busy)] == ["busy"] * 3  # the first call and two retries
    assert [a.disposition for a in attempts_of(db, late)] == ["no_answer", "answered"]
    assert [a.disposition for a in attempts_of(db, quick)] == ["answered"]
    times = [c.at for c in placer.calls if c.phone == busy]
    assert all((b - a).total_seconds() >= 600 for a, b in itertools.pairwise(times))
    times = [c.at for c in placer.calls if c.phone == late]
    assert (times[1] - times[0]).total_seconds() >= 7200
    # every attempt was placed once, and every attempt in the database was placed
    placed = [c.attempt_id for c in placer.calls]
    assert len(placed) == len(set(placed)) == 6
    assert all(lead_of(db, p).status == LeadStatus.DONE for p in (busy, late, quick))


def test_the_attempt_cap_ends_retries(db: Database) -> None:
    phone = "+12125550111"
    make_campaign(db, [phone], retry_policy={"busy": {"times": 9, "after_s": 60}}, max_attempts=2)
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {phone: [BUSY]})
    asyncio.run(drive(dialer_for(db, placer, clock), clock, lambda: all_settled(db), step_s=60, max_steps=50))
    assert [a.attempt_no for a in attempts_of(db, phone)] == [1, 2]
    assert lead_of(db, phone).status == LeadStatus.DONE


def test_an_answered_call_leaves_its_record_grade_follow_ups_rep_and_webhooks(db: Database) -> None:
    phone = "+12125550121"
    make_campaign(db, [phone])
    with db.transaction() as s:
        user = User(username="rep1", password_hash="x")
        s.add(user)
        s.flush()
        s.add(SalesRep(user_id=user.id, industries=[], sales_rating=4.0))
        s.add(Webhook(url="http://127.0.0.1:9/hook", secret="s", events=["call.completed", "lead.qualified"]))
    booked = "2030-03-06T15:00:00+00:00"
    call = answered("A", outcome="booked", score=85, follow_ups=[{"kind": "book", "t_s": 30.0, "at": booked}])
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {phone: [call]})
    asyncio.run(drive(dialer_for(db, placer, clock), clock, lambda: all_settled(db), step_s=60, max_steps=10))

    lead = lead_of(db, phone)
    assert (lead.status, lead.grade, lead.intent_score, lead.category) == (LeadStatus.DONE, "A", 85.0, "potential")
    assert lead.assigned_rep_id is not None and lead.protection_until is not None
    with db.read() as s:
        (attempt,) = attempts_of(db, phone)
        stored = s.scalars(select(CallRecord).where(CallRecord.attempt_id == attempt.id)).one()
        assert [t["speaker"] for t in stored.transcript] == ["robot", "customer"]
        assert (stored.outcome, stored.grade) == ("booked", "A")
        follow = s.scalars(select(FollowUp).where(FollowUp.lead_id == lead.id)).one()
        assert follow.kind == "meeting" and follow.due_at == datetime.fromisoformat(booked)
        events = sorted(s.scalars(select(WebhookDelivery.event)))
        assert events == ["call.completed", "lead.qualified"]


def test_a_do_not_call_request_lists_the_number_and_ends_the_lead(db: Database) -> None:
    phone = "+12125550131"
    make_campaign(db, [phone], retry_policy={"answered": {"times": 2, "after_s": 60}})
    call = answered("D", outcome="do_not_call", follow_ups=[{"kind": "do_not_call", "t_s": 5.0}])
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {phone: [call]})
    asyncio.run(drive(dialer_for(db, placer, clock), clock, lambda: all_settled(db), step_s=600, max_steps=10))
    assert lead_of(db, phone).status == LeadStatus.DO_NOT_CALL
    assert len(placer.calls) == 1
    with db.read() as s:
        assert s.get(DoNotCall, phone) is not None


def test_concurrency_and_rate_caps_hold(db: Database) -> None:
    phones = [f"+1212555{i:04d}" for i in range(12)]
    make_campaign(db, phones, max_concurrent_calls=3, calls_per_second=1.0)
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {p: [answered("D")] for p in phones})

    async def scenario() -> None:
        placer.hold = asyncio.Event()
        dialer = dialer_for(db, placer, clock, max_calls=8)
        stop = asyncio.Event()
        task = asyncio.create_task(dialer.run(stop))
        await asyncio.sleep(0.3)
        assert placer.in_progress == 1  # the rate cap: one token, and the clock has not moved
        for _ in range(5):
            clock.advance(1.0)
            await asyncio.sleep(0.1)
        assert placer.in_progress == 3  # max concurrent calls, whatever the tokens
        placer.hold.set()
        await drive_rest(dialer, stop, task)

    async def drive_rest(dialer: Dialer, stop: asyncio.Event, task: asyncio.Task[None]) -> None:
        for _ in range(200):
            if all_settled(db):
                break
            clock.advance(1.0)
            await asyncio.sleep(0.02)
        stop.set()
        await task

    asyncio.run(scenario())
    assert placer.most_at_once == 3
    assert all_settled(db) and len(placer.calls) == 12
    starts = sorted(c.at for c in placer.calls)
    # one call a second: never more than (burst 1) + elapsed seconds calls by any moment
    assert all(i + 1 <= 1 + (t - starts[0]).total_seconds() for i, t in enumerate(starts))


def test_a_lost_lease_hangs_the_call_up_and_the_sweeper_ends_it(db: Database) -> None:
    phone = "+12125550141"
    make_campaign(db, [phone], retry_policy={"lease_expired": {"times": 1, "after_s": 60}})
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {phone: [answered("D")]})

    async def scenario() -> None:
        placer.hold = asyncio.Event()
        dialer = dialer_for(db, placer, clock, lease_s=3.0)
        stop = asyncio.Event()
        task = asyncio.create_task(dialer.run(stop))
        await until(lambda: placer.in_progress > 0)
        clock.advance(10)  # the lease (3 s) ran out: another dialer's sweeper ends the attempt
        with db.transaction() as s:
            assert len(expire_leases(s, now=clock(), retry_after_s=60)) == 1
        await until(lambda: placer.cancelled > 0, timeout_s=5)  # the next renewal (each second) finds it lost
        stop.set()
        await task

    asyncio.run(scenario())
    (attempt,) = attempts_of(db, phone)
    assert (attempt.state, attempt.disposition) == (AttemptState.ENDED, "lease_expired")
    assert lead_of(db, phone).status == LeadStatus.QUEUED  # retried as a new attempt, by whoever comes next


def test_a_graceful_stop_hangs_up_after_the_drain_and_records_the_call(db: Database) -> None:
    phone = "+12125550151"
    make_campaign(db, [phone], retry_policy={"dialer_stopped": {"times": 1, "after_s": 60}})
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {phone: [answered("D")]})

    async def scenario() -> None:
        placer.hold = asyncio.Event()  # never set: the call outlasts the drain
        dialer = dialer_for(db, placer, clock, drain_s=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(dialer.run(stop))
        await until(lambda: placer.in_progress > 0)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert placer.cancelled == 1
    (attempt,) = attempts_of(db, phone)
    assert (attempt.state, attempt.disposition) == (AttemptState.ENDED, "dialer_stopped")
    assert lead_of(db, phone).status == LeadStatus.QUEUED


def test_a_lead_whose_zone_cannot_be_told_is_never_called(db: Database) -> None:
    unknown = "+80012345678"  # a universal freephone number: no country, no zone
    make_campaign(db, [unknown])
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {unknown: [answered("D")]})
    asyncio.run(drive(dialer_for(db, placer, clock), clock, lambda: all_settled(db), step_s=60, max_steps=10))
    assert placer.calls == []
    lead = lead_of(db, unknown)
    assert (lead.status, lead.category, lead.attempts) == (LeadStatus.DONE, "no_timezone", 0)
    assert attempts_of(db, unknown) == []


def test_only_campaigns_whose_script_and_voice_are_loaded_are_dialed(db: Database) -> None:
    plain, voiced, other_voice, other_script = "+12125550161", "+12125550162", "+12125550163", "+12125550164"
    make_campaign(db, [plain])
    make_campaign(db, [voiced], voice_profile_id="dana")
    make_campaign(db, [other_voice], voice_profile_id="eli")
    make_campaign(db, [other_script], script_id="education-en")
    clock = Clock(T0)
    placer = ScriptedPlacer(clock, {p: [answered("D")] for p in (plain, voiced, other_voice, other_script)})
    dialer = dialer_for(db, placer, clock, script_ids=frozenset({"insurance-en"}), voice_ids=frozenset({"dana"}))
    asyncio.run(drive(dialer, clock, lambda: len(placer.calls) >= 2, step_s=60, max_steps=10))
    assert {(c.phone, c.voice) for c in placer.calls} == {(plain, None), (voiced, "dana")}
    assert lead_of(db, other_voice).status == lead_of(db, other_script).status == LeadStatus.QUEUED


def test_the_sweeper_ends_a_dead_dialers_calls_with_each_campaigns_own_delay(db: Database) -> None:
    live, paused = "+12125550171", "+12125550172"
    a = make_campaign(db, [live], retry_policy={"lease_expired": {"times": 2, "after_s": 60}})
    b = make_campaign(db, [paused], retry_policy={"lease_expired": {"times": 2, "after_s": 900}})
    for cid in (a, b):  # a dialer claimed and dialed, then died
        with db.transaction() as s:
            claim = claim_next_attempt(s, cid, "dead-dialer", lease_s=5, now=T0)
            assert claim is not None and mark_dialing(s, claim.attempt_id, "dead-dialer", now=T0)
    with db.transaction() as s:
        s.execute(update(Campaign).where(Campaign.id == b).values(status=CampaignStatus.PAUSED))
    clock = Clock(T0 + timedelta(seconds=30))
    placer = ScriptedPlacer(clock, {})
    asyncio.run(drive(dialer_for(db, placer, clock), clock, lambda: True, step_s=1, max_steps=1))
    assert [a.disposition for a in attempts_of(db, live)] == ["lease_expired"]
    assert [a.disposition for a in attempts_of(db, paused)] == ["lease_expired"]
    assert lead_of(db, live).next_attempt_at == clock.now + timedelta(seconds=60)
    assert lead_of(db, paused).next_attempt_at == clock.now + timedelta(seconds=900)
    assert placer.calls == []  # the live lead is due only a minute later
