"""One answered-or-ringing call of the simulator: ring, answer, the 20 ms audio loop, the timeline.

The loop runs on an absolute clock: tick n is due at `t_media + n * 20 ms`, it reads whatever arrived, runs the
VAD and the turn-taking, and tops the transmit buffer up to `LEAD_FRAMES` frames ahead. If the loop was held
up for longer than the lead, the missed slots are skipped (baresip already sent silence for them) instead of
being queued late, so the delay never builds up; they are counted in `late_frames`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import baresip
import numpy as np

from telephony.frames import FRAME_MS, frame_bytes
from telephony.simulator.audio import WavRecorder, beep, load_wav, render_text, to_frames, trim
from telephony.simulator.persona import Persona, Utterance
from telephony.simulator.timeline import HEARD_FILE, SAID_FILE, CallTimeline, call_dir_name
from telephony.simulator.turns import (
    Conversation,
    EnergyVad,
    HangupPolicy,
    TimelineEvent,
    TurnPlan,
    VoiceActivity,
    frame_dbfs,
)

log = logging.getLogger(__name__)

FRAME_S = FRAME_MS / 1000
LEAD_FRAMES = 2  # transmit buffer kept 40-60 ms ahead: covers event-loop jitter, adds that much delay
RX_READ_MAX_FRAMES = 50  # at most 1 s of received audio per tick; the native ring holds the rest
MEDIA_READY_TIMEOUT_S = 5.0
HANGUP_TIMEOUT_S = 2.0
RING_POLL_S = 0.1  # a ringing call notices a shutdown this fast
MEDIA_LOST_GRACE_S = 1.0  # how long a call without media may wait for its CALL_CLOSED
HEARD_ALIGN_SLACK_FRAMES = 2  # heard.wav is padded with silence only when it falls this far behind
VOICEMAIL_GREETING_GAP_MS = (300, 300)
VOICEMAIL_BEEP_GAP_MS = (200, 200)


@dataclass(frozen=True, slots=True)
class CallScript:
    """A persona made playable: rendered frames per turn and the turn-taking plan."""

    persona: Persona
    frames: list[list[bytes]]
    turns: list[TurnPlan]
    hangup: HangupPolicy
    outcome: str  # what an answered call of this persona is recorded as


def build_script(persona: Persona, rate_hz: int, cache_dir: Path) -> CallScript:
    """Render or load every utterance of `persona` at `rate_hz` (slow: do it before taking calls)."""
    policy = HangupPolicy(persona.hangup_after_s, persona.max_call_s)
    if persona.voicemail is not None:
        vm = persona.voicemail
        frames = [_utterance_frames(vm.greeting, persona.language, rate_hz, cache_dir)]
        turns = [TurnPlan(len(frames[0]), False, VOICEMAIL_GREETING_GAP_MS)]
        if vm.beep:
            frames.append(to_frames(beep(rate_hz), rate_hz))
            turns.append(TurnPlan(len(frames[1]), False, VOICEMAIL_BEEP_GAP_MS))
        return CallScript(persona, frames, turns, HangupPolicy(vm.record_s, persona.max_call_s), "voicemail")
    frames = [_utterance_frames(t.say, persona.language, rate_hz, cache_dir) for t in persona.turns]
    turns = [
        TurnPlan(len(f), t.wait_for_robot, t.gap_ms, t.barge_in_after_ms)
        for f, t in zip(frames, persona.turns, strict=True)
    ]
    return CallScript(persona, frames, turns, policy, "answered")


def _utterance_frames(say: Utterance, language: str, rate_hz: int, cache_dir: Path) -> list[bytes]:
    path = say.wav if say.wav is not None else render_text(say.text or "", language, rate_hz, cache_dir)
    samples = trim(load_wav(path, rate_hz, cache_dir))
    if samples.size == 0:
        raise ValueError(f"{path}: the utterance is silent")
    return to_frames(samples, rate_hz)


class CallSession:
    """Drives one incoming call to the end and writes its timeline, heard.wav and said.wav."""

    def __init__(
        self, call: Any, script: CallScript, index: int, out_dir: Path, rate_hz: int, stop: asyncio.Event
    ) -> None:
        self._call = call
        self._script = script
        self._rate = rate_hz
        self._stop = stop
        self._dir = out_dir / call_dir_name(index, script.persona.id)
        self._closed = asyncio.Event()
        self._timeline = CallTimeline(script.persona.id, index, call.call_id, time.monotonic(), time.time(), rate_hz)
        self._conv: Conversation | None = None
        self._answer_s = 0.0
        self._heard: WavRecorder | None = None
        self._said: WavRecorder | None = None
        call.on(self._on_event)
        call.on_dtmf(self._on_dtmf)

    @property
    def name(self) -> str:
        return self._dir.name

    async def run(self) -> CallTimeline:
        try:
            await self._run()
        finally:
            await self._finish()
        return self._timeline

    async def _run(self) -> None:
        if not await self._ring():
            t_s = time.monotonic() - self._timeline.received_monotonic_s
            if self._closed.is_set():
                self._timeline.outcome = "cancelled"
                self._timeline.events.append(TimelineEvent(t_s, "hangup", by="remote", reason="cancel"))
            else:  # shutting down while it rings: _finish refuses the call
                self._timeline.events.append(TimelineEvent(t_s, "hangup", by="simulator", reason="shutdown"))
            return
        try:
            await self._call.answer()
        except baresip.BaresipError:  # the call went away between ringing and our 200 OK
            log.info("call %s could not be answered: gone", self.name)
            return
        self._answer_s = time.monotonic()
        self._timeline.answer_monotonic_s, self._timeline.answer_wall_s = self._answer_s, time.time()
        self._timeline.outcome = self._script.outcome
        persona = self._script.persona
        seed = f"{persona.seed}:{persona.id}:{self._timeline.call_index}"
        self._conv = Conversation(self._script.turns, self._script.hangup, seed)
        self._timeline.gaps_ms = [round(g * 1000) for g in self._conv.gaps_s]
        log.info("call %s answered", self.name)
        if await self._wait_media():
            await self._audio_loop()

    async def _ring(self) -> bool:
        """Let it ring for `ring_s`; False if the caller gave up or the simulator stops first."""
        ring_s = self._script.persona.ring_s or 0.0
        deadline = time.monotonic() + ring_s
        while time.monotonic() < deadline and not (self._closed.is_set() or self._stop.is_set()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), min(RING_POLL_S, deadline - time.monotonic()))
        return not self._closed.is_set() and not self._stop.is_set()

    async def _wait_media(self) -> bool:
        deadline = time.monotonic() + MEDIA_READY_TIMEOUT_S
        while time.monotonic() < deadline and not self._closed.is_set():
            with contextlib.suppress(baresip.AudioNotActive):
                info = self._call.audio.info()
                if info.tx_ready and info.rx_ready:
                    if info.tx_sample_rate == info.rx_sample_rate == self._rate:
                        return True
                    log.error("call %s: negotiated %d Hz, expected %d Hz", self.name, info.rx_sample_rate, self._rate)
                    return self._give_up("sample_rate_mismatch")
            await asyncio.sleep(FRAME_S)
        return self._closed.is_set() or self._give_up("no_media")

    def _give_up(self, reason: str) -> bool:
        assert self._conv is not None
        self._timeline.outcome = "failed"
        self._conv.stop(time.monotonic() - self._answer_s, reason)
        return False

    async def _audio_loop(self) -> None:
        assert self._conv is not None
        t_media = time.monotonic()
        self._timeline.audio_start_s = t_media - self._answer_s
        self._dir.mkdir(parents=True, exist_ok=True)
        self._heard = WavRecorder(self._dir / HEARD_FILE, self._rate)
        self._said = WavRecorder(self._dir / SAID_FILE, self._rate)
        pump = _Pump(
            self._call.audio,
            self._conv,
            self._script.frames,
            self._rate,
            t_media - self._answer_s,
            (self._heard, self._said),
        )
        while not self._conv.finished:
            now = time.monotonic()
            if self._closed.is_set():
                self._conv.remote_hangup(now - self._answer_s)
            elif self._stop.is_set():
                self._conv.stop(now - self._answer_s)
            else:
                elapsed = int((now - t_media) / FRAME_S)
                try:
                    pump.tick(now - self._answer_s, elapsed)
                except baresip.AudioNotActive:  # the media went away: usually a BYE on its way
                    await self._media_lost()
                await asyncio.sleep(max(0.0, t_media + (elapsed + 1) * FRAME_S - time.monotonic()))
        self._timeline.late_frames = pump.late_frames

    async def _media_lost(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), MEDIA_LOST_GRACE_S)
        if not self._closed.is_set():
            self._give_up("media_lost")

    async def _finish(self) -> None:
        for recorder in (self._heard, self._said):
            if recorder is not None:
                recorder.close()
        conv = self._conv
        if conv is not None:
            if conv.hangup is None:  # ended by an error: still release the call
                conv.stop(time.monotonic() - self._answer_s, "error")
            self._timeline.events.extend(conv.events)
        if not self._closed.is_set() and (conv is None or (conv.hangup and conv.hangup.by == "simulator")):
            with contextlib.suppress(baresip.BaresipError, TimeoutError):
                await asyncio.wait_for(self._call.hangup(), HANGUP_TIMEOUT_S)
        self._call.off(self._on_event)
        self._timeline.write(self._dir)
        hangup = conv.hangup if conv else None
        log.info("call %s ended: %s", self.name, hangup.reason if hangup else self._timeline.outcome)

    def _on_event(self, event: Any) -> None:
        if event.event is baresip.Event.CALL_CLOSED:
            self._closed.set()

    def _on_dtmf(self, digit: Any) -> None:
        if self._conv is not None:
            self._conv.dtmf(time.monotonic() - self._answer_s, str(digit.digit))


class _Pump:
    """Moves audio for one tick: read and analyse what arrived, top the transmit buffer up."""

    def __init__(
        self,
        audio: Any,
        conv: Conversation,
        frames: list[list[bytes]],
        rate_hz: int,
        start_s: float,
        recorders: tuple[WavRecorder, WavRecorder],
    ) -> None:
        self._audio = audio
        self._conv = conv
        self._start_s = start_s  # t_s of slot 0, relative to the answer
        self._heard, self._said = recorders
        self._frame_bytes = frame_bytes(rate_hz)
        self._silence = bytes(self._frame_bytes)
        self._frames = frames
        self._vad = EnergyVad()
        self._rx = bytearray()
        self._written = 0
        self.late_frames = 0

    def tick(self, now_s: float, elapsed: int) -> None:
        self._receive(now_s)
        if self._written < elapsed:  # held up for longer than the lead: these slots are gone
            self.late_frames += elapsed - self._written
            while self._written < elapsed and not self._conv.finished:
                self._conv.next_slot(self._start_s + self._written * FRAME_S)
                self._said.write(self._silence)
                self._written += 1
        while self._written <= elapsed + LEAD_FRAMES and not self._conv.finished:
            slot = self._conv.next_slot(self._start_s + self._written * FRAME_S)
            pcm = self._silence if slot.turn is None else self._frames[slot.turn][slot.frame]
            with contextlib.suppress(baresip.AudioRestarted):
                self._audio.write(pcm)
            self._said.write(pcm)
            self._written += 1

    def _receive(self, now_s: float) -> None:
        with contextlib.suppress(baresip.AudioRestarted):
            self._rx += self._audio.read(RX_READ_MAX_FRAMES * self._frame_bytes)
        n = len(self._rx) // self._frame_bytes
        if n == 0:
            self._heard_activity(self._vad.poll(now_s))
            return
        for j in range(n):
            pcm = bytes(self._rx[j * self._frame_bytes : (j + 1) * self._frame_bytes])
            t_s = now_s - (n - j) * FRAME_S  # frame j ended by the time we read it
            self._heard.pad_to(round((t_s - self._start_s) / FRAME_S) - HEARD_ALIGN_SLACK_FRAMES)
            self._heard.write(pcm)
            level = frame_dbfs(np.frombuffer(pcm, dtype="<i2"))
            self._heard_activity(self._vad.push(t_s, level))
        del self._rx[: n * self._frame_bytes]

    def _heard_activity(self, activity: VoiceActivity | None) -> None:
        if activity is not None:
            self._conv.heard(activity)
