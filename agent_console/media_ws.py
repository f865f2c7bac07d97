"""The console's WebSockets to a live call: the agent's audio (takeover), listen-in, and the event stream.

Routes (`media_router(registry)`; formats in docs/session.md):
- `/ws/calls/{call_id}/agent?agent_id=A`: binary audio both ways, JSON text for control (`takeover`,
  `hand_back`). Audio frame = 4-byte big-endian sequence number + 20 ms of s16le mono PCM: 320 bytes of PCM
  is 8 kHz, 640 bytes 16 kHz (the agent may send either; the agent hears the customer at the line rate). A
  disconnect while holding the call hands it back to the robot.
- `/ws/calls/{call_id}/listen`: the mixed call audio, same binary format, at the line rate; binary frames sent
  by the supervisor are a whisper to the agent only.
- `/ws/calls/{call_id}/events`: one JSON text message per event (`session.events`); a reader that falls too
  far behind gets `{"type": "lagged"}` and the close code 1013.
Every socket starts with a `hello` text message. Close codes: 4401 not authenticated, 4403 not allowed, 4404
no such call, 1000 the call ended, 1013 lagged.

Authentication: `authorize_connection` is the seam, a FastAPI dependency. The agent console
(`agent_console.app.create_app`) overrides it with its cookie check and role rules
(`app.dependency_overrides[authorize_connection] = ...`); it returns a `Principal`, or a `Refusal` (its close
code) or None (4403) to refuse the socket. The default here accepts every connection (the agent's id from the
`agent_id` query parameter): it is for a bare `media_router` in tests and tools, never for a served console.
`SocketHooks` (optional) lets the console audit socket actions and hand a takeover made over REST to the agent's
socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, WebSocket

from agent_console.registry import LiveSession, SessionRegistry
from session.agent import AgentChannel, ChannelClosed
from session.call_session import TakeoverError
from session.events import SubscriberLagged, event_json
from session.listen import ListenSubscription
from telephony.frames import FRAME_MS, SUPPORTED_RATES_HZ, AudioFrame, frame_bytes

log = logging.getLogger(__name__)
Role = Literal["agent", "listen", "events"]
HEADER = struct.Struct(">I")  # the frame's sequence number
RATE_BY_BYTES = {frame_bytes(rate): rate for rate in SUPPORTED_RATES_HZ}
CLOSE_NORMAL, CLOSE_LAGGED, CLOSE_NOT_ALLOWED, CLOSE_NO_CALL = 1000, 1013, 4403, 4404
CLOSE_NOT_AUTHENTICATED = 4401


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is on the other end of a socket, and in which role."""

    id: str
    role: Role
    whisper: bool = True  # a listener's binary frames reach the agent (False: refused with an error message)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a socket is refused: its close code (4401 not authenticated, 4403 not allowed) and a short reason."""

    code: int
    reason: str


class MediaSocket(Protocol):
    """The part of Starlette's WebSocket these handlers use (tests drive them with a fake)."""

    async def accept(self) -> None: ...

    async def receive(self) -> Any: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


def authorize_connection(websocket: WebSocket) -> Principal | Refusal | None:
    """THE authentication seam: the console overrides it; this default accepts every connection.

    Returns who connects and in which role (from the path's last segment); a Refusal or None refuses the socket.
    """
    role: Role = websocket.url.path.rstrip("/").rsplit("/", 1)[-1]  # type: ignore[assignment]  # routes below
    return Principal(websocket.query_params.get("agent_id", "anonymous"), role)


Authorized = Annotated[Principal | Refusal | None, Depends(authorize_connection)]
ActionHook = Callable[[str], None]  # "takeover", "hand_back", "whisper": for the audit log; must not block


class SocketHooks(Protocol):
    """What the console adds to the sockets (all sync, on the event loop, never blocking)."""

    def agent_connected(self, call_id: str, agent_id: str, link: AgentLink) -> AgentChannel | None:
        """An agent socket opened; returns the takeover this agent already holds (made over REST), if any."""
        ...

    def agent_disconnected(self, call_id: str, agent_id: str, link: AgentLink) -> None: ...

    def on_action(self, principal: Principal, call_id: str, action: str) -> None: ...


def media_router(registry: SessionRegistry, hooks: SocketHooks | None = None) -> APIRouter:
    router = APIRouter()

    def action_hook(principal: Principal, call_id: str) -> ActionHook | None:
        return None if hooks is None else lambda action: hooks.on_action(principal, call_id, action)

    @router.websocket("/ws/calls/{call_id}/agent")
    async def agent_socket(websocket: WebSocket, call_id: str, principal: Authorized) -> None:
        if session := await _open(websocket, registry, call_id, principal):
            assert isinstance(principal, Principal)
            on_action = action_hook(principal, call_id)
            await serve_agent(websocket, session, principal.id, call_id, hooks=hooks, on_action=on_action)

    @router.websocket("/ws/calls/{call_id}/listen")
    async def listen_socket(websocket: WebSocket, call_id: str, principal: Authorized) -> None:
        if session := await _open(websocket, registry, call_id, principal):
            assert isinstance(principal, Principal)
            on_action = action_hook(principal, call_id)
            await serve_listen(websocket, session, call_id, whisper=principal.whisper, on_action=on_action)

    @router.websocket("/ws/calls/{call_id}/events")
    async def events_socket(websocket: WebSocket, call_id: str, principal: Authorized) -> None:
        if session := await _open(websocket, registry, call_id, principal):
            await serve_events(websocket, session, call_id)

    return router


async def _open(
    ws: MediaSocket, registry: SessionRegistry, call_id: str, principal: Principal | Refusal | None
) -> LiveSession | None:
    """Accept the socket; close it at once (and return None) when it is not allowed or the call is not live."""
    await ws.accept()
    session = registry.get(call_id)
    if isinstance(principal, Refusal):
        await ws.close(principal.code, principal.reason)
        return None
    if principal is None:
        await ws.close(CLOSE_NOT_ALLOWED, "not allowed")
    elif session is None:
        await ws.close(CLOSE_NO_CALL, "no such call")
    return session if principal is not None else None


def encode_frame(seq: int, frame: AudioFrame) -> bytes:
    return HEADER.pack(seq & 0xFFFFFFFF) + frame.pcm


def decode_frame(data: bytes) -> tuple[int, bytes, int]:
    """(seq, pcm, rate) of a binary audio message; ValueError for a size that is no 20 ms frame."""
    rate = RATE_BY_BYTES.get(len(data) - HEADER.size)
    if rate is None:
        sizes = sorted(HEADER.size + n for n in RATE_BY_BYTES)
        raise ValueError(f"expected a binary frame of {sizes} bytes, got {len(data)}")
    (seq,) = HEADER.unpack_from(data)
    return seq, data[HEADER.size :], rate


def hello(role: Role, call_id: str, session: LiveSession) -> str:
    return json.dumps(
        {
            "type": "hello",
            "role": role,
            "call_id": call_id,
            "line_rate_hz": session.sample_rate_hz,
            "frame_ms": FRAME_MS,
            "frame_header": "u32be seq",
            "agent_rates_hz": list(SUPPORTED_RATES_HZ),
        }
    )


async def _messages(ws: MediaSocket) -> AsyncIterator[tuple[bytes | None, str | None]]:
    """(bytes, text) per message until the client disconnects."""
    while True:
        message = await ws.receive()
        if message.get("type") == "websocket.disconnect":
            return
        yield message.get("bytes"), message.get("text")


async def _send_frames(ws: MediaSocket, frames: AsyncIterator[AudioFrame] | AgentChannel | ListenSubscription) -> None:
    seq = 0
    async for frame in frames:
        seq += 1
        await ws.send_bytes(encode_frame(seq, frame))


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


# -- the agent ----------------------------------------------------------------------------------------------


class AgentLink:
    """One agent socket's state: the takeover it holds, if any, and the task that feeds it the customer."""

    def __init__(
        self, ws: MediaSocket, session: LiveSession, agent_id: str, on_action: ActionHook | None = None
    ) -> None:
        self.ws, self.session, self.agent_id = ws, session, agent_id
        self.channel: AgentChannel | None = None
        self.sender: asyncio.Task[None] | None = None
        self._on_action = on_action

    async def control(self, text: str) -> None:
        try:
            kind = json.loads(text).get("type")
        except (json.JSONDecodeError, AttributeError):
            kind = None
        try:
            if kind == "takeover":
                await self._take_over()
            elif kind == "hand_back":
                await self.hand_back(report=True)
            else:
                await self._error("unknown_message", "expected a JSON object with type takeover or hand_back")
        except TakeoverError as e:
            await self._error("takeover_refused", str(e))

    async def _take_over(self) -> None:
        await self.take_over()
        self._report("takeover")

    async def take_over(self) -> None:
        """Take the call for this socket's agent (also called by the console's REST route while the socket is open)."""
        await self.carry(self.session.request_takeover(self.agent_id))

    async def carry(self, channel: AgentChannel) -> None:
        """Carry a takeover's audio on this socket (one this socket made, or one made over REST)."""
        self.channel = channel
        self.sender = asyncio.create_task(_send_frames(self.ws, channel), name=f"agent-{self.agent_id}-hears")
        await self.ws.send_text(json.dumps({"type": "state", "state": "taken_over"}))

    async def hand_back(self, *, report: bool = False) -> None:
        """Give the call back to the robot; `report`: tell `on_action` (before any wait: this may run cancelled)."""
        if self.channel is None or self.channel.closed:
            raise TakeoverError("expected a takeover held by this socket, got none")
        self.channel = None
        self.session.hand_back()
        if report:
            self._report("hand_back")
        await _stop(self.sender)
        self.sender = None
        with contextlib.suppress(Exception):  # the socket may be gone (hand-back on disconnect)
            await self.ws.send_text(json.dumps({"type": "state", "state": "handed_back"}))

    async def audio(self, data: bytes) -> None:
        try:
            seq, pcm, rate = decode_frame(data)
        except ValueError as e:
            await self._error("bad_frame", str(e))
            return
        if self.channel is None:
            return  # not holding the call (yet, or any more): nothing to play
        with contextlib.suppress(ChannelClosed):  # the call ended under us; the socket closes next
            self.channel.push(seq, pcm, rate)

    def _report(self, action: str) -> None:
        if self._on_action is not None:
            self._on_action(action)

    async def _error(self, code: str, detail: str) -> None:
        await self.ws.send_text(json.dumps({"type": "error", "error": code, "detail": detail}))


async def serve_agent(
    ws: MediaSocket,
    session: LiveSession,
    agent_id: str,
    call_id: str,
    *,
    hooks: SocketHooks | None = None,
    on_action: ActionHook | None = None,
) -> None:
    """The agent's socket (already accepted), until the client disconnects or the call ends."""
    await ws.send_text(hello("agent", call_id, session))
    link = AgentLink(ws, session, agent_id, on_action)
    held = hooks.agent_connected(call_id, agent_id, link) if hooks is not None else None
    if held is not None and not held.closed:
        await link.carry(held)

    async def handle(data: bytes | None, text: str | None) -> None:
        if data is not None:
            await link.audio(data)
        elif text is not None:
            await link.control(text)

    try:
        await _serve_until_ended(ws, session, handle)
    finally:
        if hooks is not None:
            hooks.agent_disconnected(call_id, agent_id, link)
        if link.channel is not None and not link.channel.closed:
            log.info("agent socket closed while holding call %s: handing back", call_id)
            await link.hand_back(report=True)
        await _stop(link.sender)


async def _serve_until_ended(
    ws: MediaSocket, session: LiveSession, handle: Callable[[bytes | None, str | None], Awaitable[None]]
) -> None:
    """Hand every client message to `handle` until the client disconnects, or the call ends (close 1000)."""

    async def read() -> None:
        async for data, text in _messages(ws):
            await handle(data, text)

    reader = asyncio.create_task(read(), name="socket-reader")
    ended = asyncio.create_task(session.wait_ended(), name="socket-call-ended")
    try:
        await asyncio.wait([reader, ended], return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            with contextlib.suppress(Exception):  # the client may be gone already
                await ws.close(CLOSE_NORMAL, "call ended")
    error = None if reader.cancelled() else reader.exception()
    if error is not None:
        raise error


# -- listen-in and events ---------------------------------------------------------------------------------------


async def serve_listen(
    ws: MediaSocket, session: LiveSession, call_id: str, *, whisper: bool = True, on_action: ActionHook | None = None
) -> None:
    """A supervisor's socket: the mixed call audio out, whisper frames in (when `whisper` is allowed)."""
    await ws.send_text(hello("listen", call_id, session))
    sub = session.listen()
    sender = asyncio.create_task(_send_frames(ws, sub), name=f"listen-{call_id}")
    whispered = refused = False

    async def on_frame(data: bytes | None, _: str | None) -> None:
        nonlocal whispered, refused
        if data is None:
            return
        if not whisper:
            if not refused:  # once: the client streams 50 frames a second
                await ws.send_text(
                    json.dumps({"type": "error", "error": "whisper_not_allowed", "detail": "listen only"})
                )
            refused = True
            return
        try:
            sub.whisper(*decode_frame(data))
        except ValueError as e:
            await ws.send_text(json.dumps({"type": "error", "error": "bad_frame", "detail": str(e)}))
            return
        if not whispered and on_action is not None:
            on_action("whisper")
        whispered = True

    try:
        await _serve_until_ended(ws, session, on_frame)
    finally:
        sub.close()
        await _stop(sender)


async def serve_events(ws: MediaSocket, session: LiveSession, call_id: str) -> None:
    """The call's event stream as JSON text, until the call ends (close 1000) or the reader lags (1013)."""
    await ws.send_text(hello("events", call_id, session))
    sub = session.subscribe_events()
    reader = asyncio.create_task(_drain_until_disconnect(ws, sub.close), name=f"events-{call_id}-reader")
    code = CLOSE_NORMAL
    try:
        async for seq, event in sub:
            await ws.send_text(json.dumps(event_json(event, seq)))
    except SubscriberLagged:
        code = CLOSE_LAGGED
        await ws.send_text(json.dumps({"type": "lagged"}))
    finally:
        sub.close()
        await _stop(reader)
    with contextlib.suppress(Exception):  # the client may have gone first
        await ws.close(code)


async def _drain_until_disconnect(ws: MediaSocket, on_disconnect: Any) -> None:
    async for _ in _messages(ws):
        pass  # the event socket takes no input
    on_disconnect()
