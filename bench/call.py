"""`callcenter bench call --calls N --seconds S`: N simulated customers against the full robot over real SIP.

The robot (`session.robot.Robot`: pjsua2 workers, tiny.en, MiniLM + insurance-en, Piper behind the phrase cache)
calls N customers of the simulator (baresip) on loopback, 0.5 s apart. Each customer hears the greeting, answers
three questions, barges in on the fourth robot line, and says goodbye; customer 0 instead asks for a person, and a
scripted agent (real WebSockets to uvicorn on 127.0.0.1) takes over 0.7 s after the handoff request, speaks 3 s
and hands back. The customers' lines are rendered with Piper, so recognition is not what is measured.

Measured on the customer's side (`bench.call_metrics` over the simulator's timeline and heard.wav):
`voice_to_voice_ms`, `greeting_ms`, `barge_in_stop_ms` (all calls pooled), `takeover_silence_ms` and
`agent_to_line_ms` (call 0). `late_frame_pct`: the sessions' outbound 20 ms ticks that woke a frame or more late;
`simulator_late_frames`: transmit slots the simulator skipped. `cpu_pct`: main process + SIP workers + simulator,
% of one core, over the calls. `session_voice_to_voice_ms`: the same gap on the robot's side (its end-of-speech
detection → first frame handed to the call), to split the time between the line and the robot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import tempfile
import time
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from bench import call_metrics as cm
from telephony.ports import free_port

RATE_HZ = 8000
FRAME_S = 0.020
SCRIPT_ID = "insurance-en"
STAGGER_S = 0.5
TAKEOVER_DELAY_S = 0.7  # after the handoff request: the robot is mid-sentence
AGENT_SECONDS = 3.0
# An agent starts talking a moment after pressing "take over"; the pause also keeps the robot's tail and the
# agent's onset apart in what the customer hears, so each is measured on its own.
AGENT_START_S = 0.2
PHRASES = Path("var/bench-call/phrases")  # the phrase cache, kept between runs (var/ is not tracked)
# No commas or full stops inside a turn: a pause there can reach the recognizer's endpoint and split one answer.
ANSWERS = ("Yes I have a couple of minutes.", "We just bought a house and we have a new baby.", "Yes definitely.")
ASK_FOR_PERSON = "Sorry can I talk to a real person please?"
NOT_NOW = "Sorry I am not interested thank you."
GOODBYE = "No thanks goodbye."
BARGE_IN_AFTER_MS = 2300  # into the fourth robot line: the middle of its second sentence


def personas(calls: int, seconds: float) -> dict[str, Any]:
    """The simulator's persona file (turns as `text:`), one persona per call: `cust-000` asks for a person."""
    out = []
    for i in range(calls):
        turns: list[dict[str, Any]] = [{"text": t, "gap_ms": [400, 600]} for t in ANSWERS]
        turns.append({"text": ASK_FOR_PERSON if i == 0 else NOT_NOW, "barge_in_after_ms": BARGE_IN_AFTER_MS})
        # call 0: the agent's turn and the robot's question after the hand-back come first; a long gap keeps the
        # customer quiet through the agent's pauses
        turns.append({"text": GOODBYE, "gap_ms": [2500, 2500] if i == 0 else [400, 600]})
        out.append(
            {"id": persona_id(i), "language": "en", "ring_s": 0.3, "seed": i + 1, "turns": turns,
             "hangup_after_s": 5, "max_call_s": round(seconds)}
        )  # fmt: skip
    return {"personas": out}


def persona_id(i: int) -> str:
    return f"cust-{i:03d}"


async def render_personas(data: dict[str, Any], engine: Any, out_dir: Path) -> Path:
    """Each `text:` turn rendered by Piper into a WAV (`wav:`), one file per distinct line; the YAML path."""
    import yaml

    from tts.audio import write_wav

    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    root = await asyncio.to_thread(out_dir.absolute)  # the simulator reads wav: paths relative to the YAML
    wavs: dict[str, str] = {}
    for persona in data["personas"]:
        for turn in persona["turns"]:
            text = turn.pop("text")
            if text not in wavs:
                frames = [frame.samples async for frame in engine.stream(text, RATE_HZ)]
                wavs[text] = str(root / f"line-{len(wavs)}.wav")
                write_wav(Path(wavs[text]), np.concatenate(frames), RATE_HZ)
            turn["wav"] = wavs[text]
    path = out_dir / "personas.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# -- the agent ---------------------------------------------------------------------------------------------------


@dataclass
class AgentLog:
    """What the scripted agent did, on the monotonic clock (the loop's clock is `time.monotonic`)."""

    handoff_s: float = 0.0
    takeover_s: float = 0.0
    first_frame_s: float = 0.0
    frames_sent: int = 0
    states: list[str] = field(default_factory=list)


def agent_voice() -> npt.NDArray[np.int16]:
    """`AGENT_SECONDS` of a recorded voice at 16 kHz, from its first voiced frame (so frame 1 is heard)."""
    from asr.corpus import recordings

    path = next(r.path for r in recordings() if r.name == "beckett")
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    db = cm.frame_dbfs(samples, 16000)
    first = int(np.argmax(db >= cm.LOUD_DBFS + 10)) * 320
    return samples[first : first + round(AGENT_SECONDS * 16000)].astype(np.int16)


async def agent_client(
    port: int, registry: Any, call_id: str, voice: npt.NDArray[np.int16], log: AgentLog, timeout_s: float
) -> None:
    """Waits for the call to go live and for the handoff request, takes over `TAKEOVER_DELAY_S` later, speaks
    `voice` in 20 ms frames on an absolute clock, hands back."""
    from websockets.asyncio.client import connect

    base, loop = f"ws://127.0.0.1:{port}/ws/calls/{call_id}", asyncio.get_running_loop()
    handoff = asyncio.Event()

    async def watch(events: Any) -> None:
        async for message in events:
            event = json.loads(message)
            if event.get("type") == "handoff" and event.get("status") == "requested":
                log.handoff_s = loop.time()
                handoff.set()

    async def hear(agent: Any) -> None:
        async for message in agent:
            if isinstance(message, str) and (state := json.loads(message).get("state")):
                log.states.append(state)

    async with asyncio.timeout(timeout_s):
        while call_id not in registry:  # noqa: ASYNC110  # the registry offers no event to wait on
            await asyncio.sleep(0.05)
        async with connect(f"{base}/events") as events, connect(f"{base}/agent?agent_id=bench") as agent:
            await agent.recv()  # hello
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(watch(events)), tg.create_task(hear(agent))]
                await handoff.wait()
                await asyncio.sleep(TAKEOVER_DELAY_S)
                log.takeover_s = loop.time()
                await agent.send(json.dumps({"type": "takeover"}))
                await asyncio.sleep(AGENT_START_S)
                log.first_frame_s = start = loop.time()
                for seq, i in enumerate(range(0, len(voice) - 319, 320), 1):
                    await agent.send(struct.pack(">I", seq) + voice[i : i + 320].astype("<i2").tobytes())
                    log.frames_sent = seq
                    await asyncio.sleep(max(0.0, start + seq * FRAME_S - loop.time()))
                await asyncio.sleep(0.3)
                await agent.send(json.dumps({"type": "hand_back"}))
                await asyncio.sleep(0.5)
                for task in tasks:
                    task.cancel()


@contextlib.asynccontextmanager
async def console(registry: Any) -> AsyncIterator[int]:
    """The console's WebSockets on uvicorn, 127.0.0.1, a free port (yielded)."""
    import uvicorn
    from fastapi import FastAPI

    from agent_console.media_ws import media_router

    app = FastAPI()
    app.include_router(media_router(registry))
    port = free_port()
    quiet: dict[str, Any] = {"log_level": "warning", "lifespan": "off"}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio", **quiet))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110  # uvicorn offers no event to wait on
                await asyncio.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


# -- figures -----------------------------------------------------------------------------------------------------


@dataclass
class CallFigures:
    """One call's figures, seconds unless named otherwise."""

    answered: bool = False
    greeting_s: float | None = None
    voice_to_voice_s: list[float] = field(default_factory=list)
    barge_in_stop_s: list[float] = field(default_factory=list)
    session_voice_to_voice_ms: list[float] = field(default_factory=list)
    turns: int = 0
    ticks: int = 0
    late_ticks: int = 0
    sim_late_frames: int = 0
    sim_frames: int = 0  # the simulator's transmit slots (its call length in frames)
    takeover_silence_s: float | None = None
    agent_to_line_s: float | None = None
    error: str | None = None


def at_the_customer(sim: Any, figures: CallFigures) -> None:
    """Fill `figures` from a simulator `CallResult` (its timeline and heard.wav)."""
    figures.answered = sim.outcome == "answered"
    figures.greeting_s = cm.greeting_s(sim.events)
    figures.voice_to_voice_s = cm.voice_to_voice_s(sim.events)
    figures.barge_in_stop_s = cm.barge_in_stop_s(sim.events)
    figures.turns = len(sim.times("speech_start"))
    timeline = json.loads((sim.dir / "timeline.json").read_text(encoding="utf-8"))
    figures.sim_late_frames = int(timeline.get("late_frames", 0))
    figures.sim_frames = round(max((e["t_s"] for e in sim.events), default=0.0) / FRAME_S)


def agent_figures(sim: Any, agent: AgentLog, figures: CallFigures) -> None:
    """Takeover silence and agent-to-line, from heard.wav: the end of the last loud frame between the request
    and the agent's first frame (the robot's tail; 0 when none), then the onset of the agent's voice."""
    if not agent.takeover_s or sim.answer_monotonic_s is None or sim.audio_start_s is None:
        return
    with wave.open(str(sim.heard_wav)) as w:
        heard = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    requested = agent.takeover_s - sim.answer_monotonic_s
    first = agent.first_frame_s - sim.answer_monotonic_s
    db = cm.frame_dbfs(heard, RATE_HZ)
    k0, k1 = (int((t - sim.audio_start_s) / FRAME_S) for t in (requested, first))
    loud = np.flatnonzero(db[k0:k1] >= cm.LOUD_DBFS)
    silent = sim.audio_start_s + (k0 + loud[-1] + 1) * FRAME_S if len(loud) else requested
    figures.takeover_silence_s = max(0.0, silent - requested)
    onset = cm.onset_after_s(heard, RATE_HZ, sim.audio_start_s, max(first, silent))
    figures.agent_to_line_s = None if onset is None else onset - first


def at_the_robot(record: Any, figures: CallFigures) -> None:
    outbound = record.timings.get("outbound", {})
    figures.ticks, figures.late_ticks = int(outbound.get("ticks", 0)), int(outbound.get("late_ticks", 0))
    figures.session_voice_to_voice_ms = [v for v in record.timings.get("voice_to_voice_ms", []) if v is not None]


def _ms(p: cm.Percentiles | None) -> dict[str, float] | None:
    return None if p is None else p.to_json()


def _one_ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 1)


def assemble(figures: list[CallFigures], *, seconds: float, cpu_pct: float, wall_s: float) -> dict[str, Any]:
    """The benchmark's JSON object from the calls' figures (pure)."""
    v2v = [v for f in figures for v in f.voice_to_voice_s]
    greetings = [f.greeting_s for f in figures if f.greeting_s is not None]
    barge = [v for f in figures for v in f.barge_in_stop_s]
    robot_v2v = [v / 1000 for f in figures for v in f.session_voice_to_voice_ms]
    ticks, late = sum(f.ticks for f in figures), sum(f.late_ticks for f in figures)
    sim_frames, sim_late = sum(f.sim_frames for f in figures), sum(f.sim_late_frames for f in figures)
    first = figures[0] if figures else CallFigures()
    return {
        "calls": len(figures),
        "seconds": seconds,
        "answered": sum(f.answered for f in figures),
        "turns": sum(f.turns for f in figures),
        "errors": [f"call {i}: {f.error}" for i, f in enumerate(figures) if f.error],
        "voice_to_voice_ms": _ms(cm.Percentiles.of_ms(v2v)),
        "voice_to_voice_n": len(v2v),
        "greeting_ms": _ms(cm.Percentiles.of_ms(greetings)),
        "barge_in_stop_ms": _ms(cm.Percentiles.of_ms(barge)),
        "takeover_silence_ms": _one_ms(first.takeover_silence_s),
        "agent_to_line_ms": _one_ms(first.agent_to_line_s),
        "late_frame_pct": round(100 * late / ticks, 3) if ticks else None,
        "simulator_late_frames": sim_late,
        "simulator_late_frame_pct": round(100 * sim_late / sim_frames, 3) if sim_frames else None,
        "session_voice_to_voice_ms": _ms(cm.Percentiles.of_ms(robot_v2v)),
        "cpu_pct": round(cpu_pct, 1),
        "cores": os.cpu_count(),
        "wall_s": round(wall_s, 1),
    }


# -- the run -----------------------------------------------------------------------------------------------------


def _cpu_s() -> float:
    """CPU seconds of this process and every process it started (SIP workers, the simulator)."""
    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


async def _one_call(robot: Any, uri: str, i: int, seconds: float, policy: Any) -> Any:
    from session import CallSession

    def bound(session: CallSession) -> None:
        asyncio.get_running_loop().call_later(seconds, session.end)  # the benchmark's bound on a call

    call_id = f"bench-{i:03d}"
    lead = {"first_name": "Dana"}
    coro = robot.call(uri, call_id=call_id, script_id=SCRIPT_ID, lead=lead, policy=policy, on_session=bound)
    return await asyncio.wait_for(coro, seconds + 60)


async def run(calls: int, seconds: float, out_dir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-call-") as tmp_name:
        return await _run(calls, seconds, out_dir or Path(tmp_name))


async def _run(calls: int, seconds: float, tmp: Path) -> dict[str, Any]:
    from dialogue import CampaignPolicy
    from session.record import CallRecord
    from session.robot import Robot, RobotConfig
    from telephony.simulator import SimulatorProcess

    config = RobotConfig(
        max_calls=calls, rtp_port=free_port(span=40 * calls), phrase_dir=PHRASES,
        records_dir=tmp / "records",
    )  # fmt: skip
    robot = await Robot.load(config)
    figures = [CallFigures() for _ in range(calls)]
    try:
        personas_path = await render_personas(personas(calls, seconds), robot.languages["en"].engine, tmp)
        # the handoff comes from the customer's request only; a handoff nobody takes is apologised for after 30 s
        policy = CampaignPolicy(recording_notice=False, handoff_score_threshold=101)
        low = free_port(span=4 * calls + 16)
        sim_proc = SimulatorProcess(personas_path, tmp / "sim", port=free_port(), rtp_ports=(low, low + 4 * calls + 15))
        async with sim_proc as sim, console(robot.registry) as port:
            agent = AgentLog()
            agent_task = asyncio.create_task(
                agent_client(port, robot.registry, "bench-000", agent_voice(), agent, seconds + 30)
            )
            cpu0, t0 = _cpu_s(), time.monotonic()
            tasks = []
            for i in range(calls):
                uri = sim.uri(persona_id(i))
                tasks.append(asyncio.create_task(_one_call(robot, uri, i, seconds, policy)))
                await asyncio.sleep(STAGGER_S)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            cpu_pct, wall_s = 100 * (_cpu_s() - cpu0) / (time.monotonic() - t0), time.monotonic() - t0
            with contextlib.suppress(Exception):
                await asyncio.wait_for(agent_task, 5)
            agent_task.cancel()
            with contextlib.suppress(TimeoutError):
                await sim.wait_for_results(calls, timeout_s=30)
            sims = {r.persona_id: r for r in sim.results()}
        for i, (result, fig) in enumerate(zip(results, figures, strict=True)):
            if isinstance(result, BaseException):
                fig.error = f"{type(result).__name__}: {result}"[:200]
            elif isinstance(result, CallRecord):
                at_the_robot(result, fig)
            else:
                fig.error = f"not answered: {result.disposition}"
            if (sim_result := sims.get(persona_id(i))) is not None:
                at_the_customer(sim_result, fig)
                if i == 0:
                    agent_figures(sim_result, agent, fig)
    finally:
        await robot.close()
    return assemble(figures, seconds=seconds, cpu_pct=cpu_pct, wall_s=wall_s)
