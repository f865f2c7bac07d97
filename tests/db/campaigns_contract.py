"""The campaign service tests, written once and run on both databases.

Subclasses provide a `db` fixture (a migrated, empty `Database`): tests/unit/test_campaigns_sqlite.py on SQLite in
tmp_path, tests/db/test_campaigns_pg.py on the PostgreSQL that scripts/pg-test-server.sh started. Time is virtual.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from dialer import campaigns
from dialer.campaigns import CampaignSpec
from scripts_library.catalog import load_catalog
from storage import Database
from storage.models import AuditEntry, CallAttempt, Campaign, CampaignStatus, Lead, LeadStatus, Team
from storage.repos import claim_next_attempt, finish_attempt, mark_dialing, save_call_record

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
SPEC = CampaignSpec(name="spring", script_id="insurance-en", language="en")
WINDOWS = {
    **{d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [],
    "sun": [],
    "holidays": ["2030-12-25"],
}
ALL = list(CampaignStatus)
STEPS = {"start": campaigns.start, "pause": campaigns.pause, "resume": campaigns.resume, "stop": campaigns.stop}
LEGAL = {
    ("start", CampaignStatus.DRAFT): CampaignStatus.RUNNING,
    ("pause", CampaignStatus.RUNNING): CampaignStatus.PAUSED,
    ("resume", CampaignStatus.PAUSED): CampaignStatus.RUNNING,
    ("stop", CampaignStatus.RUNNING): CampaignStatus.STOPPED,
    ("stop", CampaignStatus.PAUSED): CampaignStatus.STOPPED,
}
EXPECTED_SOURCES = {"start": "draft", "pause": "running", "resume": "paused", "stop": "running or paused"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def create(db: Database, spec: CampaignSpec = SPEC, **changes: Any) -> int:
    with db.transaction() as s:
        return campaigns.create_campaign(s, replace(spec, **changes), now=T0).id


def set_status(db: Database, campaign_id: int, status: CampaignStatus) -> None:
    with db.transaction() as s:
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(status=status))


def status_of(db: Database, campaign_id: int) -> CampaignStatus:
    with db.read() as s:
        return campaigns.get_campaign(s, campaign_id).status


def step(db: Database, name: str, campaign_id: int, **kw: Any) -> Campaign:
    with db.transaction() as s:
        result: Campaign = STEPS[name](s, campaign_id, now=at(60), **kw)
        return result


def add_leads(db: Database, campaign_id: int, count: int, **values: Any) -> list[int]:
    with db.transaction() as s:
        leads = [
            Lead(campaign_id=campaign_id, phone_e164=f"+4930{campaign_id:02d}{i:06d}", next_attempt_at=T0, **values)
            for i in range(count)
        ]
        s.add_all(leads)
        s.flush()
        return [lead.id for lead in leads]


class CampaignContract:
    """Campaign creation, validation, editing, lifecycle and progress on one database."""

    # ---- create and validate ------------------------------------------------------------------------------------

    def test_create_stores_a_draft_with_every_setting(self, db: Database) -> None:
        with db.transaction() as s:
            team = Team(name="north")
            s.add(team)
            s.flush()
            spec = CampaignSpec(
                name="  spring leads  ",
                script_id="insurance-zh",
                language="zh",
                voice_profile_id="warm-female",
                caller_id="+12125550100",
                max_concurrent_calls=8,
                calls_per_second=2.5,
                calling_windows=WINDOWS,
                retry_policy={"busy": {"times": 2, "after_s": 900}},
                max_attempts=5,
                team_id=team.id,
                dialogue_settings={"agent_name": "Mei", "recording_notice": False, "handoff_wait_s": 45.0},
            )
            cid = campaigns.create_campaign(s, spec, user_id=None, now=T0).id
        with db.read() as s:
            campaign = campaigns.get_campaign(s, cid)
            assert campaign.status is CampaignStatus.DRAFT and campaign.name == "spring leads"
            assert campaign.created_at == T0 and campaign.updated_at == T0
            assert campaigns.spec_of(campaign) == replace(spec, name="spring leads")
            audit = s.scalars(select(AuditEntry)).all()
        assert [(a.action, a.details) for a in audit] == [("campaign_changed", {"campaign_id": cid, "step": "create"})]

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"name": "   "}, "name: expected 1..200 characters"),
            ({"name": "x" * 201}, "name: expected 1..200 characters"),
            ({"script_id": "nope"}, "script_id: no script 'nope' (have: b2b-software-en, "),
            ({"language": "zh"}, "language: expected 'en' (the script's), got 'zh'"),
            ({"voice_profile_id": ""}, "voice_profile_id: expected 1..64 characters or None"),
            ({"caller_id": "02125550100"}, "caller_id: expected a valid E.164 number"),
            ({"caller_id": "+15551234567"}, "caller_id: expected a valid E.164 number"),
            ({"max_concurrent_calls": 0}, "max_concurrent_calls: expected an integer 1..1000, got 0"),
            ({"max_concurrent_calls": True}, "max_concurrent_calls: expected an integer 1..1000, got True"),
            ({"max_attempts": 21}, "max_attempts: expected an integer 1..20, got 21"),
            ({"calls_per_second": 0}, "calls_per_second: expected a number in (0, 100], got 0"),
            ({"calls_per_second": float("nan")}, "calls_per_second: expected a number in (0, 100], got nan"),
            ({"calls_per_second": 101}, "calls_per_second: expected a number in (0, 100], got 101"),
            ({"calling_windows": {"mon": []}}, "calling_windows: missing days tue, "),
            ({"retry_policy": {"busy": {"times": -1, "after_s": 1}}}, "retry_policy.busy.times: expected an integer"),
            ({"team_id": 999}, "team_id: no team 999"),
            ({"dialogue_settings": {"voice": "x"}}, "dialogue_settings: unknown ['voice']"),
            ({"dialogue_settings": {"handoff_wait_s": 0}}, "dialogue_settings: expected positive handoff_wait_s"),
        ],
    )
    def test_invalid_settings_are_refused_and_nothing_is_stored(
        self, db: Database, changes: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ValueError) as error:
            create(db, **changes)
        assert str(error.value).startswith(message)
        assert "5550100" not in str(error.value) and "5551234567" not in str(error.value)  # no numbers in messages
        with db.read() as s:
            assert s.scalars(select(Campaign)).all() == []

    def test_a_caller_id_must_be_a_real_e164_number(self, db: Database) -> None:
        cid = create(db, caller_id="+442079460958")
        with db.read() as s:
            assert campaigns.get_campaign(s, cid).caller_id == "+442079460958"

    def test_the_catalog_can_be_given(self, db: Database) -> None:
        catalog = {"insurance-en": load_catalog()["insurance-en"]}
        with pytest.raises(ValueError, match=r"no script 'education-en' \(have: insurance-en\)"), db.transaction() as s:
            campaigns.create_campaign(s, replace(SPEC, script_id="education-en"), catalog=catalog)

    # ---- update -------------------------------------------------------------------------------------------------

    @pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.PAUSED])
    def test_update_replaces_the_settings_while_draft_or_paused(self, db: Database, status: CampaignStatus) -> None:
        cid = create(db)
        set_status(db, cid, status)
        new = replace(SPEC, name="autumn", max_attempts=4, calling_windows=WINDOWS)
        with db.transaction() as s:
            campaign = campaigns.update_campaign(s, cid, new, now=at(30))
            assert campaign.name == "autumn" and campaign.updated_at == at(30) and campaign.status is status
        with db.read() as s:
            assert campaigns.spec_of(campaigns.get_campaign(s, cid)) == new

    @pytest.mark.parametrize("status", [CampaignStatus.RUNNING, CampaignStatus.STOPPED])
    def test_update_is_refused_while_running_or_stopped(self, db: Database, status: CampaignStatus) -> None:
        cid = create(db)
        set_status(db, cid, status)
        with pytest.raises(ValueError, match=f"expected campaign in draft or paused, got {status.value}"):
            with db.transaction() as s:
                campaigns.update_campaign(s, cid, replace(SPEC, name="autumn"))
        with db.read() as s:
            assert campaigns.get_campaign(s, cid).name == "spring"

    def test_update_validates_like_create(self, db: Database) -> None:
        cid = create(db)
        with pytest.raises(ValueError, match="language: expected 'en'"), db.transaction() as s:
            campaigns.update_campaign(s, cid, replace(SPEC, language="zh"))

    def test_unknown_campaigns_raise_lookup_error(self, db: Database) -> None:
        with db.transaction() as s:
            with pytest.raises(LookupError, match="no campaign 404"):
                campaigns.update_campaign(s, 404, SPEC)
            for name in STEPS:
                with pytest.raises(LookupError, match="no campaign 404"):
                    STEPS[name](s, 404)
            with pytest.raises(LookupError, match="no campaign 404"):
                campaigns.progress(s, 404)

    # ---- lifecycle ----------------------------------------------------------------------------------------------

    @pytest.mark.parametrize("status", ALL)
    @pytest.mark.parametrize("name", list(STEPS))
    def test_every_step_from_every_status(self, db: Database, name: str, status: CampaignStatus) -> None:
        cid = create(db)
        set_status(db, cid, status)
        target = LEGAL.get((name, status))
        if target is None:
            expected = f"expected campaign in {EXPECTED_SOURCES[name]}, got {status.value}"
            with pytest.raises(ValueError, match=f"^{expected}$"):
                step(db, name, cid)
            assert status_of(db, cid) is status
            return
        campaign = step(db, name, cid)
        assert campaign.status is target and campaign.updated_at == at(60)
        assert status_of(db, cid) is target
        with db.read() as s:
            last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last is not None and last.details == {"campaign_id": cid, "step": name, "status": target.value}

    def test_start_checks_the_stored_settings_again(self, db: Database) -> None:
        cid = create(db)
        without_the_script = {k: v for k, v in load_catalog().items() if k != "insurance-en"}
        with pytest.raises(ValueError, match="script_id: no script 'insurance-en'"), db.transaction() as s:
            campaigns.start(s, cid, catalog=without_the_script)
        assert status_of(db, cid) is CampaignStatus.DRAFT

    def test_only_running_campaigns_are_dialed_and_stop_keeps_the_queue(self, db: Database) -> None:
        cid = create(db)
        add_leads(db, cid, 3)

        def claim() -> int | None:
            with db.transaction() as s:
                c = claim_next_attempt(s, cid, "w1", lease_s=30, now=at(1))
                return None if c is None else c.lead_id

        assert claim() is None  # draft
        step(db, "start", cid)
        first = claim()
        assert first is not None
        step(db, "pause", cid)
        assert claim() is None
        step(db, "resume", cid)
        assert claim() is not None
        step(db, "stop", cid)
        assert claim() is None
        with db.read() as s:
            statuses = sorted(s.scalars(select(Lead.status).where(Lead.campaign_id == cid)).all())
        assert statuses == sorted([LeadStatus.QUEUED, LeadStatus.CALLING, LeadStatus.CALLING])

    def test_two_racing_starts_succeed_once(self, db: Database) -> None:
        cid = create(db)
        barrier = threading.Barrier(2)
        results: list[str] = []

        def go() -> None:
            barrier.wait()
            try:
                step(db, "start", cid)
                results.append("started")
            except ValueError as e:
                results.append(str(e))

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(results) == ["expected campaign in draft, got running", "started"]

    # ---- progress -----------------------------------------------------------------------------------------------

    def test_progress_of_an_empty_campaign(self, db: Database) -> None:
        cid = create(db)
        with db.read() as s:
            p = campaigns.progress(s, cid)
        assert p.status is CampaignStatus.DRAFT and p.leads_total == 0 and p.attempts_total == 0
        assert p.leads_by_status == {"queued": 0, "calling": 0, "done": 0, "do_not_call": 0}
        assert (p.grades, p.qualified, p.answered, p.handed_to_person, p.open_attempts) == ({}, 0, 0, 0, 0)
        assert p.attempts_by_disposition == {}

    def test_progress_counts_leads_attempts_grades_and_handoffs(self, db: Database) -> None:
        cid = create(db)
        other = create(db, name="other")  # its rows must not be counted
        add_leads(db, other, 2, grade="A")
        step(db, "start", cid)
        step(db, "start", other)
        ids = add_leads(db, cid, 8)
        with db.transaction() as s:
            for lead_id, grade in zip(ids, ["A", "A", "B", "C", "D", None, None, None], strict=True):
                s.execute(update(Lead).where(Lead.id == lead_id).values(grade=grade))
        # six attempts: answered + handoff in the record, answered + outcome handoff, answered, busy, no_answer,
        # machine (answered by a machine); then two still open (one claimed, one dialing)
        endings: list[tuple[str, bool, dict[str, Any] | None]] = [
            ("answered", True, {"handoff": {"agent": 7, "at_s": 31.5}, "outcome": "booked"}),
            ("answered", True, {"outcome": "handoff"}),
            ("answered", True, {"outcome": "not_interested", "handoff": {}}),
            ("busy", False, None),
            ("no_answer", False, None),
            ("machine", True, {"outcome": "voicemail"}),
        ]
        with db.transaction() as s:
            for disposition, answered, record in endings:
                c = claim_next_attempt(s, cid, "w1", lease_s=30, now=at(1))
                assert c is not None
                mark_dialing(s, c.attempt_id, "w1", now=at(2))
                if record is not None:
                    save_call_record(s, c.attempt_id, **record)
                finish_attempt(
                    s, c.attempt_id, "w1", disposition=disposition, answered_at=at(5) if answered else None, now=at(9)
                )
            c = claim_next_attempt(s, cid, "w1", lease_s=30, now=at(10))
            assert c is not None and mark_dialing(s, c.attempt_id, "w1", now=at(11))
            assert claim_next_attempt(s, cid, "w1", lease_s=30, now=at(10)) is not None
        with db.read() as s:
            p = campaigns.progress(s, cid)
            assert s.scalar(select(CallAttempt.id).where(CallAttempt.campaign_id == other)) is None
        assert p.leads_total == 8
        assert p.leads_by_status == {"queued": 0, "calling": 2, "done": 6, "do_not_call": 0}
        assert p.grades == {"A": 2, "B": 1, "C": 1, "D": 1} and p.qualified == 3
        assert p.attempts_total == 8 and p.open_attempts == 2
        assert p.attempts_by_disposition == {"answered": 3, "busy": 1, "machine": 1, "no_answer": 1}
        assert p.answered == 4
        assert p.handed_to_person == 2
