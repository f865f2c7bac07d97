"""The console's campaign routes: create, edit, lifecycle, progress, who may do what, team visibility; an agent's
availability for handoffs; the Prometheus endpoint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import select, update

from dialer.desk import HandoffDesk
from storage.models import AttemptState, AuditEntry, CallAttempt, Campaign, Lead, LeadStatus
from storage.models.base import utcnow
from storage.repos.records import save_call_record
from tests.unit.test_console_support import World, console_world

pytestmark = pytest.mark.unit

WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
SPEC: dict[str, Any] = {
    "name": "  Spring solar  ",
    "script_id": "insurance-en",
    "caller_id": "+12125550100",
    "max_concurrent_calls": 8,
    "calls_per_second": 2.5,
    "calling_windows": {**WEEKDAYS, "sat": [], "sun": []},
    "retry_policy": {"busy": {"times": 2, "after_s": 900}},
    "max_attempts": 5,
    "dialogue_settings": {"agent_name": "Mei", "handoff_wait_s": 45.0},
}


def create(world: World, **changes: Any) -> dict[str, Any]:
    body = SPEC | {"team_id": world.ids["red"]} | changes
    response = world.as_user("sup").post("/api/campaigns", json=body)
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()["campaign"]
    return campaign


def test_create_read_and_edit_a_campaign(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        created = create(world)
        assert created["name"] == "Spring solar" and created["status"] == "draft"
        assert created["language"] == "en"  # the script's, when the form leaves it out
        assert created["calling_windows"]["sat"] == [] and created["retry_policy"]["busy"]["times"] == 2
        assert created["dialogue_settings"] == {"agent_name": "Mei", "handoff_wait_s": 45.0}
        cid = created["id"]

        sup = world.as_user("sup")
        read = sup.get(f"/api/campaigns/{cid}").json()
        assert read["campaign"] == created
        assert read["progress"]["funnel"] == {"dialed": 0, "answered": 0, "qualified": 0, "handed_to_person": 0}

        edited = sup.put(f"/api/campaigns/{cid}", json=SPEC | {"name": "Summer", "max_attempts": 2, "team_id": None})
        assert edited.status_code == 200, edited.text
        assert (edited.json()["campaign"]["name"], edited.json()["campaign"]["max_attempts"]) == ("Summer", 2)
        assert sup.get(f"/api/campaigns/{cid}").json()["campaign"]["team_id"] is None
        assert sup.put("/api/campaigns/999", json=SPEC).status_code == 404


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"script_id": "no-such-script"}, "script_id: no script 'no-such-script'"),
        ({"language": "zh"}, "language: expected 'en' (the script's), got 'zh'"),
        ({"caller_id": "+15551234567"}, "caller_id: expected a valid E.164 number"),
        ({"max_concurrent_calls": 0}, "max_concurrent_calls: expected an integer 1..1000, got 0"),
        ({"calling_windows": {"mon": []}}, "calling_windows: missing days"),
        ({"team_id": 999}, "team_id: no team 999"),
        ({"dialogue_settings": {"voice": "x"}}, "dialogue_settings: unknown ['voice']"),
    ],
)
def test_invalid_settings_are_422_with_the_validation_message(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with console_world(tmp_path) as world:
        sup = world.as_user("sup")
        response = sup.post("/api/campaigns", json=SPEC | changes)
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_campaign" and response.json()["detail"].startswith(message)
        cid = create(world)["id"]
        assert sup.put(f"/api/campaigns/{cid}", json=SPEC | changes).status_code == 422
        assert len(sup.get("/api/campaigns").json()["campaigns"]) == 3  # the two seeded and the valid one


def test_unknown_fields_and_wrong_types_are_refused_by_the_schema(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        sup = world.as_user("sup")
        assert sup.post("/api/campaigns", json=SPEC | {"status": "running"}).status_code == 422
        assert sup.post("/api/campaigns", json=SPEC | {"calling_windows": "always"}).status_code == 422
        assert sup.post("/api/campaigns", json={"name": "no script"}).status_code == 422


def test_the_lifecycle_and_its_illegal_steps(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        cid = create(world)["id"]
        sup = world.as_user("sup")

        def step(name: str) -> tuple[int, str]:
            response = sup.post(f"/api/campaigns/{cid}/{name}")
            body = response.json()
            return response.status_code, body["campaign"]["status"] if response.status_code == 200 else body["error"]

        assert step("pause") == (409, "wrong_status")
        assert step("start") == (200, "running")
        refused = sup.put(f"/api/campaigns/{cid}", json=SPEC)
        assert refused.status_code == 409
        assert refused.json()["detail"] == "expected campaign in draft or paused, got running"
        assert step("start") == (409, "wrong_status")
        assert step("pause") == (200, "paused")
        assert sup.put(f"/api/campaigns/{cid}", json=SPEC | {"max_attempts": 4}).status_code == 200
        assert step("resume") == (200, "running")
        assert step("stop") == (200, "stopped")
        assert step("resume") == (409, "wrong_status")
        assert sup.put(f"/api/campaigns/{cid}", json=SPEC).status_code == 409
        assert sup.post("/api/campaigns/999/start").status_code == 404
        steps = [
            e["details"]["step"]
            for e in sup.get("/api/audit?limit=20").json()["entries"]
            if e["action"] == "campaign_changed" and e["details"].get("campaign_id") == cid
        ]
        assert steps == ["stop", "resume", "update", "pause", "start", "create"]


def test_start_checks_the_stored_settings_again(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        # seeded directly, as an older version might have stored it: no such script in the library now
        cid = world.ids["red-campaign"]
        with world.console.db.transaction() as s:
            s.execute(update(Campaign).where(Campaign.id == cid).values(script_id="retired-script"))
        response = world.as_user("admin").post(f"/api/campaigns/{cid}/start")
        assert response.status_code == 422 and response.json()["error"] == "invalid_campaign"


def test_agents_may_look_but_not_change(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        cid = create(world)["id"]
        ann = world.as_user("ann")
        assert ann.post("/api/campaigns", json=SPEC).status_code == 403
        assert ann.put(f"/api/campaigns/{cid}", json=SPEC).status_code == 403
        for name in ("start", "pause", "resume", "stop"):
            assert ann.post(f"/api/campaigns/{cid}/{name}").status_code == 403
        assert ann.get("/api/scripts").status_code == 403
        assert ann.get(f"/api/campaigns/{cid}").status_code == 200

        sup = world.as_user("sup")
        del sup.headers["X-CSRF-Token"]
        refused = sup.post(f"/api/campaigns/{cid}/start")
        assert refused.status_code == 403 and refused.json()["error"] == "csrf_missing"
        sup.headers["X-CSRF-Token"] = "forged"
        assert sup.post("/api/campaigns", json=SPEC).json()["error"] == "csrf_invalid"

        anonymous = world.as_user(None)
        for response in (
            anonymous.get("/api/campaigns"),
            anonymous.get(f"/api/campaigns/{cid}/progress"),
            anonymous.post("/api/campaigns", json=SPEC),
            anonymous.post(f"/api/campaigns/{cid}/start"),
        ):
            assert response.status_code == 401
        assert world.as_user("sup").get(f"/api/campaigns/{cid}").json()["campaign"]["status"] == "draft"


def test_agents_see_only_their_teams_campaigns(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        red, blue = world.ids["red-campaign"], world.ids["blue-campaign"]
        ann, bob, sup = world.as_user("ann"), world.as_user("bob"), world.as_user("sup")
        assert [c["id"] for c in ann.get("/api/campaigns").json()["campaigns"]] == [red]
        assert [c["id"] for c in bob.get("/api/campaigns").json()["campaigns"]] == [blue]
        assert [c["id"] for c in sup.get("/api/campaigns").json()["campaigns"]] == [red, blue]
        assert ann.get(f"/api/campaigns/{blue}").status_code == 404
        assert ann.get(f"/api/campaigns/{blue}/progress").status_code == 404
        assert ann.get(f"/api/campaigns/{red}/progress").status_code == 200
        assert sup.get("/api/campaigns/999/progress").status_code == 404


def seed_progress(world: World, campaign_id: int) -> None:
    """Six leads: two graded A/B, one C; four attempts, three ended (two answered), one handed to a person."""
    now = utcnow()
    with world.console.db.transaction() as s:
        statuses = [LeadStatus.DONE] * 3 + [LeadStatus.QUEUED, LeadStatus.CALLING, LeadStatus.DO_NOT_CALL]
        grades = ["A", "B", "C", None, None, None]
        leads = [
            Lead(campaign_id=campaign_id, phone_e164=f"+1415555{i:04d}", status=st, grade=g)
            for i, (st, g) in enumerate(zip(statuses, grades, strict=True))
        ]
        s.add_all(leads)
        s.flush()
        ended = [("answered", True), ("answered", True), ("busy", False)]
        attempts = [
            CallAttempt(
                lead_id=leads[i].id,
                campaign_id=campaign_id,
                attempt_no=1,
                state=AttemptState.ENDED,
                disposition=disposition,
                started_at=now - timedelta(seconds=60),
                answered_at=now - timedelta(seconds=50) if answered else None,
                ended_at=now,
            )
            for i, (disposition, answered) in enumerate(ended)
        ]
        attempts.append(CallAttempt(lead_id=leads[4].id, campaign_id=campaign_id, attempt_no=1))
        s.add_all(attempts)
        s.flush()
        save_call_record(s, attempts[0].id, outcome="booked", grade="A", handoff={"agent": "ann", "wait_s": 4.0})
        save_call_record(s, attempts[1].id, outcome="callback", grade="B")


def test_progress_gives_the_funnel_and_its_breakdowns(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        red = world.ids["red-campaign"]
        seed_progress(world, red)
        ann = world.as_user("ann")
        progress = ann.get(f"/api/campaigns/{red}/progress").json()
        assert progress["funnel"] == {"dialed": 4, "answered": 2, "qualified": 2, "handed_to_person": 1}
        assert progress["grades"] == {"A": 1, "B": 1, "C": 1}
        assert progress["dispositions"] == {"answered": 2, "busy": 1}
        assert progress["leads_by_status"] == {"queued": 1, "calling": 1, "done": 3, "do_not_call": 1}
        assert (progress["leads_total"], progress["open_attempts"], progress["status"]) == (6, 1, "draft")
        assert ann.get(f"/api/campaigns/{red}").json()["progress"] == progress

        listed = {c["id"]: c["progress"] for c in world.as_user("sup").get("/api/campaigns").json()["campaigns"]}
        assert listed[red] == {
            "leads_total": 6,
            "leads_by_status": {"queued": 1, "calling": 1, "done": 3, "do_not_call": 1},
            "done_pct": 66.7,
        }
        assert listed[world.ids["blue-campaign"]]["leads_total"] == 0


def test_scripts_for_the_create_form(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        scripts = {s["id"]: s for s in world.as_user("sup").get("/api/scripts").json()["scripts"]}
        assert scripts["insurance-zh"]["language"] == "zh" and scripts["insurance-en"]["title"]
        assert list(scripts) == sorted(scripts)


class FakeDesk:
    """The part of `dialer.desk.HandoffDesk` the console uses."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}

    def agent_available(self, agent_id: str) -> None:
        self.states[agent_id] = "available"

    def agent_offline(self, agent_id: str) -> None:
        self.states[agent_id] = "offline"

    def roster_state(self, agent_id: str) -> str | None:
        return self.states.get(agent_id)


@pytest.mark.parametrize("desk_type", [FakeDesk, HandoffDesk])
def test_agents_tell_the_desk_when_they_take_handoffs(tmp_path: Path, desk_type: type[Any]) -> None:
    desk = desk_type()
    with console_world(tmp_path, desk=desk) as world:
        ann = world.as_user("ann")
        assert ann.get("/api/me/availability").json() == {"dialer": True, "available": False, "state": None}
        on = ann.post("/api/me/availability", json={"available": True})
        assert on.status_code == 200 and on.json() == {"dialer": True, "available": True, "state": "available"}
        assert desk.roster_state("ann") == "available"  # by username: the name takeovers report to the desk
        assert world.as_user("bob").get("/api/me/availability").json()["available"] is False
        off = ann.post("/api/me/availability", json={"available": False})
        assert off.json() == {"dialer": True, "available": False, "state": "offline"}
        assert ann.post("/api/me/availability", json={"available": "maybe"}).status_code == 422
        assert world.as_user(None).get("/api/me/availability").status_code == 401
        del ann.headers["X-CSRF-Token"]
        assert ann.post("/api/me/availability", json={"available": True}).status_code == 403
        assert desk.roster_state("ann") == "offline"


def test_availability_without_a_dialer_in_the_process(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        ann = world.as_user("ann")
        assert ann.get("/api/me/availability").json() == {"dialer": False, "available": False, "state": None}
        refused = ann.post("/api/me/availability", json={"available": True})
        assert refused.status_code == 409 and refused.json() == {
            "error": "no_dialer",
            "detail": "no dialer in this process",
        }


def test_metrics_are_served_without_login_when_a_registry_is_given(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    calls = Counter("callcenter_test_calls", "calls placed", ["disposition"], registry=registry)
    calls.labels("answered").inc(3)
    (tmp_path / "with").mkdir()
    with console_world(tmp_path / "with", metrics_registry=registry) as world:
        response = world.as_user(None).get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        assert 'callcenter_test_calls_total{disposition="answered"} 3.0' in response.text
        assert "/metrics" not in world.client.get("/openapi.json").json()["paths"]
    (tmp_path / "without").mkdir()
    with console_world(tmp_path / "without") as world:
        assert world.as_user(None).get("/metrics").status_code == 404


def test_no_phone_number_reaches_the_audit_log(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        cid = create(world)["id"]
        world.as_user("sup").post(f"/api/campaigns/{cid}/start")
        with world.console.db.read() as s:
            details = [str(e.details) for e in s.scalars(select(AuditEntry))]
        assert details and not any("2125550100" in d for d in details)


def test_latency_is_a_histogram_of_the_campaigns_voice_to_voice_times(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        red, blue = world.ids["red-campaign"], world.ids["blue-campaign"]
        with world.console.db.transaction() as s:
            for i, (campaign_id, timings) in enumerate(
                (
                    (red, {"voice_to_voice_ms": [420.0, 480.5, 610.0]}),
                    (red, {"voice_to_voice_ms": [455.0, 9000.0], "greeting_ms": 300.0}),
                    (red, {"talk_s": 12.0}),  # a record without the measure
                    (blue, {"voice_to_voice_ms": [50.0]}),  # another campaign's
                )
            ):
                lead = Lead(campaign_id=campaign_id, phone_e164=f"+1415555{i:04d}")
                s.add(lead)
                s.flush()
                attempt = CallAttempt(lead_id=lead.id, campaign_id=campaign_id, attempt_no=1)
                s.add(attempt)
                s.flush()
                save_call_record(s, attempt.id, timings=timings)
        latency = world.as_user("ann").get(f"/api/campaigns/{red}/latency").json()
        bins = latency["bins"]
        assert (latency["bin_ms"], latency["n"], len(bins)) == (100, 5, 50)
        assert [(b["lo_ms"], b["count"]) for b in bins if b["count"]] == [(400, 3), (600, 1), (4900, 1)]
        assert bins[0] == {"lo_ms": 0, "hi_ms": 100, "count": 0} and bins[-1]["hi_ms"] is None
        assert (latency["p50_ms"], latency["p95_ms"]) == (480.5, 9000.0)
        assert world.as_user("bob").get(f"/api/campaigns/{red}/latency").status_code == 404  # another team's
        assert world.as_user("sup").get(f"/api/campaigns/{blue + 100}/latency").status_code == 404


def test_latency_of_a_campaign_without_calls_is_empty(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        latency = world.as_user("sup").get(f"/api/campaigns/{world.ids['red-campaign']}/latency").json()
        assert latency == {"bin_ms": 100, "bins": [], "n": 0, "p50_ms": None, "p95_ms": None}
