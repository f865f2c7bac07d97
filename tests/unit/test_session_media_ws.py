"""The console's WebSocket handlers, driven through a fake socket against a fake live session."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import numpy as np
import pytest

from agent_console.media_ws import (
    CLOSE_LAGGED,
    CLOSE_NO_CALL,
    CLOSE_NORMAL,
    CLOSE_NOT_ALLOWED,
    Principal,
    _open,
    decode_frame,
    encode_frame,
    serve_agent,
    serve_events,
    serve_listen,
)
from agent_console.registry import SessionRegistry
from session.agent import AgentChannel
from session.call_session import TakeoverError
from session.events import CallEventStream, EventSubscription, StateEvent, TranscriptEvent
from session.jitter import AgentJitterBuffer
from session.listen import ListenHub, ListenSubscription
from telephony.frames import AudioFrame

pytestmark = pytest.mark.unit


class FakeSocket:
    def __init__(self) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.texts: list[dict[str, Any]] = []
        self.binary: list[bytes] = []
        self.closed: int | None = None
        self.accepted = False

    async def accept(self) -> None:
        self.accepted = True

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_bytes(self, data: bytes) -> None:
        self.binary.append(data)

    async def send_text(self, data: str) -> None:
        self.texts.append(json.loads(data))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = code

    def client_sends(self, data: bytes | str | None) -> None:
        if data is None:
            self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        elif isinstance(data, bytes):
            self.incoming.put_nowait({"type": "websocket.receive", "bytes": data})
        else:
            self.incoming.put_nowait({"type": "websocket.receive", "text": data})


class FakeSession:
    sample_rate_hz = 8000

    def __init__(self) -> None:
        self.hub = ListenHub(8000)
        self.stream = CallEventStream("c1")
        self.channel: AgentChannel | None = None
        self.hand_backs = 0
        self.ended = asyncio.Event()

    @property
    def taken_over(self) -> bool:
        return self.channel is not None

    def request_takeover(self, agent_id: str) -> AgentChannel:
        if self.channel is not None:
            raise TakeoverError("expected no agent on the call, got one")
        self.channel = AgentChannel(agent_id, AgentJitterBuffer())
        return self.channel

    def hand_back(self) -> None:
        assert self.channel is not None
        self.channel.close()
        self.channel = None
        self.hand_backs += 1

    def listen(self, buffer_frames: int | None = None) -> ListenSubscription:
        return self.hub.subscribe(buffer_frames)

    def subscribe_events(self, max_pending: int | None = None) -> EventSubscription:
        return self.stream.subscribe(max_pending)

    async def wait_ended(self) -> None:
        await self.ended.wait()


def frame(value: int, rate: int = 8000) -> AudioFrame:
    return AudioFrame.from_samples(np.full(rate // 50, value, np.int16), rate)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def run_socket(
    serve: Callable[[FakeSocket, FakeSession], Coroutine[Any, Any, None]],
    script: Callable[[FakeSocket, FakeSession], Awaitable[None]],
) -> tuple[FakeSocket, FakeSession]:
    async def main() -> tuple[FakeSocket, FakeSession]:
        ws, session = FakeSocket(), FakeSession()
        server = asyncio.create_task(serve(ws, session))
        await script(ws, session)
        await asyncio.wait_for(server, 2.0)
        return ws, session

    return asyncio.run(main())


def test_frames_are_a_big_endian_seq_then_20_ms_of_pcm() -> None:
    data = encode_frame(7, frame(5))
    assert data[:4] == struct.pack(">I", 7) and len(data) == 324
    assert decode_frame(data) == (7, frame(5).pcm, 8000)
    assert decode_frame(struct.pack(">I", 9) + bytes(640))[2] == 16000
    with pytest.raises(ValueError, match=r"expected a binary frame of \[324, 644\] bytes, got 10"):
        decode_frame(bytes(10))


def test_agent_takes_over_speaks_hears_the_customer_and_hands_back() -> None:
    async def script(ws: FakeSocket, session: FakeSession) -> None:
        ws.client_sends(struct.pack(">I", 1) + bytes(640))  # before the takeover: ignored
        ws.client_sends(json.dumps({"type": "takeover"}))
        await settle()
        assert session.channel is not None
        for seq in (1, 2, 3):
            ws.client_sends(encode_frame(seq, frame(100 * seq, 16000)))
        session.channel.deliver(frame(42))
        await settle()
        assert session.channel.jitter.stats.pushed == 3
        ws.client_sends(b"oops")
        ws.client_sends(json.dumps({"type": "hand_back"}))
        ws.client_sends(None)

    ws, session = run_socket(lambda ws, s: serve_agent(ws, s, "agent-7", "c1"), script)
    assert [t["type"] for t in ws.texts] == ["hello", "state", "error", "state"]
    assert ws.texts[0]["line_rate_hz"] == 8000 and ws.texts[0]["agent_rates_hz"] == [8000, 16000]
    assert [t.get("state") for t in ws.texts if t["type"] == "state"] == ["taken_over", "handed_back"]
    assert ws.texts[2]["error"] == "bad_frame"
    assert [decode_frame(b)[0] for b in ws.binary] == [1] and decode_frame(ws.binary[0])[1] == frame(42).pcm
    assert session.hand_backs == 1


def test_an_agent_who_disconnects_while_holding_the_call_hands_it_back() -> None:
    async def script(ws: FakeSocket, session: FakeSession) -> None:
        ws.client_sends(json.dumps({"type": "takeover"}))
        ws.client_sends(None)

    _, session = run_socket(lambda ws, s: serve_agent(ws, s, "agent-7", "c1"), script)
    assert session.hand_backs == 1 and session.channel is None


def test_a_second_takeover_or_a_bad_message_is_refused_with_an_error() -> None:
    async def script(ws: FakeSocket, session: FakeSession) -> None:
        session.request_takeover("someone-else")
        ws.client_sends(json.dumps({"type": "takeover"}))
        ws.client_sends("not json")
        ws.client_sends(json.dumps({"type": "hand_back"}))
        ws.client_sends(None)

    ws, session = run_socket(lambda ws, s: serve_agent(ws, s, "agent-7", "c1"), script)
    assert [t.get("error") for t in ws.texts[1:]] == ["takeover_refused", "unknown_message", "takeover_refused"]
    assert session.hand_backs == 0


def test_listen_in_streams_the_mix_and_takes_whisper_frames() -> None:
    async def script(ws: FakeSocket, session: FakeSession) -> None:
        await settle()
        for k in range(3):
            session.hub.publish(frame(10 * (k + 1)), frame(1))
        for seq in (1, 2, 3):
            ws.client_sends(encode_frame(seq, frame(500)))
        await settle()
        assert session.hub.whisper_frame() is not None
        ws.client_sends(None)

    ws, session = run_socket(lambda ws, s: serve_listen(ws, s, "c1"), script)
    assert ws.texts[0]["role"] == "listen"
    assert [int(np.frombuffer(decode_frame(b)[1], "<i2")[0]) for b in ws.binary] == [11, 21, 31]
    assert session.hub.subscribers == 0


def test_events_flow_as_json_and_the_socket_closes_when_the_call_ends() -> None:
    async def script(ws: FakeSocket, session: FakeSession) -> None:
        await settle()
        session.stream.publish(StateEvent(0.5, "active", "opening"))
        session.stream.publish(TranscriptEvent(1.0, "customer", "hello", True, 0.4, 1.0))
        session.stream.close()

    ws, _ = run_socket(lambda ws, s: serve_events(ws, s, "c1"), script)
    assert [t["type"] for t in ws.texts] == ["hello", "state", "transcript"]
    assert ws.texts[2]["text"] == "hello" and ws.texts[2]["seq"] == 2
    assert ws.closed == CLOSE_NORMAL


def test_a_lagging_event_reader_is_told_and_closed() -> None:
    async def script(ws: FakeSocket, session: FakeSession) -> None:
        await settle()
        for k in range(300):  # more than the subscription holds, before the handler gets to run
            session.stream.publish(TranscriptEvent(1.0, "customer", f"{k}", True, 0.4, 1.0))

    ws, _ = run_socket(lambda ws, s: serve_events(ws, s, "c1"), script)
    assert ws.texts[-1] == {"type": "lagged"} and ws.closed == CLOSE_LAGGED


def test_unknown_calls_and_refused_principals_are_closed_at_once() -> None:
    async def main() -> tuple[FakeSocket, FakeSocket, object]:
        registry = SessionRegistry()
        session = FakeSession()
        registry.add("c1", session)
        unknown, refused, ok = FakeSocket(), FakeSocket(), FakeSocket()
        assert await _open(unknown, registry, "c2", Principal("a", "agent")) is None
        assert await _open(refused, registry, "c1", None) is None
        found = await _open(ok, registry, "c1", Principal("a", "agent"))
        with pytest.raises(KeyError, match="already live"):
            registry.add("c1", session)
        return unknown, refused, found

    unknown, refused, found = asyncio.run(main())
    assert unknown.closed == CLOSE_NO_CALL and refused.closed == CLOSE_NOT_ALLOWED
    assert found is not None


def test_the_agents_socket_closes_when_the_call_ends() -> None:
    async def script(ws: FakeSocket, session: FakeSession) -> None:
        ws.client_sends(json.dumps({"type": "takeover"}))
        await settle()
        session.ended.set()

    ws, session = run_socket(lambda ws, s: serve_agent(ws, s, "agent-7", "c1"), script)
    assert ws.closed == CLOSE_NORMAL and session.hand_backs == 1
