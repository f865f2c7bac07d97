"""The per-call streaming recognizer: 20 ms frames in, speech events and text out.

    rec = StreamingRecognizer(pool)            # on the event loop thread
    rec.push_frame(frame)                      # sync, cheap: resampling + Silero VAD (≈0.1 ms per 32 ms)
    async for event in rec: ...                # SpeechStarted, Partial, Final, Dropped
    rec.end_input(); await rec.aclose()

Only VAD-endpointed speech (plus a short pre-roll and tail) is sent to the shared pool: Whisper never sees
silence. Speculative decoding: when a pause begins the utterance is submitted at SPECULATIVE priority; if the
endpoint follows with no new speech the same job is promoted to FINAL and its text kept, if speech resumes it is
cancelled (or its result ignored).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from asr.audio import MODEL_RATE_HZ, Float32Array, FrameConverter
from asr.buffer import AudioBuffer
from asr.events import Dropped, Final, Partial, RecognizerEvent, SpeechStarted
from asr.pool import InferencePool, Job, PoolFull, Priority
from asr.transcriber import Transcript, Utterance
from asr.vad import CHUNK_SAMPLES, EndpointConfig, Endpointer, SileroScorer, VadEnd, VadEvent, VadPause, VadStart
from telephony.frames import AudioFrame

log = logging.getLogger(__name__)


class Scorer(Protocol):
    def score(self, chunk: Float32Array) -> float: ...


@dataclass(frozen=True, slots=True)
class RecognizerConfig:
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    pre_roll_ms: int = 200  # audio kept before the onset
    tail_ms: int = 64  # audio kept after the end of speech (≤ endpoint.pause_ms, so speculation sees the same)
    speculative: bool = True
    partials: bool = False  # each partial pays a full Whisper pass: off by default
    partial_interval_ms: int = 1000
    max_pending_events: int = 64  # unread events beyond this: the oldest non-final one is dropped (consumer stalled)

    def __post_init__(self) -> None:
        if self.tail_ms > self.endpoint.pause_ms:
            raise ValueError(f"expected tail_ms <= endpoint.pause_ms, got {self.tail_ms} > {self.endpoint.pause_ms}")


def _samples(s: float) -> int:
    return round(s * MODEL_RATE_HZ)


@dataclass(eq=False)
class _Utt:
    """Bookkeeping of one utterance in progress."""

    uid: int
    onset_s: float
    audio_from: int  # absolute sample index where its audio starts (pre-roll included)
    speculative: Job | None = None
    speculative_end_s: float = -1.0
    partial: Job | None = None
    next_partial_at: int = 0


class StreamingRecognizer:
    def __init__(
        self, pool: InferencePool, scorer: Scorer | None = None, config: RecognizerConfig | None = None
    ) -> None:
        self.config = config or RecognizerConfig()
        self._pool = pool
        self._loop = asyncio.get_running_loop()
        self._scorer: Scorer = scorer if scorer is not None else SileroScorer()
        self._endpointer = Endpointer(self.config.endpoint)
        self._converter = FrameConverter()
        self._buffer = AudioBuffer()
        self._vad_pending = np.zeros(0, dtype=np.float32)
        self._vad_pos = 0  # absolute sample index of the next chunk to score
        self._utt: _Utt | None = None
        self._next_uid = 0
        self._finals_waiting: dict[int, RecognizerEvent | None] = {}  # uid -> result (None: not yet back)
        self._next_final = 0
        self._events: collections.deque[RecognizerEvent] = collections.deque()
        self._wake = asyncio.Event()
        self._input_ended = False
        self._closed = False
        self.dropped_events = 0

    # -- input (event loop thread) --

    def push_frame(self, frame: AudioFrame) -> None:
        if self._input_ended:
            raise RuntimeError("expected frames before end_input(), got one after")
        x = self._converter.convert(frame)
        self._buffer.append(x)
        self._vad_pending = np.concatenate([self._vad_pending, x])
        while len(self._vad_pending) >= CHUNK_SAMPLES:
            chunk, self._vad_pending = self._vad_pending[:CHUNK_SAMPLES], self._vad_pending[CHUNK_SAMPLES:]
            self._vad_pos += CHUNK_SAMPLES
            for event in self._endpointer.push(self._scorer.score(chunk)):
                self._on_vad(event)
        self._maybe_partial()
        self._trim()

    def flush(self) -> None:
        """End the current utterance now and transcribe it (e.g. the dialogue knows the turn is over)."""
        for event in self._endpointer.flush():
            self._on_vad(event)

    def end_input(self) -> None:
        """No more audio: finish the utterance in progress; iteration ends after its final."""
        if not self._input_ended:
            self.flush()
            self._input_ended = True
            self._wake.set()

    async def aclose(self) -> None:
        """Stop: cancel outstanding jobs; iteration ends at once."""
        self._closed = True
        if self._utt is not None:
            self._cancel(self._utt.speculative)
            self._cancel(self._utt.partial)
        self._wake.set()

    # -- output --

    def __aiter__(self) -> StreamingRecognizer:
        return self

    async def __anext__(self) -> RecognizerEvent:
        while True:
            if self._events:
                return self._events.popleft()
            if self._closed or (self._input_ended and not self._finals_waiting):
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    def _emit(self, event: RecognizerEvent) -> None:
        if self._closed:
            return
        if isinstance(event, Partial) and self._events and isinstance(self._events[-1], Partial):
            self._events.pop()  # partials: latest only
        self._events.append(event)
        if len(self._events) > self.config.max_pending_events:
            self._drop_least_valuable()
        self._wake.set()

    def _drop_least_valuable(self) -> None:
        """The consumer stalled: lose the oldest partial or onset first, a final transcript only as a last resort."""
        victim = next((e for e in self._events if not isinstance(e, Final)), self._events[0])
        self._events.remove(victim)
        self.dropped_events += 1
        log.warning("asr event queue overflow; oldest event dropped", extra={"dropped": self.dropped_events})

    # -- endpointer events --

    def _on_vad(self, event: VadEvent) -> None:
        if isinstance(event, VadStart):
            self._start_utterance(event.onset_s, pre_roll=True)
            self._emit(SpeechStarted(event.onset_s, event.detected_s))
        elif isinstance(event, VadPause):
            self._speculate(event.silence_start_s)
        elif isinstance(event, VadEnd):
            self._finish_utterance(event)
        elif self._utt is not None:  # VadResume: the speculative text is stale
            self._cancel(self._utt.speculative)
            self._utt.speculative = None

    def _start_utterance(self, onset_s: float, pre_roll: bool) -> None:
        pre_s = self.config.pre_roll_ms / 1000 if pre_roll else 0.0
        start = max(_samples(onset_s - pre_s), self._buffer.start)
        interval = _samples(self.config.partial_interval_ms / 1000)
        self._utt = _Utt(self._next_uid, onset_s, start, next_partial_at=start + interval)
        self._next_uid += 1

    def _utterance(self, utt: _Utt, end_s: float) -> Utterance:
        end = _samples(end_s + self.config.tail_ms / 1000)
        return Utterance(self._buffer.slice(utt.audio_from, end), utt.onset_s, end_s)

    def _speculate(self, silence_start_s: float) -> None:
        utt = self._utt
        if utt is None or not self.config.speculative:
            return
        self._cancel(utt.speculative)
        utt.speculative = self._pool.submit(self._utterance(utt, silence_start_s), Priority.SPECULATIVE)
        utt.speculative_end_s = silence_start_s

    def _finish_utterance(self, event: VadEnd) -> None:
        utt = self._utt
        if utt is None:
            raise RuntimeError("expected an utterance in progress at its end, got none")
        self._cancel(utt.partial)
        job, reused = utt.speculative, True
        if job is None or utt.speculative_end_s != event.end_s or not _usable(job):
            self._cancel(job)
            job, reused = self._pool.submit(self._utterance(utt, event.end_s), Priority.FINAL), False
        else:
            job.promote(Priority.FINAL)
        self._finals_waiting[utt.uid] = None
        uid, start_s, end_s = utt.uid, utt.onset_s, event.end_s
        job.future.add_done_callback(lambda f: self._post(self._on_final, uid, start_s, end_s, reused, f))
        self._utt = None
        if event.cut:
            self._start_utterance(event.end_s, pre_roll=False)

    # -- pool results (back on the event loop thread) --

    def _post(self, fn: Callable[..., None], *args: object) -> None:
        """Called from a pool thread: hand the result to the event loop (unless the call is gone)."""
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass  # the loop is closed: the call is over and nobody waits for this result

    def _on_final(self, uid: int, start_s: float, end_s: float, reused: bool, fut: Future[Transcript]) -> None:
        self._finals_waiting[uid] = _final_event(fut, start_s, end_s, reused)
        while self._finals_waiting.get(self._next_final) is not None:
            event = self._finals_waiting.pop(self._next_final)
            self._next_final += 1
            if event is not None:
                self._emit(event)
        self._wake.set()

    def _maybe_partial(self) -> None:
        utt = self._utt
        if utt is None or not self.config.partials or utt.partial is not None:
            return
        if self._buffer.end < utt.next_partial_at:
            return
        audio = self._buffer.slice(utt.audio_from, self._buffer.end)
        job = self._pool.submit(Utterance(audio, utt.onset_s, self._buffer.end / MODEL_RATE_HZ), Priority.PARTIAL)
        utt.partial = job
        job.future.add_done_callback(lambda f: self._post(self._on_partial, utt, f))

    def _on_partial(self, utt: _Utt, fut: Future[Transcript]) -> None:
        if utt is not self._utt:
            return  # the utterance has ended: its final supersedes this partial
        utt.partial = None
        utt.next_partial_at = self._buffer.end + _samples(self.config.partial_interval_ms / 1000)
        if not fut.cancelled() and fut.exception() is None and fut.result().text:
            self._emit(Partial(fut.result().text, utt.onset_s))

    def _trim(self) -> None:
        if self._utt is not None:
            self._buffer.trim_before(self._utt.audio_from)
            return
        keep_s = (self.config.pre_roll_ms + self.config.endpoint.start_ms) / 1000 + 0.1
        self._buffer.trim_before(self._vad_pos - _samples(keep_s))

    @staticmethod
    def _cancel(job: Job | None) -> None:
        if job is not None:
            job.cancel()


def _usable(job: Job) -> bool:
    """A speculative job that may still become the final: not cancelled, not failed."""
    f = job.future
    return not f.cancelled() and (not f.done() or f.exception() is None)


def _final_event(fut: Future[Transcript], start_s: float, end_s: float, reused: bool) -> RecognizerEvent:
    try:
        t = fut.result()
    except PoolFull:
        log.warning("asr final dropped: pool full")
        return Dropped(start_s, end_s, "pool_full")
    except CancelledError:
        return Dropped(start_s, end_s, "cancelled")
    except Exception:
        log.exception("asr transcription failed")
        return Dropped(start_s, end_s, "error")
    return Final(t.text, start_s, end_s, t.confidence, t.language, speculative=reused)
