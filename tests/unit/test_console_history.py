"""Call history (search, transcript, recording), campaigns, teams and scripts, OpenAPI, and the console CLI."""

from __future__ import annotations

import json
import wave
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agent_console.cli import app as console_cli
from storage import Database
from storage.models import AttemptState, CallAttempt, Lead, User
from storage.models.base import utcnow
from storage.repos.records import save_call_record
from storage.repos.users import user_team_ids
from tests.unit.test_console_support import World, console_world

pytestmark = pytest.mark.unit


def add_record(
    world: World, campaign: str, name: str, phone: str, lines: list[tuple[str, str]], grade: str, recording: str | None
) -> int:
    now = utcnow()
    with world.console.db.transaction() as s:
        lead = Lead(campaign_id=world.ids[campaign], phone_e164=phone, name=name)
        s.add(lead)
        s.flush()
        attempt = CallAttempt(
            lead_id=lead.id,
            campaign_id=world.ids[campaign],
            attempt_no=1,
            state=AttemptState.ENDED,
            started_at=now - timedelta(seconds=95),
            answered_at=now - timedelta(seconds=90),
            ended_at=now,
        )
        s.add(attempt)
        s.flush()
        turns = [
            {"speaker": who, "start_s": float(i), "end_s": float(i) + 0.5, "text": text}
            for i, (who, text) in enumerate(lines)
        ]
        record = save_call_record(
            s, attempt.id, transcript=turns, outcome="booked", grade=grade, score=80.0, recording_path=recording
        )
        return record.id


def seed_history(world: World) -> tuple[int, int]:
    red = add_record(
        world,
        "red-campaign",
        "Dana Smith",
        "+14155554567",
        [("robot", "Hello, about your solar panels."), ("customer", "价格太贵了 <b>no</b>")],
        "A",
        "c-red.wav",
    )
    blue = add_record(world, "blue-campaign", "Evan Blue", "+442071230000", [("customer", "not now")], "C", None)
    return red, blue


def test_history_search_by_name_number_and_transcript_within_what_the_role_may_see(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        red, blue = seed_history(world)
        sup = world.as_user("sup")

        def ids(query: str) -> list[int]:
            response = sup.get(f"/api/history{query}")
            assert response.status_code == 200, response.text
            return [item["id"] for item in response.json()["items"]]

        assert sorted(ids("")) == sorted([red, blue])
        assert ids("?q=dana") == [red]
        assert ids("?q=4567") == [red]
        assert ids("?q=%2B1%20***%20***%204567") == [red]  # the masked number as the board shows it
        assert ids("?q=SOLAR") == [red]
        assert ids("?q=价格太贵") == [red]  # non-ASCII transcript text (SQLite stores JSON escaped)
        assert ids("?q=not%20now") == [blue]
        assert ids("?q=100%25") == []  # LIKE wildcards are literal
        assert ids("?grade=C") == [blue]
        assert ids(f"?campaign={world.ids['red-campaign']}") == [red]
        page = sup.get("/api/history?page=2&page_size=1").json()
        assert (page["total"], page["page"], len(page["items"])) == (2, 2, 1)

        item = sup.get("/api/history?q=dana").json()["items"][0]
        assert item["phone"] == "+1 *** *** 4567" and item["lead_name"] == "Dana Smith"
        assert item["duration_s"] == 90.0 and item["has_recording"] is True
        full = sup.get(f"/api/history/{red}").json()
        assert full["transcript"][1] == {
            "speaker": "customer",
            "start_s": 1.0,
            "end_s": 1.5,
            "text": "价格太贵了 <b>no</b>",
        }
        assert full["recording_url"] == f"/api/history/{red}/recording"

        ann = world.as_user("ann")  # red team
        assert [i["id"] for i in ann.get("/api/history").json()["items"]] == [red]
        assert ann.get("/api/history?q=not%20now").json()["total"] == 0
        assert ann.get(f"/api/history/{blue}").status_code == 404
        assert ann.get(f"/api/history/{blue}/recording").status_code == 404
        assert world.as_user(None).get("/api/history").status_code == 401


def test_recordings_are_served_as_wav_from_the_recordings_directory_only(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        red, _ = seed_history(world)
        folder = world.console.settings.recordings_dir
        folder.mkdir(parents=True)
        with wave.open(str(folder / "c-red.wav"), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(bytes(3200))
        ann = world.as_user("ann")
        response = ann.get(f"/api/history/{red}/recording")
        assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
        assert response.content == (folder / "c-red.wav").read_bytes()
        partial = ann.get(f"/api/history/{red}/recording", headers={"Range": "bytes=0-43"})
        assert partial.status_code == 206 and len(partial.content) == 44

        (tmp_path / "secret.wav").write_bytes(b"RIFF")
        with world.console.db.transaction() as s:
            attempt_id = s.scalar(select(CallAttempt.id).join(Lead).where(Lead.name == "Dana Smith"))
            assert attempt_id is not None
            save_call_record(s, attempt_id, recording_path="../secret.wav")
        assert ann.get(f"/api/history/{red}/recording").status_code == 404


def test_campaigns_teams_and_scripts_for_each_role(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        admin = world.as_user("admin")
        created = admin.post(
            "/api/campaigns",
            json={
                "name": "Spring",
                "script_id": "insurance-en",
                "team_id": world.ids["red"],
                "caller_id": "+14155550100",
            },
        )
        assert created.status_code == 201 and created.json()["campaign"]["status"] == "draft"
        assert admin.post("/api/campaigns", json={"name": "x", "script_id": "no-such-script"}).status_code == 422
        assert (
            admin.post("/api/campaigns", json={"name": "x", "script_id": "insurance-en", "team_id": 99}).status_code
            == 422
        )
        assert admin.post("/api/teams", json={"name": "red"}).status_code == 409

        ann = world.as_user("ann")
        assert [c["name"] for c in ann.get("/api/campaigns").json()["campaigns"]] == ["red-campaign", "Spring"]
        assert [t["name"] for t in ann.get("/api/teams").json()["teams"]] == ["red"]
        assert ann.get("/api/scripts").status_code == 403
        assert ann.post("/api/campaigns", json={"name": "x", "script_id": "insurance-en"}).status_code == 403
        sup = world.as_user("sup")
        scripts = {s["id"]: s for s in sup.get("/api/scripts").json()["scripts"]}
        assert scripts["insurance-en"]["language"] == "en" and scripts["insurance-en"]["nodes"] > 0
        teams = {t["name"]: t for t in sup.get("/api/teams").json()["teams"]}
        assert teams["blue"]["member_ids"] == [world.ids["bob"]]
        entries = sup.get("/api/audit?limit=5").json()["entries"]
        assert any(e["action"] == "campaign_changed" for e in entries)


def test_openapi_lists_every_rest_route(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        spec = world.client.get("/openapi.json").json()
        expected = {
            ("post", "/api/login"),
            ("post", "/api/logout"),
            ("get", "/api/me"),
            ("get", "/api/calls"),
            ("get", "/api/calls/{call_id}"),
            ("post", "/api/calls/{call_id}/takeover"),
            ("post", "/api/calls/{call_id}/hand-back"),
            ("post", "/api/calls/{call_id}/hangup"),
            ("post", "/api/calls/{call_id}/outcome"),
            ("post", "/api/recommendations/{rec_id}/used"),
            ("get", "/api/history"),
            ("get", "/api/history/{record_id}"),
            ("get", "/api/history/{record_id}/recording"),
            ("get", "/api/users"),
            ("post", "/api/users"),
            ("patch", "/api/users/{user_id}"),
            ("delete", "/api/users/{user_id}"),
            ("post", "/api/users/{user_id}/password"),
            ("get", "/api/teams"),
            ("post", "/api/teams"),
            ("get", "/api/campaigns"),
            ("post", "/api/campaigns"),
            ("get", "/api/scripts"),
            ("get", "/api/audit"),
        }
        listed = {(method, path) for path, item in spec["paths"].items() for method in item}
        assert expected <= listed, expected - listed
        docs = world.client.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_the_cli_creates_users_with_teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("CC_TEST_PASSWORD", "a long password")
    runner = CliRunner()
    args = ["create-user", "root", "--role", "admin", "--team", "night", "--team", "day", "--db-url", url]
    result = runner.invoke(console_cli, [*args, "--password-env", "CC_TEST_PASSWORD"])
    assert result.exit_code == 0, result.output
    user = json.loads(result.output)
    assert user["role"] == "admin" and sorted(t["name"] for t in user["teams"]) == ["day", "night"]
    again = runner.invoke(console_cli, [*args, "--password-env", "CC_TEST_PASSWORD"])
    assert again.exit_code == 1 and "taken" in again.output
    db = Database(url)
    with db.read() as s:
        stored = s.scalar(select(User).where(User.username == "root"))
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert len(user_team_ids(s, stored.id)) == 2
    db.dispose()
