"""`ServedConsole`: the real console app (`agent_console.app.create_app`) served by uvicorn on 127.0.0.1, in a
thread with its own event loop, over SQLite in a temporary folder, with users, teams and campaigns created
through the storage repos, and live calls that are `ScriptedCall`s.

Live calls, their event streams and the sockets live on the server's loop (as in production): the test thread
reaches them through `on_loop`, which runs a function there and waits for its result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import wave
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import uvicorn

from agent_console.app import create_app
from agent_console.context import Console
from agent_console.settings import ConsoleSettings
from agent_console.summary import CallMeta
from scripts_library.recommend import Recommendation
from scripts_library.schema import Variant
from session.events import SessionEvent
from session.record import TranscriptLine
from storage.models import CallAttempt, Campaign, Lead, Role, TranscriptTurn
from storage.models.base import AttemptState, utcnow
from storage.repos.records import save_call_record
from storage.repos.users import create_team, create_user, set_user_teams
from tests.browser.fake_call import ScriptedCall

T = TypeVar("T")
PASSWORD = "correct horse battery"
USERS = (
    ("admin", Role.ADMIN, ()),
    ("sup", Role.SUPERVISOR, ()),
    ("ann", Role.AGENT, ("red",)),
    ("bob", Role.AGENT, ("blue",)),
)
CAMPAIGNS = (("Solar spring", "red"), ("Home insurance", "blue"))


class FixedRecommender:
    """Stands in for `scripts_library.recommend.Recommender` (no embedding model in this tier): one FAQ entry,
    two answers, whatever the customer said."""

    def recommend(self, text: str, **_: Any) -> list[Recommendation]:
        answers = (
            ("price.v1", "Most people pay twenty to forty a month, depending on the roof."),
            ("price.v2", "It usually pays for itself within six years."),
        )
        return [
            Recommendation(
                answer=Variant(variant_id, answer),
                entry_id="faq.price",
                entry_kind="faq",
                question="Is it expensive?",
                similar_questions=["How much is it?", "What does it cost?"],
                score=0.83,
                reason="matches 'how much is it' (0.83) · 31% conversion over 240 uses",
                script_id="solar-en",
                conversion=0.31,
            )
            for variant_id, answer in answers
        ]


class ServedConsole:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.recordings_dir = root / "recordings"
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        settings = ConsoleSettings(
            database_url=f"sqlite:///{root}/console.db",
            recordings_dir=self.recordings_dir,
            recommender_factory=FixedRecommender,  # type: ignore[arg-type]  # duck-typed: `recommend` only
            argon2_time_cost=1,  # the tests log in often; the hashing strength is tested elsewhere
            argon2_memory_kib=1024,
        )
        self.app = create_app(settings)
        self.console: Console = self.app.state.console
        self.ids = self._seed()
        self.calls: dict[str, ScriptedCall] = {}
        self._metas: dict[str, CallMeta] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle --

    def start(self) -> ServedConsole:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; uvicorn serves this very socket (no race)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # websockets-sansio: uvicorn's default picks websockets.legacy, deprecated (docs/session.md)
        config = uvicorn.Config(self.app, ws="websockets-sansio", log_level="warning", lifespan="on")
        self._server = server = uvicorn.Server(config)
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            ready.set()
            try:
                loop.run_until_complete(server.serve(sockets=[sock]))
            finally:
                loop.close()

        self._thread = threading.Thread(target=serve, name="console-server", daemon=True)
        self._thread.start()
        ready.wait(5)
        for _ in range(500):
            if server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError("the console server did not start")

    def stop(self) -> None:
        if self._loop is not None and self._server is not None and self._thread is not None:
            if self._thread.is_alive():
                for call_id in list(self.calls):
                    self.end_call(call_id)
                self._server.should_exit = True
                self._thread.join(10)

    # -- the loop --

    def on_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run the sync `fn(*args)` on the server's loop and return its result."""

        async def run() -> T:
            return fn(*args)

        return self.wait_on_loop(run())

    def wait_on_loop(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        """Run a coroutine on the server's loop and return its result."""
        return self.spawn_on_loop(coro).result(timeout_s)

    def spawn_on_loop(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the server's loop; its future, to wait on later."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    # -- calls --

    def add_call(
        self,
        call_id: str,
        campaign: str,
        customer: np.ndarray,
        robot: np.ndarray,
        *,
        lead_name: str = "Dana Smith",
        phone: str = "+14155554567",
        assigned: str | None = None,
        started_s_ago: float = 0.0,
    ) -> ScriptedCall:
        team = dict(CAMPAIGNS)[campaign]
        meta = CallMeta(
            call_id,
            campaign_id=self.ids[campaign],
            campaign_name=campaign,
            team_id=self.ids[team],
            assigned_agent_id=self.ids[assigned] if assigned else None,
            lead_phone=phone,
            lead_name=lead_name,
            started_at=utcnow() - timedelta(seconds=started_s_ago),
            script_id="solar-en",
            industry="solar",
        )

        def add() -> ScriptedCall:
            call = ScriptedCall(call_id, customer, robot)
            self.console.live.add(meta, call)
            call.start()
            return call

        call = self.on_loop(add)
        self.calls[call_id], self._metas[call_id] = call, meta
        return call

    def publish(self, call_id: str, *events: SessionEvent) -> None:
        call = self.calls[call_id]
        for event in events:
            self.on_loop(call.publish, event)

    def recommendations(self, call_id: str, customer_text: str) -> list[dict[str, Any]]:
        """Issue recommendations for the customer's line the way the session's hook does (real rec ids)."""
        lines = [TranscriptLine("customer", customer_text, 0.0, 1.0)]
        return self.console.recommendations.for_call(self._metas[call_id], lines)

    def end_call(self, call_id: str) -> None:
        call = self.calls.pop(call_id)

        async def end() -> None:
            await call.aclose()
            self.console.live.remove(call_id)

        self.wait_on_loop(end())

    # -- history --

    def add_history(
        self,
        campaign: str,
        lead_name: str,
        phone: str,
        transcript: Sequence[TranscriptTurn],
        recording: np.ndarray | None,
    ) -> int:
        """A finished call in the database (lead, attempt, record), with a stereo 8 kHz WAV when given."""
        recording_path = None
        if recording is not None:
            recording_path = f"{lead_name.lower().replace(' ', '-')}.wav"
            write_wav(self.recordings_dir / recording_path, np.stack([recording, recording // 2], axis=1), 8000)
        ended = utcnow()
        with self.console.db.transaction() as s:
            lead = Lead(campaign_id=self.ids[campaign], phone_e164=phone, name=lead_name)
            s.add(lead)
            s.flush()
            attempt = CallAttempt(
                lead_id=lead.id,
                campaign_id=self.ids[campaign],
                attempt_no=1,
                state=AttemptState.ENDED,
                started_at=ended - timedelta(seconds=40),
                answered_at=ended - timedelta(seconds=35),
                ended_at=ended,
            )
            s.add(attempt)
            s.flush()
            record = save_call_record(
                s,
                attempt.id,
                transcript=list(transcript),
                recording_path=recording_path,
                outcome="booked",
                grade="A",
                score=81.0,
                signals={"asked_price": 10},
                handoff={},
            )
            return record.id

    # -- seeding --

    def _seed(self) -> dict[str, int]:
        ids: dict[str, int] = {}
        hashed = self.console.passwords.hash(PASSWORD)
        with self.console.db.transaction() as s:
            for team in ("red", "blue"):
                ids[team] = create_team(s, team).id
            for name, role, teams in USERS:
                user = create_user(s, name, hashed, role=role)
                set_user_teams(s, user.id, [ids[t] for t in teams])
                ids[name] = user.id
            for name, team in CAMPAIGNS:
                campaign = Campaign(name=name, script_id="solar-en", language="en", team_id=ids[team])
                s.add(campaign)
                s.flush()
                ids[name] = campaign.id
        return ids


def write_wav(path: Path, samples: np.ndarray, rate_hz: int) -> None:
    """s16 WAV; `samples` is (n,) mono or (n, channels)."""
    data = np.asarray(samples, dtype=np.int16)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(data.astype("<i2").tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(mono int16 samples, rate) of an s16 WAV (channels averaged)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"expected 16-bit samples, got {8 * w.getsampwidth()}-bit in {path}")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        rate, channels = w.getframerate(), w.getnchannels()
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data, rate
