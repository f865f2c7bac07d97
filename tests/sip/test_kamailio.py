"""Calls through kamailio as the carrier stand-in: registrar and proxy with digest auth for "robot".

The customer (baresip) registers without auth; the robot must answer a 401 on REGISTER and a 407 on
INVITE. The harness is first checked with baresip in the robot's place.
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

from telephony import CallResult, SipAccount, SipWorkerPool
from tests.sip.peers import (
    Baresip,
    Kamailio,
    check_kamailio_cfg,
    read_wav,
    receive_audio,
    render_kamailio_cfg,
    speech_intact,
    wait_idle,
)

pytestmark = pytest.mark.sip

RATE_HZ = 8000
MIN_CORR = 0.95
REGISTER_EXPIRES_S = 10  # pjsip refreshes 5 s before expiry (and no sooner than 5 s after registering)


def robot_account(kamailio: Kamailio, password: str) -> SipAccount:
    return SipAccount(
        user="robot",
        host="127.0.0.1",
        domain=kamailio.hostport,
        registrar_uri=kamailio.uri,
        outbound_proxy=f"{kamailio.uri};lr",
        auth_username="robot",
        auth_password=password,
        register_expires_s=REGISTER_EXPIRES_S,
    )


def registered_customer(baresip: Callable[..., Baresip], kamailio: Kamailio, wav: Path) -> Baresip:
    phone = baresip(wav, registrar=kamailio.hostport)
    kamailio.wait_for_log(r"REGISTERED user=customer", timeout_s=10.0)
    return phone


def test_rendered_config_passes_kamailio_syntax_check(tmp_path: Path) -> None:
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(render_kamailio_cfg(5060, {"robot": "secret", "agent-7": "pa.ss"}))
    checked = check_kamailio_cfg(cfg)
    assert checked.returncode == 0, checked.stderr
    assert "config file ok" in checked.stdout + checked.stderr


def test_kamailio_challenges_only_the_robot_and_proxies_its_call(
    baresip: Callable[..., Baresip], kamailio: Kamailio, customer_wav: Path, robot_wav: Path
) -> None:
    customer = registered_customer(baresip, kamailio, customer_wav)
    stand_in = baresip(robot_wav, user="robot", registrar=kamailio.hostport, auth_pass="secret", ctrl=True)
    kamailio.wait_for_log(r"REGISTERED user=robot", timeout_s=10.0)
    stand_in.command("dial", customer.aor)
    customer.wait_for_output(r"Call established", timeout_s=10.0)
    time.sleep(3.0)
    stand_in.command("hangup")
    customer.wait_for_output(r"terminated \(duration", timeout_s=10.0)
    assert kamailio.count("CHALLENGE", "REGISTER", "customer") == 0
    assert kamailio.count("CHALLENGE", "REGISTER", "robot") >= 1
    assert kamailio.count("AUTH-OK", "REGISTER", "robot") >= 1
    assert kamailio.count("CHALLENGE", "INVITE", "robot") == 1
    assert kamailio.count("AUTH-OK", "INVITE", "robot") == 1


def test_kamailio_refuses_the_robot_user_with_a_wrong_password(
    baresip: Callable[..., Baresip], kamailio: Kamailio, robot_wav: Path
) -> None:
    stand_in = baresip(robot_wav, user="robot", registrar=kamailio.hostport, auth_pass="wrong")
    kamailio.wait_for_log(r"AUTH-FAILED REGISTER user=robot auth_rc=-2", timeout_s=10.0)
    stand_in.wait_for_output(r"401 Unauthorized", timeout_s=5.0)
    assert kamailio.registrations("robot") == 0


async def wait_registrations(kamailio: Kamailio, user: str, count: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while kamailio.registrations(user) < count and time.monotonic() < deadline:  # noqa: ASYNC110 (a log file)
        await asyncio.sleep(0.2)
    return kamailio.registrations(user)


def test_robot_registers_with_digest_auth_refreshes_and_calls_through_the_proxy(
    baresip: Callable[..., Baresip], kamailio: Kamailio, robot_config: Callable[..., Any], customer_wav: Path
) -> None:
    customer = registered_customer(baresip, kamailio, customer_wav)
    speech, _ = read_wav(customer_wav)

    async def scenario() -> tuple[CallResult, npt.NDArray[np.int16], int, int]:
        async with SipWorkerPool(robot_config(account=robot_account(kamailio, "secret"))) as pool:
            await pool.wait_registered(timeout_s=10.0)
            call = await pool.place_call(customer.aor, caller_id=None, headers={"X-Lead": "7"})
            assert await asyncio.wait_for(call.wait_answered(), 10.0)
            heard = await receive_audio(call, 1.0 + len(speech) / RATE_HZ + 1.0)
            result = await call.hangup()
            registrations = await wait_registrations(kamailio, "robot", 2, REGISTER_EXPIRES_S + 5.0)
            return result, heard, await wait_idle(pool), registrations

    result, heard, active, registrations = asyncio.run(scenario())
    assert (result.disposition, result.hangup_by) == ("answered", "local")
    assert active == 0
    match = speech_intact(speech, heard, RATE_HZ)
    assert match.corr >= MIN_CORR and match.frame_loss < 0.01, match
    assert registrations >= 2, "the robot must refresh its registration before it expires"
    assert kamailio.count("CHALLENGE", "REGISTER", "robot") >= 1
    assert kamailio.count("CHALLENGE", "INVITE", "robot") == 1
    assert kamailio.count("AUTH-OK", "INVITE", "robot") == 1


def test_robot_with_a_wrong_password_neither_registers_nor_gets_through(
    baresip: Callable[..., Baresip], kamailio: Kamailio, robot_config: Callable[..., Any], customer_wav: Path
) -> None:
    customer = registered_customer(baresip, kamailio, customer_wav)

    async def scenario() -> tuple[CallResult, int]:
        async with SipWorkerPool(robot_config(account=robot_account(kamailio, "wrong"))) as pool:
            with pytest.raises(TimeoutError):
                await pool.wait_registered(timeout_s=5.0)
            call = await pool.place_call(customer.aor, caller_id=None, headers={"X-Lead": "7"})
            return await call.wait_ended(timeout_s=10.0), await wait_idle(pool)

    result, active = asyncio.run(scenario())
    assert (result.disposition, result.answered) == ("failed", False)
    assert result.sip_status in (401, 403, 407)
    assert active == 0
    assert kamailio.registrations("robot") == 0
    assert kamailio.count("AUTH-FAILED", "REGISTER", "robot") >= 1
    assert kamailio.count("AUTH-OK", "INVITE", "robot") == 0
    assert "Call established" not in customer.output()
