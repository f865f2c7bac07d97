"""Live calls in the console: the board (REST and socket), role rules over REST and WebSocket, masking, call
control and its audit trail, and transcript text returned as data. Fake sessions publish scripted events."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from agent_console.policy import mask_phone
from session.events import HandoffEvent, ScoreEvent, SpeakingEvent, StateEvent, TranscriptEvent
from storage.models import AuditEntry
from telephony.frames import AudioFrame
from tests.unit.test_console_support import ANN_PHONE, WebSocketTestSession, World, console_world, refused_with

pytestmark = pytest.mark.unit
FAST_BOARD = {"board_ping_s": 0.2}


def board_until(ws: WebSocketTestSession, done: Callable[[dict[str, Any]], bool], limit: int = 50) -> dict[str, Any]:
    """Board messages until one satisfies `done` (pings keep an idle board from blocking)."""
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        if done(message):
            return message
    raise AssertionError("the board never sent the expected message")


def three_calls(world: World) -> None:
    world.add_call("c-red", "red-campaign")
    world.add_call("c-blue", "blue-campaign")
    world.add_call("c-mine", "blue-campaign", assigned="ann")  # another team's campaign, assigned to ann


def audit_actions(world: World) -> list[tuple[str, int | None, str | None]]:
    world.console.auditor.flush()
    with world.console.db.read() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(e.action, e.user_id, e.call_id) for e in rows if e.action not in ("login", "logout")]


def test_the_board_sends_a_snapshot_then_changes_from_the_calls_events(tmp_path: Path) -> None:
    with console_world(tmp_path, **FAST_BOARD) as world:
        world.add_call("c1", "red-campaign")
        sup = world.as_user("sup")
        with sup.websocket_connect("/ws/board") as ws:
            snapshot = ws.receive_json()
            assert snapshot["type"] == "snapshot"
            (call,) = snapshot["calls"]
            assert call["call_id"] == "c1" and call["state"] == "starting" and call["hears"] == "silent"
            assert snapshot["counts"]["total"] == 1 and snapshot["counts"]["starting"] == 1

            world.publish("c1", StateEvent(0.1, "active"), SpeakingEvent(0.1, "robot"))
            message = board_until(ws, lambda m: m["type"] == "call" and m["call"]["hears"] == "robot")
            assert message["call"]["state"] == "active" and message["counts"]["active"] == 1

            world.publish("c1", ScoreEvent(3.0, 62, "B", "warm"), HandoffEvent(3.5, "requested", "customer_asked"))
            message = board_until(ws, lambda m: m["type"] == "call" and m["call"]["handoff_requested"])
            assert (message["call"]["score"], message["call"]["grade"]) == (62, "B")
            assert message["counts"]["handoff_requested"] == 1

            world.publish("c1", HandoffEvent(5.0, "accepted", agent_id="sup"), SpeakingEvent(5.0, "agent"))
            message = board_until(ws, lambda m: m["type"] == "call" and m["call"]["hears"] == "human")
            assert message["call"]["controller"] == "human" and message["call"]["agent"] == "sup"
            assert not message["call"]["handoff_requested"]

            world.on_loop(world.sessions["c1"].finish)
            message = board_until(ws, lambda m: m["type"] == "removed")
            assert message == {"type": "removed", "call_id": "c1", "counts": message["counts"]}
            assert message["counts"]["total"] == 0
        listed = sup.get("/api/calls").json()
        assert listed["calls"] == [] and listed["counts"]["total"] == 0


def test_agents_see_and_control_only_their_teams_calls_and_calls_assigned_to_them(tmp_path: Path) -> None:
    with console_world(tmp_path, **FAST_BOARD) as world:
        three_calls(world)
        ann = world.as_user("ann")
        listed = ann.get("/api/calls").json()
        assert [c["call_id"] for c in listed["calls"]] == ["c-red", "c-mine"]
        assert listed["counts"]["total"] == 2
        assert ann.get("/api/calls/c-red").status_code == 200
        assert ann.get("/api/calls/c-mine").status_code == 200
        for method, path in (
            ("GET", "/api/calls/c-blue"),
            ("POST", "/api/calls/c-blue/takeover"),
            ("POST", "/api/calls/c-blue/hand-back"),
            ("POST", "/api/calls/c-blue/hangup"),
        ):
            response = ann.request(method, path)
            assert (response.status_code, response.json()["error"]) == (403, "forbidden"), path
        outcome = ann.post("/api/calls/c-blue/outcome", json={"outcome": "booked"})
        assert outcome.status_code == 403
        assert world.sessions["c-blue"].channel is None and world.sessions["c-blue"].end_requests == 0
        for role in ("events", "listen", "agent"):
            assert refused_with(ann, f"/ws/calls/c-blue/{role}") == 4403
        assert ann.get("/api/calls/nope").status_code == 404
        assert refused_with(ann, "/ws/calls/nope/events") == 4404

        with ann.websocket_connect("/ws/board") as ws:
            snapshot = ws.receive_json()
            assert [c["call_id"] for c in snapshot["calls"]] == ["c-red", "c-mine"]
            world.publish("c-blue", StateEvent(1.0, "active"))  # not ann's: never sent to her
            world.publish("c-red", StateEvent(1.0, "active"))
            message = board_until(ws, lambda m: m["type"] != "ping")
            assert message["call"]["call_id"] == "c-red"

        sup = world.as_user("sup")
        assert [c["call_id"] for c in sup.get("/api/calls").json()["calls"]] == ["c-red", "c-blue", "c-mine"]
        assert sup.post("/api/calls/c-blue/takeover").status_code == 200
        assert world.sessions["c-blue"].channel is not None
        with sup.websocket_connect("/ws/calls/c-blue/listen") as ws:
            assert ws.receive_json()["type"] == "hello"
        with sup.websocket_connect("/ws/calls/c-blue/events") as ws:
            assert ws.receive_json()["type"] == "hello"


def test_unauthenticated_or_foreign_sockets_are_refused(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        world.add_call("c1", "red-campaign")
        anonymous = world.as_user(None)
        for path in ("/ws/board", "/ws/calls/c1/events", "/ws/calls/c1/listen", "/ws/calls/c1/agent"):
            assert refused_with(anonymous, path) == 4401, path
        anonymous.cookies.set("cc_session", "forged")
        assert refused_with(anonymous, "/ws/board") == 4401
        sup = world.as_user("sup")
        sup.headers["Origin"] = "https://evil.example"
        assert refused_with(sup, "/ws/board") == 4403
        assert refused_with(sup, "/ws/calls/c1/events") == 4403


def test_numbers_are_masked_unless_the_viewer_is_the_assigned_agent(tmp_path: Path) -> None:
    assert mask_phone("+14155554567") == "+1 *** *** 4567"
    assert mask_phone("+442071234567") == "+44 *** *** 4567"
    assert mask_phone("+8613812345678") == "+86 *** *** 5678"
    assert mask_phone("+35312345678") == "+353 *** *** 5678"
    assert mask_phone(None) is None and mask_phone("4155554567") == "***"
    with console_world(tmp_path) as world:
        world.add_call("c-mine", "blue-campaign", assigned="ann")
        seen = {user: world.as_user(user).get("/api/calls/c-mine").json()["call"] for user in ("ann", "bob", "sup")}
        assert (seen["ann"]["phone"], seen["ann"]["phone_masked"]) == (ANN_PHONE, False)
        for user in ("bob", "sup"):
            assert (seen[user]["phone"], seen[user]["phone_masked"]) == ("+1 *** *** 4567", True)
        assert ANN_PHONE not in world.as_user("sup").get("/api/calls").text


def test_transcript_text_is_data_and_pages_carry_a_strict_content_security_policy(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with console_world(tmp_path) as world:
        world.add_call("c1", "red-campaign")
        world.publish("c1", TranscriptEvent(1.0, "customer", hostile, True, 0.2, 0.9))
        ann = world.as_user("ann")
        response = ann.get("/api/calls/c1")
        assert response.headers["content-type"] == "application/json"
        assert response.json()["transcript"] == [
            {"speaker": "customer", "text": hostile, "start_s": 0.2, "end_s": 0.9, "cut": False}
        ]
        with ann.websocket_connect("/ws/calls/c1/events") as ws:
            assert ws.receive_json()["type"] == "hello"
            world.publish("c1", TranscriptEvent(2.0, "robot", hostile, False, 1.5))
            event = ws.receive_json()
            assert (event["type"], event["text"], event["final"]) == ("transcript", hostile, False)

        page = ann.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        module = ann.get("/app.js")
        assert module.headers["content-type"].startswith("text/javascript")
        assert "unsafe-inline" not in module.headers["content-security-policy"]
        assert ann.get("/api/me").headers["cache-control"] == "no-store"


def frame_message(seq: int, rate: int = 16000, value: int = 1000) -> bytes:
    return struct.pack(">I", seq) + np.full(rate // 50, value, np.int16).tobytes()


def test_takeover_over_rest_is_carried_by_the_agents_socket_and_everything_is_audited(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        session = world.add_call("c1", "red-campaign", lead_id=None)
        ann = world.as_user("ann")
        assert ann.post("/api/calls/c1/takeover").status_code == 200
        assert session.channel is not None and session.channel.agent_id == "ann"
        again = ann.post("/api/calls/c1/takeover")
        assert (again.status_code, again.json()["error"]) == (409, "takeover_refused")
        channel = session.channel
        with ann.websocket_connect("/ws/calls/c1/agent") as ws:
            assert ws.receive_json()["type"] == "hello"
            assert ws.receive_json() == {"type": "state", "state": "taken_over"}  # the REST takeover, carried
            for seq in range(1, 6):
                ws.send_bytes(frame_message(seq))
            world.settle()
            world.on_loop(channel.deliver, AudioFrame.from_samples(np.full(160, 7, np.int16), 8000))
            heard = ws.receive_bytes()
            assert struct.unpack(">I", heard[:4])[0] == 1 and len(heard) == 4 + 320
            assert channel.jitter.depth_ms > 0  # the agent's voice reached the call's jitter buffer
        world.settle()
        assert session.channel is None and session.hand_backs == 1  # the socket closed holding it: handed back

        with ann.websocket_connect("/ws/calls/c1/agent") as ws:  # socket first, then the REST takeover
            assert ws.receive_json()["type"] == "hello"
            assert ann.post("/api/calls/c1/takeover").status_code == 200
            assert ws.receive_json() == {"type": "state", "state": "taken_over"}
            assert ann.post("/api/calls/c1/hand-back").status_code == 200
            assert ws.receive_json() == {"type": "state", "state": "handed_back"}
        nobody = ann.post("/api/calls/c1/hand-back")
        assert nobody.status_code == 409

        assert ann.post("/api/calls/c1/hangup").status_code == 202 and session.end_requests == 1
        bad = ann.post("/api/calls/c1/outcome", json={"outcome": "<b>booked</b>"})
        assert bad.status_code == 422
        set_ = ann.post("/api/calls/c1/outcome", json={"outcome": "booked", "note": "call back Tuesday"})
        assert set_.json()["call"]["outcome"] == "booked"
        assert world.console.live.get("c1").agent_note == "call back Tuesday"  # type: ignore[union-attr]
        with world.as_user("sup").websocket_connect("/ws/calls/c1/listen") as ws:
            assert ws.receive_json()["type"] == "hello"

        ann_id, sup_id = world.ids["ann"], world.ids["sup"]
        assert audit_actions(world) == [
            ("takeover", ann_id, "c1"),
            ("hand_back", ann_id, "c1"),  # the socket's, on close
            ("takeover", ann_id, "c1"),
            ("hand_back", ann_id, "c1"),
            ("hang_up", ann_id, "c1"),
            ("set_outcome", ann_id, "c1"),
            ("listen", sup_id, "c1"),
        ]
        with world.console.db.read() as s:
            details = s.scalars(select(AuditEntry.details).where(AuditEntry.action == "set_outcome")).one()
        assert details == {"outcome": "booked", "note": True}  # the note's text stays out of the audit log


def test_an_agent_listener_cannot_whisper_a_supervisor_can(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        world.add_call("c1", "red-campaign")
        with world.as_user("ann").websocket_connect("/ws/calls/c1/listen") as ws:
            assert ws.receive_json()["type"] == "hello"
            ws.send_bytes(frame_message(1))
            assert ws.receive_json()["error"] == "whisper_not_allowed"
        assert world.as_user("ann").get("/api/calls/c1").json()["can_whisper"] is False
        with world.as_user("sup").websocket_connect("/ws/calls/c1/listen") as ws:
            assert ws.receive_json()["type"] == "hello"
            ws.send_bytes(frame_message(1))
        assert ("whisper", world.ids["sup"], "c1") in audit_actions(world)
