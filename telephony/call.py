"""A call as the main process sees it: events, inbound frames, a bounded playout buffer, DTMF, hang-up.

All methods run on the event loop. `send`, `flush_playout`, `send_dtmf` only set state and queue a
message (sync); the `wait_*` coroutines and `recv` are where a caller may block.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from telephony import ipc
from telephony.dispositions import CallOutcome, Disposition, HangupBy, classify, hangup_by
from telephony.frames import AudioFrame, frame_bytes
from telephony.recording import StereoRecorder

EventKind = Literal["calling", "trying", "ringing", "early_media", "answered", "dtmf", "ended"]


class CallEnded(Exception):
    """Raised by `recv` once the call has ended and every received frame was consumed."""


@dataclass(frozen=True, slots=True)
class CallEvent:
    kind: EventKind
    t_s: float  # time.monotonic()
    sip_status: int = 0
    digit: str = ""


@dataclass(frozen=True, slots=True)
class CallResult:
    disposition: Disposition
    sip_status: int
    reason: str
    hangup_by: HangupBy
    answered: bool
    duration_s: float  # answer to end; 0 when unanswered
    setup_s: float  # dial to answer (or to end when unanswered)
    media: dict[str, int] = field(default_factory=dict)  # RTP and jitter-buffer counters, sampled every 0.1 s
    codec: str = ""  # negotiated audio codec, e.g. "PCMU/8000", "G722/16000"; empty without media


class WorkerLink(Protocol):
    """What a call needs from the worker that carries it."""

    def send_audio(self, msg: bytes) -> None: ...
    def send_control(self, obj: dict[str, Any]) -> None: ...


class Call:
    def __init__(
        self,
        call_id: int,
        link: WorkerLink,
        sample_rate_hz: int,
        *,
        recv_queue_frames: int,
        high_water_frames: int,
        record_path: Path | None = None,
        on_end: Callable[[Call], None] | None = None,
    ) -> None:
        self.call_id = call_id
        self.sample_rate_hz = sample_rate_hz
        self._link = link
        self._high_water = high_water_frames
        self._on_end = on_end
        self._rx: deque[AudioFrame] = deque(maxlen=recv_queue_frames)  # full: oldest dropped
        self._rx_ready = asyncio.Event()
        self._tx_progress = asyncio.Event()
        self._events: asyncio.Queue[CallEvent] = asyncio.Queue()  # control: never dropped (a few per call)
        loop = asyncio.get_running_loop()
        self._answered: asyncio.Future[bool] = loop.create_future()
        self._ended: asyncio.Future[CallResult] = loop.create_future()
        self._tx_seq = 0
        self._tx_depth = 0
        self._tx_received = 0
        self._recorder = StereoRecorder(record_path, sample_rate_hz) if record_path else None
        self._pending_tx: dict[int, bytes] = {}  # sent but not yet played; kept only when recording
        self.rx_dropped = 0
        self.rx_frames = 0

    # -- audio -------------------------------------------------------------------------------------

    async def recv(self) -> AudioFrame:
        """The next 20 ms of what the far end sent (silence where nothing arrived)."""
        while not self._rx:
            if self._ended.done():
                raise CallEnded(self.call_id)
            self._rx_ready.clear()
            await self._rx_ready.wait()
        return self._rx.popleft()

    def discard_received(self) -> int:
        """Drop every received frame not yet consumed (e.g. audio that queued up before a consumer started)."""
        dropped = len(self._rx)
        self._rx.clear()
        return dropped

    def send(self, frame: AudioFrame) -> int:
        """Queue one frame for playout; returns its sequence number. Never blocks: see `wait_writable`."""
        if frame.sample_rate_hz != self.sample_rate_hz:
            raise ValueError(f"expected {self.sample_rate_hz} Hz frames, got {frame.sample_rate_hz}")
        if self._ended.done():
            raise CallEnded(self.call_id)
        self._tx_seq += 1
        if self._recorder is not None:
            self._pending_tx[self._tx_seq] = frame.pcm
        self._link.send_audio(ipc.encode_tx(self.call_id, self._tx_seq, frame.pcm))
        return self._tx_seq

    @property
    def buffered_frames(self) -> int:
        """Frames queued for playout and not yet on the wire (as of the worker's last report)."""
        return self._tx_depth + (self._tx_seq - self._tx_received)

    async def wait_writable(self, max_buffered_frames: int | None = None) -> None:
        """Wait until the playout buffer holds fewer than `max_buffered_frames` (default: high water)."""
        limit = self._high_water if max_buffered_frames is None else max_buffered_frames
        while self.buffered_frames >= limit and not self._ended.done():
            self._tx_progress.clear()
            await self._tx_progress.wait()

    async def wait_played(self) -> None:
        """Wait until everything sent so far has gone out on the wire."""
        await self.wait_writable(1)

    def flush_playout(self) -> int:
        """Drop every queued outbound frame at once (barge-in, takeover). Returns how many were queued."""
        queued = self.buffered_frames
        self._link.send_control({"op": "flush", "call_id": self.call_id})
        self._tx_depth, self._tx_received = 0, self._tx_seq
        self._pending_tx.clear()
        return queued

    # -- control -----------------------------------------------------------------------------------

    def send_dtmf(self, digits: str) -> None:
        if any(d not in "0123456789*#ABCD" for d in digits.upper()):
            raise ValueError(f"expected DTMF digits 0-9 * # A-D, got {digits!r}")
        self._link.send_control({"op": "dtmf", "call_id": self.call_id, "digits": digits.upper()})

    async def hangup(self, timeout_s: float = 10.0) -> CallResult:
        if not self._ended.done():
            self._link.send_control({"op": "hangup", "call_id": self.call_id})
        return await self.wait_ended(timeout_s)

    async def wait_answered(self) -> bool:
        """True once answered; False if the call ended without an answer."""
        return await asyncio.shield(self._answered)

    async def wait_ended(self, timeout_s: float | None = None) -> CallResult:
        return await asyncio.wait_for(asyncio.shield(self._ended), timeout_s)

    @property
    def result(self) -> CallResult | None:
        return self._ended.result() if self._ended.done() else None

    async def events(self) -> AsyncIterator[CallEvent]:
        """Every event in order, ending with `ended`. One consumer per call."""
        while True:
            event = await self._events.get()
            yield event
            if event.kind == "ended":
                return

    # -- fed by the worker link (event loop thread) ------------------------------------------------

    def on_tick(self, tick: ipc.RxTick) -> None:
        pcm = tick.pcm or bytes(frame_bytes(self.sample_rate_hz))
        if len(self._rx) == self._rx.maxlen:
            self.rx_dropped += 1
        self._rx.append(AudioFrame(pcm, self.sample_rate_hz, tick.seq, tick.timestamp_s))
        self.rx_frames += 1
        self._rx_ready.set()
        self._tx_depth, self._tx_received = tick.tx_depth, tick.tx_received
        self._tx_progress.set()
        if self._recorder is not None:
            self._record(pcm, tick.played_seq)

    def _record(self, rx_pcm: bytes, played_seq: int) -> None:
        tx_pcm = self._pending_tx.pop(played_seq, None) if played_seq else None
        while self._pending_tx and next(iter(self._pending_tx)) < played_seq:
            self._pending_tx.pop(next(iter(self._pending_tx)))  # overwritten in the worker's full buffer
        assert self._recorder is not None
        self._recorder.write(rx_pcm, tx_pcm)

    def on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("ev")
        now = time.monotonic()
        if kind == "state":
            self._events.put_nowait(CallEvent(ev["state"], now, int(ev.get("sip_status", 0))))
            if ev["state"] == "answered" and not self._answered.done():
                self._answered.set_result(True)
        elif kind == "dtmf":
            self._events.put_nowait(CallEvent("dtmf", now, digit=str(ev["digit"])))
        elif kind == "ended":
            self.finish(self._result_from(ev))

    @staticmethod
    def _result_from(ev: dict[str, Any]) -> CallResult:
        outcome = CallOutcome(
            answered=bool(ev["answered"]),
            sip_status=int(ev["sip_status"]),
            local_cause=ev.get("local_cause"),
            remote_responded=bool(ev["remote_responded"]),
        )
        return CallResult(
            disposition=classify(outcome),
            sip_status=outcome.sip_status,
            reason=str(ev.get("reason") or ""),
            hangup_by=hangup_by(outcome),
            answered=outcome.answered,
            duration_s=float(ev.get("duration_s", 0.0)),
            setup_s=float(ev.get("setup_s", 0.0)),
            media={str(k): int(v) for k, v in (ev.get("media") or {}).items()},
            codec=str(ev.get("codec") or ""),
        )

    def finish(self, result: CallResult) -> None:
        """End the call exactly once: wake every waiter, close the recording, release the slot."""
        if self._ended.done():
            return
        self._ended.set_result(result)
        if not self._answered.done():
            self._answered.set_result(False)
        self._events.put_nowait(CallEvent("ended", time.monotonic(), result.sip_status))
        self._rx_ready.set()
        self._tx_progress.set()
        if self._recorder is not None:
            self._recorder.close()
        self._pending_tx.clear()
        if self._on_end is not None:
            self._on_end(self)
