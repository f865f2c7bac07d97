"""Acceptance: 8 concurrent calls from the worker pool (two workers) to the customer simulator.

The simulator's persona speaks a real speech WAV as soon as it answers; the robot speaks another one at the
same time. Each direction must arrive intact: normalised cross-correlation >= 0.95 against the source, and
fewer than 1 % of its 20 ms frames lost or mangled (`speech_intact`: alignment follows jitter-buffer shifts).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from telephony import Call, CallResult, PoolConfig, SipWorkerPool
from telephony.simulator import SimulatorProcess
from telephony.simulator.timeline import CallResult as SimCall
from tests.ports import free_port
from tests.sip.peers import make_speech_wav, read_wav, receive_audio, send_audio, speech_intact

pytestmark = pytest.mark.sip
RATE_HZ = 8000
CALLS = 8


def write_personas(folder: Path, speech: Path) -> Path:
    path = folder / "personas.yaml"
    path.write_text(
        "personas:\n"
        "  - id: talker\n"
        "    ring_s: 0.2\n"
        "    turns:\n"
        f"      - wav: {speech}\n"
        "        wait_for_robot: false\n"
        "        gap_ms: [200, 200]\n"
    )
    return path


async def one_call(
    pool: SipWorkerPool, uri: str, robot_says: npt.NDArray[np.int16], rate_hz: int = RATE_HZ
) -> tuple[CallResult, np.ndarray]:
    call: Call = await pool.place_call(uri)
    assert await asyncio.wait_for(call.wait_answered(), 15.0)
    # the robot starts half a second after the answer, as a person would; the customer's recording starts
    # when its media is up, which can be a frame after our first RTP packet
    lead = np.zeros(rate_hz // 2, dtype=np.int16)
    heard, _ = await asyncio.gather(
        receive_audio(call, 13.0), send_audio(call, np.concatenate([lead, robot_says]), rate_hz)
    )
    return await call.hangup(), heard


def test_eight_concurrent_calls_to_the_simulator_carry_speech_both_ways_intact(tmp_path: Path) -> None:
    # ~8 s each: a loss rate under 1 % needs a few hundred voiced frames to be measured at all
    customer_wav = make_speech_wav(
        tmp_path / "customer.wav",
        "Hello? Yes, this is John speaking. Who is calling, please? "
        "I already have a contract with another company, and I am quite happy with it, thank you.",
    )
    robot_wav = make_speech_wav(
        tmp_path / "robot.wav",
        "Good morning John, I am calling about your energy contract. "
        "We can lower your monthly bill by about twenty percent, with no change to your supply.",
    )
    customer, _ = read_wav(customer_wav)
    robot, _ = read_wav(robot_wav)
    personas = write_personas(tmp_path, customer_wav)
    rtp_low = free_port(span=128)
    cfg = PoolConfig(max_calls=CALLS, sample_rate_hz=RATE_HZ, sip_port=0, rtp_port=free_port(span=200))

    async def scenario() -> tuple[list[tuple[CallResult, np.ndarray]], list[int], list[SimCall]]:
        sim_ports = (rtp_low, rtp_low + 127)
        async with SimulatorProcess(personas, tmp_path / "sim", port=free_port(), rtp_ports=sim_ports) as sim:
            async with SipWorkerPool(cfg) as pool:
                outcomes = await asyncio.gather(*(one_call(pool, sim.uri("talker"), robot) for _ in range(CALLS)))
                workers = pool.worker_pids()
            return outcomes, workers, await sim.wait_for_results(CALLS)

    outcomes, workers, sim_results = asyncio.run(scenario())
    assert len(workers) == 2, "8 calls need two workers of 4"
    assert len(sim_results) == CALLS
    for result, heard in outcomes:
        assert result.answered and result.disposition == "answered"
        match = speech_intact(customer, heard, RATE_HZ)
        assert match.corr >= 0.95 and match.frame_loss < 0.01, f"customer -> robot {match} {result.media}"
        media = result.media
        assert (media["rx_lost"] + media["jb_discarded"]) / media["rx_packets"] < 0.01, media
    for sim_call in sim_results:
        heard_by_customer, _ = read_wav(sim_call.heard_wav)
        match = speech_intact(robot, heard_by_customer, RATE_HZ)
        assert match.corr >= 0.95 and match.frame_loss < 0.01, f"robot -> customer {match} in {sim_call.dir.name}"


def test_a_16_khz_line_negotiates_g722_and_carries_wideband_speech(tmp_path: Path) -> None:
    """The simulator at 16 kHz offers G.722 only; our preference list puts it first at any line rate."""
    rate = 16000
    customer_wav = make_speech_wav(
        tmp_path / "c16.wav", "Hello, who is this please? I only have a minute before my next meeting.", rate_hz=rate
    )
    robot_wav = make_speech_wav(
        tmp_path / "r16.wav", "Good afternoon, this is the energy team, calling about your new tariff.", rate_hz=rate
    )
    customer, robot = read_wav(customer_wav)[0], read_wav(robot_wav)[0]
    personas = write_personas(tmp_path, customer_wav)
    cfg = PoolConfig(max_calls=1, sample_rate_hz=rate, sip_port=0, rtp_port=free_port(span=40))

    async def scenario() -> tuple[tuple[CallResult, np.ndarray], list[SimCall]]:
        low = free_port(span=16)
        async with SimulatorProcess(
            personas, tmp_path / "sim", port=free_port(), rtp_ports=(low, low + 15), rate_hz=rate
        ) as sim:
            async with SipWorkerPool(cfg) as pool:
                outcome = await one_call(pool, sim.uri("talker"), robot, rate)
            return outcome, await sim.wait_for_results(1)

    (result, heard), (sim_call,) = asyncio.run(scenario())
    assert result.codec == "G722/16000", result.codec
    match = speech_intact(customer, heard, rate)
    assert match.corr >= 0.95 and match.frame_loss < 0.01, match
    heard_by_customer, sim_rate = read_wav(sim_call.heard_wav)
    assert sim_rate == rate
    match = speech_intact(robot, heard_by_customer, rate)
    assert match.corr >= 0.95 and match.frame_loss < 0.01, match
