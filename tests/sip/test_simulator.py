"""The customer simulator as a real SIP peer: a subprocess on free loopback ports, called by baresip-python.

The caller in this process stands in for the robot (the pjsua2 pool is tested elsewhere). Audio is checked
by normalised cross-correlation against the source speech, timelines against what the caller really did.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import yaml

from telephony.simulator import CallResult, SimulatorProcess, SimulatorStartError
from tests.ports import free_port
from tests.sip import simulator_fixtures as fx
from tests.sip.peers import normalised_xcorr

pytestmark = pytest.mark.sip

MIN_CORR = 0.95
speech_wavs = fx.speech_wavs  # the session fixture, by name


def write_personas(folder: Path, personas: list[dict[str, Any]]) -> Path:
    path = folder / "personas.yaml"
    path.write_text(yaml.safe_dump({"personas": personas}, allow_unicode=True), encoding="utf-8")
    return path


def run_with_simulator(
    tmp_path: Path,
    personas: list[dict[str, Any]],
    scenario: Callable[[SimulatorProcess, fx.Caller], Awaitable[None]],
    rate_hz: int = 8000,
    codecs: tuple[str, ...] = ("PCMU",),
) -> SimulatorProcess:
    """Start the simulator (subprocess) and a caller stack, run `scenario`, stop both."""
    rtp_low = free_port(span=64)
    sim = SimulatorProcess(
        write_personas(tmp_path, personas),
        tmp_path / "out",
        port=free_port(),
        rate_hz=rate_hz,
        rtp_ports=(rtp_low, rtp_low + 63),
        stop_timeout_s=10.0,
    )

    async def main() -> None:
        async with sim, fx.caller_stack(codecs) as caller:
            await asyncio.wait_for(scenario(sim, caller), 90)

    try:
        asyncio.run(main())
    finally:
        if sim.log_path.exists():
            print(sim.log_path.read_text(encoding="utf-8", errors="replace"))  # shown when the test fails
    return sim


def talker(persona_id: str, wav: Path, **extra: Any) -> dict[str, Any]:
    """Says `wav` right after the answer, waits for the caller, says a short text, hangs up 0.5 s later."""
    return {
        "id": persona_id,
        "turns": [
            {"wav": str(wav), "wait_for_robot": False, "gap_ms": [200, 200]},
            {"text": "Thank you, goodbye.", "gap_ms": [300, 500]},
        ],
        "hangup_after_s": 0.5,
        "max_call_s": 40,
        **extra,
    }


def events_of(result: CallResult) -> list[tuple[str, Any]]:
    return [(e["kind"], e.get("turn")) for e in result.events if e["kind"] != "dtmf"]


def test_refusals_get_their_sip_status(tmp_path: Path) -> None:
    import baresip

    personas: list[dict[str, Any]] = [
        {"id": "busy-line", "answer": "busy"},
        {"id": "declines", "answer": "reject", "ring_s": 0.3},
        {"id": "never-home", "answer": "no_answer", "ring_s": 0.5},
        {"id": "rings-on", "answer": "no_answer"},
        {"id": "slow-pickup", "ring_s": 5},  # answers, but the caller gives up first: CANCEL relayed to baresip
    ]
    seen: dict[str, tuple[type[BaseException], int | None]] = {}

    async def scenario(sim: SimulatorProcess, caller: fx.Caller) -> None:
        for persona_id in ("busy-line", "declines", "never-home", "nobody-here", "rings-on", "slow-pickup"):
            with pytest.raises(baresip.CallFailed) as info:
                await caller.dial(sim.uri(persona_id), timeout_s=2.0)
            seen[persona_id] = (type(info.value), info.value.status)
        await sim.wait_for_results(5, timeout_s=10)

    sim = run_with_simulator(tmp_path, personas, scenario)
    assert seen == {
        "busy-line": (baresip.CallBusy, 486),
        "declines": (baresip.CallDeclined, 603),
        "never-home": (baresip.CallFailed, 480),
        "nobody-here": (baresip.CallFailed, 404),
        "rings-on": (baresip.CallTimeout, None),  # the caller gave up: CANCEL -> 487
        "slow-pickup": (baresip.CallTimeout, None),
    }
    outcomes = {r.persona_id: (r.outcome, r.final_status, r.answer_monotonic_s) for r in sim.results()}
    assert outcomes == {
        "busy-line": ("busy", 486, None),
        "declines": ("rejected", 603, None),
        "never-home": ("no_answer", 480, None),
        "rings-on": ("cancelled", 487, None),
        "slow-pickup": ("cancelled", None, None),
    }
    assert [r.call_index for r in sim.results()] == [1, 2, 3, 4, 5]
    rang = {r.persona_id: r.times("hangup")[0] for r in sim.results()}
    assert rang["declines"] == pytest.approx(0.3, abs=0.1) and rang["never-home"] == pytest.approx(0.5, abs=0.1)
    assert rang["rings-on"] == pytest.approx(2.0, abs=0.3) and rang["slow-pickup"] == pytest.approx(2.0, abs=0.3)


def test_answered_call_audio_both_ways_and_timeline(tmp_path: Path, speech_wavs: fx.SpeechWavs) -> None:
    sim_says, caller_says = fx.read_wav(speech_wavs.simulator_8k), fx.read_wav(speech_wavs.caller_8k)
    say_at_s = 0.2 + len(fx.trim(sim_says)) / 8000 + 0.8
    legs: list[fx.CallerLeg] = []

    async def scenario(sim: SimulatorProcess, caller: fx.Caller) -> None:
        call = await caller.dial(sim.uri("john"))
        legs.append(await caller.talk(call, caller_says, say_at_s, max_s=30, dtmf=(1.0, "5")))
        await sim.wait_for_results(1)

    sim = run_with_simulator(tmp_path, [talker("john", speech_wavs.simulator_8k, ring_s=0.3)], scenario)
    (leg,), (result,) = legs, sim.results()
    assert leg.closed_by_remote, "the simulator should hang up after its last turn"
    corr, lag = normalised_xcorr(fx.trim(sim_says), leg.samples())
    assert corr >= MIN_CORR, f"the simulator's speech arrived damaged: corr {corr:.3f}"
    heard_corr, _ = normalised_xcorr(fx.trim(caller_says), fx.read_wav(result.heard_wav))
    assert heard_corr >= MIN_CORR, f"heard.wav does not hold the caller's speech: corr {heard_corr:.3f}"
    said_corr, _ = normalised_xcorr(fx.trim(sim_says), fx.read_wav(result.said_wav))
    assert said_corr >= 0.999
    assert (result.outcome, result.persona_id, result.call_index) == ("answered", "john", 1)
    assert result.sip_call_id
    assert events_of(result) == [
        ("speech_start", 0),
        ("speech_end", 0),
        ("heard_start", None),
        ("heard_end", None),
        ("speech_start", 1),
        ("speech_end", 1),
        ("hangup", None),
    ]
    assert [(e["kind"], e["digit"]) for e in result.events if e["kind"] == "dtmf"] == [("dtmf", "5")]
    check_timing(result, leg, lag, caller_says)


def check_timing(result: CallResult, leg: fx.CallerLeg, lag: int, caller_says: npt.NDArray[np.int16]) -> None:
    """The timeline agrees with the caller's own clock (CLOCK_MONOTONIC is shared across processes)."""
    assert result.answer_monotonic_s is not None and leg.speech_slot is not None
    answer = result.answer_monotonic_s
    claimed_said = answer + result.times("speech_start", 0)[0]
    arrived = leg.media_start_s + lag / 8000
    assert -0.1 < arrived - claimed_said < 0.2, "speech_start is not when the speech went out"
    onset = int(np.flatnonzero(np.abs(caller_says.astype(np.int32)) >= 33)[0])
    sent = leg.media_start_s + leg.speech_slot * fx.FRAME_S + onset / 8000
    claimed_heard = answer + result.times("heard_start")[0]
    assert -0.05 < claimed_heard - sent < 0.3, "heard_start is not when the caller's speech arrived"
    heard_end, reply = result.times("heard_end")[0], result.times("speech_start", 1)[0]
    assert 0.6 - 0.05 <= reply - heard_end <= 0.5 + 0.6 + 0.1  # max(gap, VAD hangover) + a tick
    hangup = next(e for e in result.events if e["kind"] == "hangup")
    assert (hangup["by"], hangup["reason"]) == ("simulator", "after_last_turn")
    assert hangup["t_s"] - result.times("speech_end", 1)[0] == pytest.approx(0.5, abs=0.03)


def test_eight_concurrent_calls(tmp_path: Path, speech_wavs: fx.SpeechWavs) -> None:
    sim_says, caller_says = fx.read_wav(speech_wavs.simulator_8k), fx.read_wav(speech_wavs.caller_8k)
    say_at_s = 0.2 + len(fx.trim(sim_says)) / 8000 + 0.8
    personas = [talker("anna", speech_wavs.simulator_8k), talker("ben", speech_wavs.simulator_8k, seed=3)]
    legs: list[fx.CallerLeg] = []

    async def one(sim: SimulatorProcess, caller: fx.Caller, persona_id: str) -> None:
        call = await caller.dial(sim.uri(persona_id))
        legs.append(await caller.talk(call, caller_says, say_at_s, max_s=40))

    async def scenario(sim: SimulatorProcess, caller: fx.Caller) -> None:
        await asyncio.gather(*(one(sim, caller, ("anna", "ben")[i % 2]) for i in range(8)))
        await sim.wait_for_results(8)

    sim = run_with_simulator(tmp_path, personas, scenario)
    results = sim.results()
    assert [r.call_index for r in results] == list(range(1, 9))
    assert len({r.sip_call_id for r in results}) == 8
    assert sorted(r.persona_id for r in results) == ["anna"] * 4 + ["ben"] * 4
    for leg in legs:
        assert leg.closed_by_remote
        assert normalised_xcorr(fx.trim(sim_says), leg.samples())[0] >= MIN_CORR
    for result in results:
        assert result.outcome == "answered"
        assert normalised_xcorr(fx.trim(caller_says), fx.read_wav(result.heard_wav))[0] >= MIN_CORR
        assert events_of(result)[-1] == ("hangup", None)
        assert result.times("speech_start", 1), f"call {result.call_index} never took its second turn"


def test_voicemail_greets_beeps_records_and_hangs_up(tmp_path: Path, speech_wavs: fx.SpeechWavs) -> None:
    sim_says, caller_says = fx.read_wav(speech_wavs.simulator_8k), fx.read_wav(speech_wavs.caller_8k)
    greeting_s = len(fx.trim(sim_says)) / 8000
    persona = {
        "id": "mailbox",
        "answer": "voicemail",
        "voicemail": {"greeting": {"wav": str(speech_wavs.simulator_8k)}, "beep": True, "record_s": 5.5},
    }
    legs: list[fx.CallerLeg] = []

    async def scenario(sim: SimulatorProcess, caller: fx.Caller) -> None:
        call = await caller.dial(sim.uri("mailbox"))
        legs.append(await caller.talk(call, caller_says, greeting_s + 1.0, max_s=30))
        await sim.wait_for_results(1)

    sim = run_with_simulator(tmp_path, [persona], scenario)
    (leg,), (result,) = legs, sim.results()
    assert result.outcome == "voicemail" and leg.closed_by_remote
    beep_start, beep_end = result.times("speech_start", 1)[0], result.times("speech_end", 1)[0]
    assert beep_end - beep_start == pytest.approx(0.3, abs=0.021)
    assert result.times("hangup")[0] - beep_end == pytest.approx(5.5, abs=0.03)
    assert dominant_hz(leg.samples(), round((beep_start + 0.1) * 8000)) == pytest.approx(1000, abs=15)
    assert normalised_xcorr(fx.trim(caller_says), fx.read_wav(result.heard_wav))[0] >= MIN_CORR


def dominant_hz(samples: npt.NDArray[np.int16], around: int) -> float:
    """Peak frequency of the loudest 100 ms window within ±0.3 s of sample `around`."""
    windows = [samples[i : i + 800] for i in range(max(0, around - 2400), around + 2400, 80)]
    loudest = max((w for w in windows if len(w) == 800), key=lambda w: float(np.abs(w.astype(np.int32)).sum()))
    spectrum = np.abs(np.fft.rfft(loudest * np.hanning(800)))
    return float(np.argmax(spectrum) * 8000 / 800)


def test_sigterm_hangs_up_live_calls_and_writes_files(tmp_path: Path, speech_wavs: fx.SpeechWavs) -> None:
    persona = {"id": "stays", "turns": [{"wav": str(speech_wavs.simulator_8k), "wait_for_robot": False}]}
    outcome: dict[str, Any] = {}

    async def scenario(sim: SimulatorProcess, caller: fx.Caller) -> None:
        call = await caller.dial(sim.uri("stays"))
        talking = asyncio.ensure_future(caller.talk(call, None, 0.0, max_s=20))
        await asyncio.sleep(1.5)
        outcome["rc"] = await sim.stop()
        outcome["leg"] = await talking

    sim = run_with_simulator(tmp_path, [persona], scenario)
    (result,) = sim.results()
    assert outcome["rc"] == 0 and outcome["leg"].closed_by_remote
    hangup = next(e for e in result.events if e["kind"] == "hangup")
    assert (hangup["by"], hangup["reason"]) == ("simulator", "shutdown")
    assert [e.get("cut") for e in result.events if e["kind"] == "speech_end"] == [True]
    said = fx.read_wav(result.said_wav)
    assert len(said) / 8000 == pytest.approx(hangup["t_s"] - result.audio_start_s, abs=0.1)


def test_wideband_call_at_16_khz(tmp_path: Path, speech_wavs: fx.SpeechWavs) -> None:
    wav16 = tmp_path / "simulator_16k.wav"
    subprocess.run(["sox", str(speech_wavs.simulator_8k), "-r", "16000", str(wav16)], check=True, timeout=30)
    persona = {"id": "wide", "turns": [{"wav": str(wav16), "wait_for_robot": False}], "hangup_after_s": 0.5}
    legs: list[fx.CallerLeg] = []

    async def scenario(sim: SimulatorProcess, caller: fx.Caller) -> None:
        call = await caller.dial(sim.uri("wide"))
        legs.append(await caller.talk(call, None, 0.0, max_s=15))
        await sim.wait_for_results(1)

    sim = run_with_simulator(tmp_path, [persona], scenario, rate_hz=16000, codecs=("G722/16000/1",))
    (result,) = sim.results()
    assert result.sample_rate_hz == 16000 and result.outcome == "answered" and legs[0].rate_hz == 16000
    corr, _ = normalised_xcorr(fx.trim(fx.read_wav(wav16)), legs[0].samples())
    assert corr >= MIN_CORR, f"G.722 speech arrived damaged: corr {corr:.3f}"


def test_a_bad_personas_file_fails_the_start_with_the_reason(tmp_path: Path) -> None:
    personas = write_personas(tmp_path, [{"id": "x", "answer": "sometimes"}])
    sim = SimulatorProcess(personas, tmp_path / "out", port=free_port(), ready_timeout_s=30)
    with pytest.raises(SimulatorStartError, match=r"persona 'x': answer: expected one of"):
        asyncio.run(sim.start())
    assert sim.returncode == 2
