"""Audio both ways against baresip, a real SIP phone that answers, talks (a speech wav) and records.

The first two tests check the harness itself with SIPp (no robot); the last one is the robot's call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from telephony import CallResult, SipWorkerPool
from tests.sip.peers import Baresip, Sipp, read_wav, receive_audio, send_audio, speech_intact, wait_idle

pytestmark = pytest.mark.sip

RATE_HZ = 8000
MIN_CORR = 0.95


def heard_by(phone: Baresip) -> npt.NDArray[np.int16]:
    """What baresip decoded during its (finished) call."""
    phone.wait_for_output(r"terminated \(duration", timeout_s=10.0)  # the recording is closed then
    samples, rate_hz = read_wav(phone.recorded_wav())
    assert rate_hz == RATE_HZ
    return samples


def test_baresip_hears_its_own_speech_through_the_sipp_echo(
    baresip: Callable[..., Baresip], sipp_uas: Callable[..., Sipp], customer_wav: Path
) -> None:
    uas = sipp_uas("answer_echo", rtp_echo=True)
    phone = baresip(customer_wav, ctrl=True)
    phone.command("dial", uas.uri)
    phone.wait_for_output(r"Call established", timeout_s=10.0)
    speech, _ = read_wav(customer_wav)
    time.sleep(1.0 + len(speech) / RATE_HZ + 1.0)  # lead silence + speech + echo delay
    phone.command("hangup")
    match = speech_intact(speech, heard_by(phone), RATE_HZ)
    assert match.corr >= MIN_CORR and match.frame_loss < 0.01, match
    assert uas.wait(10.0) == 0, uas.diagnostics()


def test_baresip_hears_the_sipp_stream_until_sipp_hangs_up(
    baresip: Callable[..., Baresip], sipp_uas: Callable[..., Sipp], customer_wav: Path, robot_wav: Path
) -> None:
    uas = sipp_uas("answer_then_bye", play_wav=robot_wav, pause_ms=4000)
    phone = baresip(customer_wav, ctrl=True)
    phone.command("dial", uas.uri)
    assert uas.wait(15.0) == 0, uas.diagnostics()
    played, _ = read_wav(robot_wav)
    match = speech_intact(played[: 3 * RATE_HZ], heard_by(phone), RATE_HZ)
    assert match.corr >= MIN_CORR and match.frame_loss < 0.01, match


def test_robot_and_baresip_hear_each_other(
    baresip: Callable[..., Baresip], robot_config: Callable[..., Any], customer_wav: Path, robot_wav: Path
) -> None:
    phone = baresip(customer_wav)  # answers at once; 1 s of silence, then the customer speaks
    customer, _ = read_wav(customer_wav)
    robot, _ = read_wav(robot_wav)

    async def scenario() -> tuple[CallResult, npt.NDArray[np.int16], int]:
        async with SipWorkerPool(robot_config()) as pool:
            call = await pool.place_call(phone.aor, caller_id=None, headers={"X-Lead": "7"})
            assert await asyncio.wait_for(call.wait_answered(), 10.0)
            listen_s = 1.0 + len(customer) / RATE_HZ + 1.0
            heard, _ = await asyncio.gather(receive_audio(call, listen_s), send_audio(call, robot, RATE_HZ))
            await call.wait_played()
            return await call.hangup(), heard, await wait_idle(pool)

    result, heard, active = asyncio.run(scenario())
    assert (result.disposition, result.hangup_by) == ("answered", "local")
    assert active == 0
    robot_heard = speech_intact(customer, heard, RATE_HZ)
    assert robot_heard.corr >= MIN_CORR and robot_heard.frame_loss < 0.01, robot_heard
    customer_heard = speech_intact(robot, heard_by(phone), RATE_HZ)
    assert customer_heard.corr >= MIN_CORR and customer_heard.frame_loss < 0.01, customer_heard
