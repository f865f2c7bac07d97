"""The fault matrix: how each far-end behaviour becomes a call result.

First every SIPp scenario is checked against a SIPp caller (so a failure later is the robot's, not the
scenario's), then the robot calls each scenario and its disposition, status and hang-up side are checked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from telephony import CallResult, SipWorkerPool
from tests.ports import free_port
from tests.sip.peers import (
    RtpEndpoint,
    Sipp,
    normalised_xcorr,
    read_wav,
    receive_audio,
    send_audio,
    speech_intact,
    wait_idle,
)

pytestmark = pytest.mark.sip

RATE_HZ = 8000
REJECTIONS = [  # scenario, final status, disposition
    ("busy_486", 486, "busy"),
    ("busy_486_no_trying", 486, "busy"),  # the final response is the first thing the far end sends
    ("not_found_404", 404, "invalid_number"),
    ("temporarily_unavailable_480", 480, "no_answer"),
    ("request_timeout_408", 408, "no_answer"),
    ("service_unavailable_503", 503, "unavailable"),
]

SippFactory = Callable[..., Sipp]


def assert_scenario_passed(*peers: Sipp, timeout_s: float = 20.0) -> None:
    for sipp in peers:
        assert sipp.wait(timeout_s) == 0, sipp.diagnostics()


# --- the scenarios against SIPp callers ---------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "status"), [(s, c) for s, c, _ in REJECTIONS])
def test_rejecting_scenario_sends_its_status_and_takes_the_ack(
    sipp_uas: SippFactory, sipp_uac: SippFactory, scenario: str, status: int
) -> None:
    uas = sipp_uas(scenario)
    uac = sipp_uac("uac_expect_final", uas)
    assert_scenario_passed(uac, uas)
    assert re.search(rf"^SIP/2.0 {status} ", uac.messages(), re.MULTILINE)


def test_ring_forever_answers_cancel_with_200_and_487(sipp_uas: SippFactory, sipp_uac: SippFactory) -> None:
    uas = sipp_uas("ring_forever")
    uac = sipp_uac("uac_cancel", uas, pause_ms=1000)
    assert_scenario_passed(uac, uas)
    assert "SIP/2.0 487 Request Terminated" in uac.messages()


def test_answer_then_bye_streams_the_wav_then_hangs_up(
    sipp_uas: SippFactory, sipp_uac: SippFactory, customer_wav: Path
) -> None:
    uas = sipp_uas("answer_then_bye", play_wav=customer_wav, pause_ms=3000)
    with RtpEndpoint(free_port()) as caller_media:
        uac = sipp_uac("uac_wait_bye", uas, rtp_port=caller_media.port)
        assert_scenario_passed(uac, uas)
    reference, _ = read_wav(customer_wav)
    heard = caller_media.pcmu_audio()
    assert len(heard) >= 2.5 * RATE_HZ
    corr, _ = normalised_xcorr(reference[: 2 * RATE_HZ], heard)
    assert corr >= 0.95, "SIPp must stream the wav itself (raw u-law), not its header"


def test_answer_rtp_stops_goes_silent_after_two_seconds(
    sipp_uas: SippFactory, sipp_uac: SippFactory, customer_wav: Path
) -> None:
    uas = sipp_uas("answer_rtp_stops", play_wav=customer_wav)
    with RtpEndpoint(free_port()) as caller_media:
        uac = sipp_uac("uac_bye_after", uas, rtp_port=caller_media.port, pause_ms=5000)
        assert_scenario_passed(uac, uas)
    arrivals = [p.arrival_s for p in caller_media.packets]
    assert arrivals, "no RTP at all"
    assert 1.7 <= arrivals[-1] - arrivals[0] <= 2.5
    assert 90 <= len(arrivals) <= 130  # 50 packets/s for 2 s, then none until the BYE 3 s later


def test_answer_echo_returns_every_packet(sipp_uas: SippFactory, sipp_uac: SippFactory) -> None:
    uas = sipp_uas("answer_echo", rtp_echo=True)
    with RtpEndpoint(free_port()) as caller_media:
        uac = sipp_uac("uac_bye_after", uas, rtp_port=caller_media.port, pause_ms=2000)
        for seq in range(50):
            caller_media.send(uas.media_port, seq, bytes([seq]) * 160)
        assert_scenario_passed(uac, uas)
    echoed = {p.seq: p.payload for p in caller_media.packets}
    assert echoed == {seq: bytes([seq]) * 160 for seq in range(50)}


# --- the robot against the scenarios -----------------------------------------------------------------


async def dial_and_wait(cfg: Any, uri: str, timeout_s: float = 30.0) -> tuple[bool, CallResult, int]:
    """Place one call, wait for its end; returns (answered, result, active calls afterwards)."""
    async with SipWorkerPool(cfg) as pool:
        call = await pool.place_call(uri, caller_id=None, headers={"X-Lead": "7"})
        answered = await asyncio.wait_for(call.wait_answered(), timeout_s)
        result = await call.wait_ended(timeout_s=timeout_s)
        return answered, result, await wait_idle(pool)


@pytest.mark.parametrize(("scenario", "status", "disposition"), REJECTIONS)
def test_robot_maps_a_refused_call_to_its_disposition(
    sipp_uas: SippFactory, robot_config: Callable[..., Any], scenario: str, status: int, disposition: str
) -> None:
    uas = sipp_uas(scenario)
    answered, result, active = asyncio.run(dial_and_wait(robot_config(), uas.uri))
    assert not answered
    assert (result.disposition, result.sip_status, result.answered) == (disposition, status, False)
    assert active == 0
    assert_scenario_passed(uas)


def test_robot_cancels_after_the_ring_timeout(sipp_uas: SippFactory, robot_config: Callable[..., Any]) -> None:
    uas = sipp_uas("ring_forever")
    answered, result, active = asyncio.run(dial_and_wait(robot_config(ring_timeout_s=2.0), uas.uri))
    assert not answered
    assert (result.disposition, result.hangup_by) == ("no_answer", "system")
    assert 1.5 <= result.setup_s <= 5.0
    assert active == 0
    assert_scenario_passed(uas)  # it saw our CANCEL and our ACK of its 487


def test_robot_reports_a_remote_bye_while_it_is_talking(
    sipp_uas: SippFactory, robot_config: Callable[..., Any], customer_wav: Path, robot_wav: Path
) -> None:
    uas = sipp_uas("answer_then_bye", play_wav=customer_wav, pause_ms=3000)
    speech, _ = read_wav(robot_wav)

    async def scenario() -> tuple[CallResult, np.ndarray, int]:
        async with SipWorkerPool(robot_config()) as pool:
            call = await pool.place_call(uas.uri, caller_id=None, headers={"X-Lead": "7"})
            assert await asyncio.wait_for(call.wait_answered(), 10.0)
            heard, _ = await asyncio.gather(receive_audio(call, 15.0), send_audio(call, speech, RATE_HZ))
            return await call.wait_ended(timeout_s=5.0), heard, await wait_idle(pool)

    result, heard, active = asyncio.run(scenario())
    assert (result.disposition, result.hangup_by, result.answered) == ("answered", "remote", True)
    assert 2.5 <= result.duration_s <= 6.0
    assert active == 0
    reference, _ = read_wav(customer_wav)
    match = speech_intact(reference[RATE_HZ // 2 : 2 * RATE_HZ], heard, RATE_HZ)
    assert match.corr >= 0.95 and match.frame_loss < 0.01, (match, result.media)
    assert_scenario_passed(uas)


def test_robot_ends_a_call_whose_media_stopped(
    sipp_uas: SippFactory, robot_config: Callable[..., Any], customer_wav: Path
) -> None:
    uas = sipp_uas("answer_rtp_stops", play_wav=customer_wav)

    async def scenario() -> tuple[CallResult, int]:
        async with SipWorkerPool(robot_config(media_timeout_s=2.0)) as pool:
            call = await pool.place_call(uas.uri, caller_id=None, headers={"X-Lead": "7"})
            assert await asyncio.wait_for(call.wait_answered(), 10.0)
            await receive_audio(call, 15.0)
            return await call.wait_ended(timeout_s=5.0), await wait_idle(pool)

    result, active = asyncio.run(scenario())
    assert (result.disposition, result.hangup_by) == ("network_error", "system")
    assert "media_timeout" in result.reason
    assert 3.5 <= result.duration_s <= 8.0  # 2 s of audio, then 2 s of nothing
    assert active == 0
    assert_scenario_passed(uas)  # it got our BYE


def test_robot_hears_its_own_speech_from_the_echo(
    sipp_uas: SippFactory, robot_config: Callable[..., Any], robot_wav: Path
) -> None:
    uas = sipp_uas("answer_echo", rtp_echo=True)
    speech, _ = read_wav(robot_wav)

    async def scenario() -> tuple[CallResult, np.ndarray, int]:
        async with SipWorkerPool(robot_config()) as pool:
            call = await pool.place_call(uas.uri, caller_id=None, headers={"X-Lead": "7"})
            assert await asyncio.wait_for(call.wait_answered(), 10.0)
            heard, _ = await asyncio.gather(
                receive_audio(call, len(speech) / RATE_HZ + 1.5), send_audio(call, speech, RATE_HZ)
            )
            return await call.hangup(), heard, await wait_idle(pool)

    result, heard, active = asyncio.run(scenario())
    assert (result.disposition, result.hangup_by) == ("answered", "local")
    assert active == 0
    match = speech_intact(speech, heard, RATE_HZ)
    assert match.corr >= 0.95 and match.frame_loss < 0.01, match
    assert_scenario_passed(uas)
