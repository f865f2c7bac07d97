"""Shared helpers for the console tests (no tests here): a seeded console on SQLite in tmp_path, clients logged in
as each role, and a fake live session that publishes scripted events.

Every client shares the first client's event loop (its anyio portal): live calls, their event streams and the
sockets must all live on one loop, as they do in the served app.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.websockets import WebSocketDisconnect

with warnings.catch_warnings():
    # starlette 0.50's test client names anyio.abc.BlockingPortal, an alias anyio 4.16 deprecates (a warning,
    # which the suite turns into an error, raised at import); nothing of ours uses it
    warnings.filterwarnings("ignore", "The anyio.abc.BlockingPortal alias is deprecated", DeprecationWarning)
    from fastapi.testclient import TestClient
    from starlette.testclient import WebSocketTestSession

from agent_console.app import create_app
from agent_console.context import Console
from agent_console.settings import ConsoleSettings
from agent_console.summary import CallMeta
from session.agent import AgentChannel
from session.call_session import TakeoverError
from session.events import CallEventStream, EndedEvent, EventSubscription, SessionEvent, StateEvent
from session.jitter import AgentJitterBuffer
from session.listen import ListenHub, ListenSubscription
from storage.models import Campaign, Role
from storage.repos.users import create_team, create_user, set_user_teams

__all__ = [
    "ANN_PHONE",
    "FAST_HASHING",
    "PASSWORD",
    "FakeSession",
    "WebSocketTestSession",
    "World",
    "console_world",
    "login",
    "refused_with",
]

PASSWORD = "correct horse battery"
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}
ANN_PHONE = "+14155554567"


class FakeSession:
    """A live call without SIP: `publish` scripted events; takeovers and listen-in like the real session."""

    sample_rate_hz = 8000

    def __init__(self, call_id: str) -> None:
        self.stream = CallEventStream(call_id)
        self.hub = ListenHub(8000)
        self.channel: AgentChannel | None = None
        self.ended_event = asyncio.Event()
        self.end_requests = 0
        self.hand_backs = 0

    @property
    def taken_over(self) -> bool:
        return self.channel is not None

    def request_takeover(self, agent_id: str) -> AgentChannel:
        if self.channel is not None:
            raise TakeoverError(f"expected no agent on the call, got {self.channel.agent_id}")
        self.channel = AgentChannel(agent_id, AgentJitterBuffer())
        return self.channel

    def hand_back(self) -> None:
        if self.channel is None:
            raise TakeoverError("expected an agent on the call, got none")
        self.channel.close()
        self.channel = None
        self.hand_backs += 1

    def listen(self, buffer_frames: int | None = None) -> ListenSubscription:
        return self.hub.subscribe(buffer_frames)

    def subscribe_events(self, max_pending: int | None = None) -> EventSubscription:
        return self.stream.subscribe(max_pending)

    async def wait_ended(self) -> None:
        await self.ended_event.wait()

    def end(self) -> None:
        self.end_requests += 1

    def publish(self, event: SessionEvent) -> int:
        return self.stream.publish(event)

    def finish(self, outcome: str = "hangup") -> None:
        self.stream.publish(StateEvent(9.0, "ended"))
        self.stream.publish(EndedEvent(9.0, outcome, "customer"))
        self.stream.close()
        self.listen_close()
        self.ended_event.set()

    def listen_close(self) -> None:
        self.hub.close()


@dataclass
class World:
    app: FastAPI
    client: TestClient
    console: Console
    ids: dict[str, int] = field(default_factory=dict)  # usernames, team names and campaign names → ids
    sessions: dict[str, FakeSession] = field(default_factory=dict)

    def as_user(self, username: str | None) -> TestClient:
        """A client of its own (its own cookies) on the shared loop, logged in as `username` (None: anonymous)."""
        client = TestClient(self.app)
        client.portal = self.client.portal
        if username is not None:
            login(client, username)
        return client

    def on_loop(self, fn: Any, *args: Any) -> Any:
        assert self.client.portal is not None
        return self.client.portal.call(fn, *args)

    def add_call(self, call_id: str, campaign: str, *, assigned: str | None = None, **meta: Any) -> FakeSession:
        session = FakeSession(call_id)
        team = "red" if campaign == "red-campaign" else "blue"
        info = CallMeta(
            call_id,
            campaign_id=self.ids[campaign],
            campaign_name=campaign,
            team_id=self.ids[team],
            assigned_agent_id=self.ids[assigned] if assigned else None,
            lead_phone=meta.pop("lead_phone", ANN_PHONE),
            lead_name=meta.pop("lead_name", "Dana Smith"),
            **meta,
        )
        self.on_loop(self.console.live.add, info, session)
        self.sessions[call_id] = session
        return session

    def publish(self, call_id: str, *events: SessionEvent) -> None:
        for event in events:
            self.on_loop(self.sessions[call_id].publish, event)
        self.settle()

    def settle(self) -> None:
        """Let the loop run the board's followers."""

        async def spin() -> None:
            for _ in range(20):
                await asyncio.sleep(0)

        self.on_loop(spin)


def seed(console: Console) -> dict[str, int]:
    ids: dict[str, int] = {}
    hashed = console.passwords.hash(PASSWORD)
    with console.db.transaction() as s:
        for team in ("red", "blue"):
            ids[team] = create_team(s, team).id
        for name, role, teams in (
            ("admin", Role.ADMIN, []),
            ("sup", Role.SUPERVISOR, []),
            ("ann", Role.AGENT, ["red"]),
            ("bob", Role.AGENT, ["blue"]),
        ):
            user = create_user(s, name, hashed, role=role)
            set_user_teams(s, user.id, [ids[t] for t in teams])
            ids[name] = user.id
        for name, team in (("red-campaign", "red"), ("blue-campaign", "blue")):
            campaign = Campaign(name=name, script_id="insurance-en", language="en", team_id=ids[team])
            s.add(campaign)
            s.flush()
            ids[name] = campaign.id
    return ids


@contextmanager
def console_world(tmp_path: Path, **overrides: Any) -> Iterator[World]:
    static = tmp_path / "static"
    static.mkdir(exist_ok=True)
    (static / "index.html").write_text(
        '<!doctype html><title>console</title><script type="module" src="app.js"></script>'
    )
    (static / "app.js").write_text("export const ok = true;\n")
    settings = ConsoleSettings(
        database_url=f"sqlite:///{tmp_path}/console.db",
        static_dir=static,
        recordings_dir=tmp_path / "recordings",
        **(FAST_HASHING | overrides),
    )
    app = create_app(settings)
    console: Console = app.state.console
    ids = seed(console)
    with TestClient(app) as client:
        yield World(app, client, console, ids)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in; sets the CSRF header on the client for later changes; returns the token."""
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token


def refused_with(client: TestClient, path: str) -> int:
    """The close code a socket gets right after it is accepted (it must be refused)."""
    with client.websocket_connect(path) as ws:
        try:
            message = ws.receive_json()
        except WebSocketDisconnect as e:
            return e.code
    raise AssertionError(f"expected the socket to be refused, got {message}")
