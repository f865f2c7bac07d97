"""Acceptance of issue 5 over real SIP, with the real models: the live call end to end.

The robot (pjsua2 worker pool, tiny.en + Silero, MiniLM + the insurance-en script, Piper behind the phrase
cache) calls the customer simulator (baresip). The customer hears the greeting, answers three questions, barges
in on the fourth to ask for a person. A scripted agent, over real WebSockets to uvicorn on 127.0.0.1, watches the
event stream, takes over 0.7 s after the handoff request (the robot is mid-sentence), streams a recorded
voice (moonshine-voice `beckett.wav`, 16 kHz) and hands back; the robot asks again, the customer says goodbye,
the robot says goodbye and hangs up. Meanwhile a listen-in subscriber never reads.

Measured on the customer's side (the simulator's heard.wav and timeline, CLOCK_MONOTONIC shared with us) and
printed (`pytest -s`); the figures are also attached to the test report as properties.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from session.listen import ListenSubscription
from session.record import CallRecord
from telephony.simulator.timeline import CallResult as SimCall
from tests.ports import free_port
from tests.sip.peers import normalised_xcorr, read_wav, speech_intact

pytestmark = pytest.mark.sip
RATE = 8000
FRAME_S = 0.020
PERSONAS = Path(__file__).with_name("live_call_personas.yaml")
AGENT_SECONDS = 6.2  # "Ever tried. Ever failed. No matter. Try again. Fail again."
TAKEOVER_DELAY_S = 0.7  # after the handoff request: the robot is half a second into its handoff line
CALL_ID = "live-1"


@dataclass
class AgentLog:
    """What the scripted agent did, on the monotonic clock."""

    takeover_s: float = 0.0
    first_frame_s: float = 0.0
    hand_back_s: float = 0.0
    frames_sent: int = 0
    frames_heard: int = 0
    states: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def agent_voice() -> npt.NDArray[np.int16]:
    from asr.corpus import recordings

    path = next(r.path for r in recordings() if r.name == "beckett")
    samples, rate = read_wav(path)
    assert rate == 16000
    return samples[: round(AGENT_SECONDS * rate)].astype(np.int16)


async def drain_events(ws: Any, log: AgentLog, handoff: asyncio.Event) -> None:
    async for message in ws:
        event = json.loads(message)
        log.events.append(event)
        if event.get("type") == "handoff" and event.get("status") == "requested":
            handoff.set()


async def hear_customer(ws: Any, log: AgentLog, handed_back: asyncio.Event) -> None:
    async for message in ws:
        if isinstance(message, bytes):
            log.frames_heard += 1
        else:
            state = json.loads(message).get("state")
            if state:
                log.states.append(state)
            if state == "handed_back":
                handed_back.set()


async def agent_client(port: int, voice: npt.NDArray[np.int16], log: AgentLog) -> None:
    """Takes over after the handoff request, speaks `voice` in 20 ms frames on an absolute clock, hands back."""
    from websockets.asyncio.client import connect

    base, loop = f"ws://127.0.0.1:{port}/ws/calls/{CALL_ID}", asyncio.get_running_loop()
    handoff, handed_back = asyncio.Event(), asyncio.Event()
    async with connect(f"{base}/events") as events, connect(f"{base}/agent?agent_id=alex") as agent:
        assert json.loads(await agent.recv())["type"] == "hello"
        tasks = [
            asyncio.create_task(drain_events(events, log, handoff)),
            asyncio.create_task(hear_customer(agent, log, handed_back)),
        ]
        waiting = asyncio.create_task(handoff.wait())
        await asyncio.wait([waiting, tasks[0]], timeout=90, return_when=asyncio.FIRST_COMPLETED)
        if not handoff.is_set():
            waiting.cancel()
            raise AssertionError(f"no handoff was requested; the call went:\n{said(log.events)}")
        await asyncio.sleep(TAKEOVER_DELAY_S)
        log.takeover_s = loop.time()
        await agent.send(json.dumps({"type": "takeover"}))
        log.first_frame_s = start = loop.time()
        for seq, i in enumerate(range(0, len(voice) - 319, 320), 1):
            await agent.send(struct.pack(">I", seq) + voice[i : i + 320].astype("<i2").tobytes())
            log.frames_sent = seq
            await asyncio.sleep(max(0.0, start + seq * FRAME_S - loop.time()))
        await asyncio.sleep(0.3)
        log.hand_back_s = loop.time()
        await agent.send(json.dumps({"type": "hand_back"}))
        await asyncio.wait_for(handed_back.wait(), 5)
        await asyncio.wait_for(tasks[0], 90)  # the events socket closes when the call ends
        tasks[1].cancel()
        await asyncio.gather(tasks[1], return_exceptions=True)


def said(events: list[dict[str, Any]]) -> str:
    """The final transcript lines of an event list (a test persona's scripted lines, not personal data)."""
    lines = [e for e in events if e.get("type") == "transcript" and e.get("final")]
    return "\n".join(f"{e['start_s']:7.2f} {e['speaker']:8} {e['text']}" for e in lines)


async def stalled_listener(port: int) -> None:
    """A supervisor's socket that reads its hello and then nothing."""
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}/ws/calls/{CALL_ID}/listen", max_queue=1) as ws:
        await ws.recv()
        await asyncio.sleep(3600)


async def piper_personas(tmp: Path, piper: Any) -> Path:
    """The persona file with each `text:` turn rendered by Piper into a WAV (`wav:`).

    espeak-ng, the simulator's own voice, goes through tiny.en at 8 kHz poorly: in one run "Yes I have a couple
    of minutes" came back as "Yes, I can't make up a limit" and the call left the script. Piper's comes back
    verbatim (docs/tts.md), so the test exercises the call, not the recognizer's accuracy.
    """
    import yaml

    from bench.call import render_personas

    return await render_personas(yaml.safe_load(PERSONAS.read_text(encoding="utf-8")), piper, tmp)


@dataclass
class Outcome:
    record: CallRecord
    sim: SimCall
    agent: AgentLog
    stalled: ListenSubscription
    records_dir: Path
    frames_sent_by_session: int
    session_t0_s: float  # monotonic time of the session's time 0
    listen_ticks: int  # inbound ticks the listen-in hub published


@dataclass
class Robot:
    """Everything a call needs that is loaded once: the models, the engines, the script."""

    whisper: Any
    piper: Any
    tts: Any
    brain: Callable[[], Any]


async def load_robot(tmp: Path) -> Robot:
    from asr import InferencePool, WhisperTranscriber, load_model
    from dialogue import CampaignPolicy, DialogueEngine, IntentClassifier, Say, default_encoder
    from scripts_library.catalog import load_catalog
    from tts import CachedEngine, PhraseCache, load_piper_engine

    whisper = InferencePool(WhisperTranscriber(await asyncio.to_thread(load_model, "tiny.en"), "en"))
    piper = await asyncio.to_thread(load_piper_engine)
    await piper.warm_up()
    tts = CachedEngine(piper, PhraseCache(tmp / "phrases"), "live-test-1")
    script = load_catalog()["insurance-en"]
    classifier = IntentClassifier(script.intents, "en", await asyncio.to_thread(default_encoder, "en"))
    policy = CampaignPolicy(lead={"first_name": "Dana"}, recording_notice=False, handoff_score_threshold=101)

    def brain() -> DialogueEngine:
        return DialogueEngine(script, policy, classifier, now=datetime(2026, 3, 10, 10, 0), seed=11)

    # the dialer knows the lead before it dials: the opening is rendered while the phone rings
    await tts.prerender([a.text for a in brain().start() if isinstance(a, Say)], RATE)
    return Robot(whisper, piper, tts, brain)


async def live_call(tmp: Path) -> Outcome:
    from agent_console.registry import SessionRegistry
    from bench.call import console

    robot = await load_robot(tmp)
    try:
        personas = await piper_personas(tmp, robot.piper)
        registry = SessionRegistry()
        async with console(registry) as port:
            return await _call(tmp, personas, registry, port, robot)
    finally:
        robot.whisper.close()
        robot.piper.close()


async def _call(tmp: Path, personas: Path, registry: Any, port: int, robot: Robot) -> Outcome:
    from asr import StreamingRecognizer
    from session import CallSession, JsonRecordStore
    from telephony import PoolConfig, SipAccount, SipWorkerPool
    from telephony.simulator import SimulatorProcess

    cfg = PoolConfig(
        account=SipAccount(user="robot", host="127.0.0.1"), max_calls=1, sip_port=0, rtp_port=free_port(span=40)
    )
    low = free_port(span=16)
    log = AgentLog()
    async with SimulatorProcess(personas, tmp / "sim", port=free_port(), rtp_ports=(low, low + 15)) as sim:
        async with SipWorkerPool(cfg) as pool:
            call = await pool.place_call(sim.uri("live-customer"), record_path=tmp / "recordings" / f"{CALL_ID}.wav")
            assert await asyncio.wait_for(call.wait_answered(), 15), "the simulator answers"
            session = CallSession(
                call, robot.brain(), robot.tts, lambda: StreamingRecognizer(robot.whisper), call_id=CALL_ID,
                store=JsonRecordStore(tmp / "records"), recording_path=tmp / "recordings" / f"{CALL_ID}.wav",
            )  # fmt: skip
            stalled = session.listen(buffer_frames=5)  # never read
            with registry.serving(CALL_ID, session):
                agent = asyncio.create_task(agent_client(port, agent_voice(), log))
                listener = asyncio.create_task(stalled_listener(port))
                record = await asyncio.wait_for(session.run(), 120)
                await asyncio.wait_for(agent, 15)
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
        (result,) = await sim.wait_for_results(1, timeout_s=20)
    frames_sent, t0, ticks = session.stats.frames_sent, session.mono(0.0), session.listen_hub.ticks
    return Outcome(record, result, log, stalled, tmp / "records", frames_sent, t0, ticks)


# -- measuring -----------------------------------------------------------------------------------------------
# On the wire: our stereo recording (left: what arrived, right: what the worker played, per 20 ms tick; tick k is
# the session's inbound frame k, mapped to session time by `timings.inbound_clock`), exact on our side of RTP.
# At the customer: the simulator's heard.wav and timeline (its time axis is good to a frame or two: heard.wav is
# laid out on the simulator's send schedule, after baresip's jitter buffer).


def voiced(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """Per 20 ms frame: at least -40 dBFS (the simulator's own VAD threshold)."""
    n = RATE // 50
    frames = samples[: len(samples) // n * n].astype(np.float64).reshape(-1, n)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return np.asarray(20 * np.log10(np.maximum(rms, 1e-9) / 32768) >= -40.0)


def first_silence(flags: npt.NDArray[np.bool_], from_index: int, run: int) -> int:
    """Index of the first frame at or after `from_index` that starts `run` unvoiced frames in a row."""
    for i in range(max(0, from_index), len(flags) - run):
        if not flags[i : i + run].any():
            return i
    return len(flags)


def first_voice(flags: npt.NDArray[np.bool_], from_index: int) -> int:
    """Index of the first of two voiced frames in a row at or after `from_index`."""
    return next(i for i in range(max(0, from_index), len(flags) - 1) if flags[i] and flags[i + 1])


def agent_reference() -> npt.NDArray[np.int16]:
    """What the agent sent, at the line rate (a plain 2:1 average is close enough for a correlation)."""
    voice = agent_voice().astype(np.float64)
    return np.round(np.convolve(voice, np.ones(2) / 2)[1::2]).astype(np.int16)


def on_the_wire(out: Outcome) -> dict[str, float]:
    """Left tick k is what arrived during [t_k - 20 ms, t_k] (t_k: the arrival of inbound frame k, on the
    record's inbound clock); right tick k is the frame the worker's clock thread took in that same tick, whose
    RTP packet left at t_k. Times are session seconds."""
    assert out.record.recording_path is not None and out.sim.answer_monotonic_s is not None
    with wave.open(out.record.recording_path) as w:
        stereo = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    customer, ours = voiced(stereo[:, 0].copy()), voiced(stereo[:, 1].copy())
    ticks, starts = np.array(out.record.timings["inbound_clock"], dtype=np.float64).T

    def arrival(k: float) -> float:
        """t_k: when inbound frame k had arrived (= when right tick k's packet left)."""
        start = np.interp(k, ticks, starts) if k <= ticks[-1] else starts[-1] + (k - ticks[-1]) * FRAME_S
        return float(start) + FRAME_S

    def first_tick_after(t_s: float) -> int:
        return next(k for k in range(len(ours)) if arrival(k) >= t_s)

    barge_sim = next(e["t_s"] for e in out.sim.events if e["kind"] == "speech_start" and e.get("barge_in"))
    onset = first_voice(customer, first_tick_after(barge_sim + out.sim.answer_monotonic_s - out.session_t0_s - 0.2))
    barge_stop = first_silence(ours, onset, 40)  # silent for good, not a pause between words
    requested = next(h["t_s"] for h in out.record.handoffs if h["status"] == "accepted")
    silent = first_silence(ours, first_tick_after(requested), 5)  # the first packet after the request on
    window_start = first_tick_after(requested) * 160
    window = stereo[window_start : window_start + 10 * RATE, 1]
    _, lag = normalised_xcorr(agent_reference(), window)  # where the agent's first frame went out
    return {
        "barge_in_stop_ms": (arrival(barge_stop) - (arrival(onset) - FRAME_S)) * 1000,
        "takeover_silence_ms": (arrival(silent) - requested) * 1000,
        "agent_to_line_ms": (arrival((window_start + lag) / 160) - (out.agent.first_frame_s - out.session_t0_s)) * 1000,
        # aligned frame by frame: an underrun of the agent's jitter buffer shifts the rest by a frame or more
        "agent_corr": speech_intact(agent_reference(), window, RATE).corr,
    }


def at_the_customer(out: Outcome) -> dict[str, Any]:
    heard, rate = read_wav(out.sim.heard_wav)
    assert rate == RATE
    flags = voiced(heard)
    t0 = out.sim.audio_start_s or 0.0  # heard.wav's sample 0, seconds after the answer
    assert out.sim.answer_monotonic_s is not None
    barge = next(e["t_s"] for e in out.sim.events if e["kind"] == "speech_start" and e.get("barge_in"))
    barge_stop = t0 + first_silence(flags, round((barge - t0) / FRAME_S), 40) * FRAME_S  # silent for good
    takeover = out.agent.takeover_s - out.sim.answer_monotonic_s
    hand_back = out.agent.hand_back_s - out.sim.answer_monotonic_s
    window = heard[round((takeover - t0) * RATE) : round((hand_back - t0 + 1.0) * RATE)]
    return {
        "greeting_ms": (t0 + first_voice(flags, 0) * FRAME_S) * 1000,
        "barge_in_stop_ms": (barge_stop - barge) * 1000,
        "agent_corr": speech_intact(agent_reference(), window, RATE).corr,
        "voice_to_voice_ms": customer_side_v2v(out.sim, flags, t0),
    }


def customer_side_v2v(sim: SimCall, flags: npt.NDArray[np.bool_], t0: float) -> list[float]:
    """Each ordinary answer's end -> the next robot speech the customer hears (turns 0-2)."""
    out = []
    for turn in (0, 1, 2):
        end = sim.times("speech_end", turn)[0]
        onset = first_voice(flags, round((end - t0) / FRAME_S))
        out.append(round((t0 + onset * FRAME_S - end) * 1000, 1))
    return out


def test_a_live_call_with_barge_in_takeover_and_hand_back(tmp_path: Path, record_property: Any) -> None:
    out = asyncio.run(asyncio.wait_for(live_call(tmp_path), 240))
    record, sim = out.record, out.sim
    wire, customer = on_the_wire(out), at_the_customer(out)
    print(json.dumps({"on_the_wire": wire, "at_the_customer": customer, "session": record.timings}, indent=1))
    # the transcript is a test persona's scripted lines, not personal data: shown when the test fails
    print("\n".join(f"{line.start_s:7.2f} {line.speaker:8} {line.text}" for line in record.transcript))
    print(json.dumps(sim.events), record.outcome, record.hangup_by, record.handoffs)
    for side, figures in (("wire", wire), ("customer", customer)):
        for name, value in figures.items():
            record_property(f"{side}.{name}", value)

    check_the_flow(out)
    check_the_timings(wire, customer)
    check_the_takeover(out, wire, customer)
    check_the_record(out)
    check_the_stalled_listener(out)


def check_the_flow(out: Outcome) -> None:
    """The call went the scripted way and was ended by the robot, after its goodbye."""
    record, sim = out.record, out.sim
    assert sim.outcome == "answered"
    assert any(e["kind"] == "hangup" and e["by"] == "remote" for e in sim.events), "the robot hung up"
    assert record.hangup_by == "robot" and record.outcome not in (None, "hangup", "error")
    speakers = [line.speaker for line in record.transcript]
    assert {"customer", "robot", "agent"} <= set(speakers)
    assert speakers.count("customer") >= 5
    assert record.grade in ("A", "B", "C", "D") and record.score is not None
    assert [h["status"] for h in record.handoffs] == ["requested", "accepted", "handed_back"]


def check_the_timings(wire: dict[str, float], customer: dict[str, Any]) -> None:
    """Greeting from the phrase cache; barge-in cut the robot; the takeover silenced it at once."""
    assert customer["greeting_ms"] <= 300
    assert wire["barge_in_stop_ms"] <= 250 and customer["barge_in_stop_ms"] <= 400, "one sample, 2 shared cores"
    assert wire["takeover_silence_ms"] <= 60, "target 40 ms; the request falls anywhere inside a 20 ms tick"
    assert wire["agent_to_line_ms"] <= 150


def check_the_takeover(out: Outcome, wire: dict[str, float], customer: dict[str, Any]) -> None:
    """The customer heard the agent while the robot was silent, the agent heard the customer, the robot resumed."""
    record = out.record
    assert customer["agent_corr"] >= 0.8 and wire["agent_corr"] >= 0.8
    accepted = next(h["t_s"] for h in record.handoffs if h["status"] == "accepted")
    handed_back = next(h["t_s"] for h in record.handoffs if h["status"] == "handed_back")
    for line in record.transcript:
        if line.speaker == "robot":
            assert line.end_s is not None
            assert line.end_s <= accepted + 0.05 or line.start_s >= handed_back, "no robot line inside the takeover"
    assert any(line.speaker == "robot" and line.start_s > handed_back for line in record.transcript)
    assert out.agent.frames_heard >= 50 and out.agent.states == ["taken_over", "handed_back"]
    assert {"transcript", "handoff", "speaking", "score"} <= {e["type"] for e in out.agent.events}


def check_the_record(out: Outcome) -> None:
    """The stored call record: the full transcript, the grade, a stereo recording."""
    record = out.record
    stored = json.loads((out.records_dir / f"{CALL_ID}.json").read_text(encoding="utf-8"))
    assert stored["grade"] == record.grade and len(stored["transcript"]) == len(record.transcript)
    assert record.recording_path is not None
    with wave.open(record.recording_path) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, RATE)
        assert w.getnframes() / RATE >= 20


def check_the_stalled_listener(out: Outcome) -> None:
    """A listener that never read was offered every tick and kept the latest 5 frames; the call's 20 ms clock went
    on. (Late ticks come from the machine's load, not from the listener: 0-0.5 % on this box when it is quiet,
    3 % in a run next to a headless-browser test suite; the issue's 1 % target belongs to the benchmark.)"""
    assert out.stalled.received == out.listen_ticks > 2000
    assert out.stalled.dropped == out.stalled.received - 5
    outbound = out.record.timings["outbound"]
    assert outbound["late_ticks"] <= 0.05 * outbound["ticks"], outbound
    assert out.frames_sent_by_session >= 0.97 * outbound["ticks"]
