"""Fixtures for the sip tier: real peers on free loopback ports, always stopped by PID when a test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port
from tests.sip.peers import LOOPBACK, Baresip, Kamailio, Sipp, make_speech_wav

CUSTOMER_TEXT = "Hello? Yes, this is John speaking. Who is calling, please?"
ROBOT_TEXT = "Good morning. This is the automated assistant of your energy company, calling about your contract."


@pytest.fixture
def peers() -> Iterator[ExitStack]:
    """Enter peers here (`peers.enter_context(Sipp(...))`): they are stopped even when the test fails."""
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def customer_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the customer says: 8 kHz mono s16 speech (espeak-ng), about 4.5 s."""
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "customer.wav", CUSTOMER_TEXT)


@pytest.fixture(scope="session")
def robot_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the robot says: different speech, about 6 s."""
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "robot.wav", ROBOT_TEXT)


@pytest.fixture
def sipp_uas(peers: ExitStack, tmp_path: Path) -> Callable[..., Sipp]:
    """`sipp_uas("busy_486", pause_ms=..., play_wav=...)`: a SIPp UAS answering one call of a scenario."""

    def start(scenario: str, **kwargs: Any) -> Sipp:
        sipp = Sipp(scenario, free_port(), free_port(span=4), workdir=tmp_path / f"uas-{scenario}", **kwargs)
        return peers.enter_context(sipp)

    return start


@pytest.fixture
def sipp_uac(peers: ExitStack, tmp_path: Path) -> Callable[..., Sipp]:
    """`sipp_uac("uac_cancel", uas, rtp_port=N)`: a SIPp caller running one call against `uas`.

    `rtp_port` goes into the caller's SDP (`[rtp_port]`); by default SIPp's own, unused media port.
    """

    def start(scenario: str, uas: Sipp, *, rtp_port: int | None = None, **kwargs: Any) -> Sipp:
        media_port = free_port(span=4)
        sipp = Sipp(
            scenario,
            free_port(),
            media_port,
            workdir=tmp_path / f"uac-{scenario}",
            remote=f"{LOOPBACK}:{uas.port}",
            keys={"rtp_port": str(rtp_port or media_port)},
            **kwargs,
        )
        return peers.enter_context(sipp)

    return start


@pytest.fixture
def baresip(peers: ExitStack, tmp_path: Path) -> Callable[..., Baresip]:
    """`baresip(wav, user=..., registrar=..., ctrl=True)`: an auto-answering baresip playing `wav`."""

    def start(wav: Path, *, ctrl: bool = False, user: str = "customer", **kwargs: Any) -> Baresip:
        peer = Baresip(
            tmp_path / f"baresip-{user}",
            free_port(),
            wav,
            user=user,
            ctrl_port=free_port() if ctrl else None,
            **kwargs,
        )
        return peers.enter_context(peer)

    return start


@pytest.fixture
def kamailio(peers: ExitStack, tmp_path: Path) -> Kamailio:
    """kamailio as registrar/proxy; user "robot" (password "secret") must pass digest auth."""
    return peers.enter_context(Kamailio(tmp_path / "kamailio", free_port(), {"robot": "secret"}))


@pytest.fixture
def robot_config() -> Callable[..., Any]:
    """`robot_config(ring_timeout_s=2, account=...)`: the robot's PoolConfig for direct calls on loopback."""
    from telephony import PoolConfig, SipAccount

    def make(**overrides: Any) -> PoolConfig:
        settings: dict[str, Any] = {
            "account": SipAccount(user="robot", host=LOOPBACK),
            "max_calls": 4,
            "sample_rate_hz": 8000,
            "ring_timeout_s": 30.0,
            "media_timeout_s": 20.0,
            "sip_port": 0,
            "rtp_port": free_port(span=200),
        }
        return PoolConfig(**(settings | overrides))

    return make
