"""The SIP test harness's pure parts: config rendering, scenario files, correlation. No processes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.sip.peers import (
    SCENARIOS_DIR,
    ULAW_TO_PCM,
    _is_unregister,
    normalised_xcorr,
    render_baresip_account,
    render_baresip_config,
    render_kamailio_cfg,
    speech_intact,
)

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(7)


def test_kamailio_cfg_listens_on_loopback_and_holds_each_password_once() -> None:
    cfg = render_kamailio_cfg(5099, {"robot": "secret", "agent-2": "p.w"})
    assert "listen=udp:127.0.0.1:5099" in cfg
    assert 'case "robot":\n            $var(pw) = "secret";' in cfg
    assert 'case "agent-2":\n            $var(pw) = "p.w";' in cfg
    assert not re.search(r"@[A-Z_]+@", cfg), "a template placeholder was left in"


@pytest.mark.parametrize("users", [{"robot": 'se"cret'}, {"ro bot": "secret"}, {"robot": ""}])
def test_kamailio_cfg_refuses_what_would_need_escaping(users: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="expected user and password"):
        render_kamailio_cfg(5099, users)


def test_kamailio_cfg_without_users_challenges_nobody() -> None:
    cfg = render_kamailio_cfg(5099, {})
    assert "case " not in cfg
    assert "switch ($var(user)) {\n    }" in cfg


@pytest.mark.parametrize(
    ("expires", "contact", "unregister"),
    [
        ("<null>", "<sip:robot@127.0.0.1:5070>;expires=10", False),
        ("<null>", "<sip:robot@127.0.0.1:5070>;expires=0", True),
        ("0", "<sip:robot@127.0.0.1:5070>", True),
        ("<null>", "*", True),
    ],
)
def test_unregister_is_told_apart_from_a_refresh(expires: str, contact: str, unregister: bool) -> None:
    assert _is_unregister(expires, contact) is unregister


def test_baresip_config_binds_loopback_and_records() -> None:
    cfg = render_baresip_config(
        port=5062, rtp_ports=(30000, 30009), audio_source=Path("/t/src.wav"), snd_dir=Path("/t/rec"), ctrl_port=4444
    )
    lines = set(cfg.splitlines())
    for line in (
        "sip_listen 127.0.0.1:5062",
        "net_interface 127.0.0.1",
        "rtp_ports 30000-30009",
        "audio_source aufile,/t/src.wav",
        "module sndfile.so",
        "snd_path /t/rec",
        "ctrl_tcp_listen 127.0.0.1:4444",
    ):
        assert line in lines


def test_baresip_config_without_ctrl_loads_no_ctrl_module() -> None:
    cfg = render_baresip_config(
        port=5062, rtp_ports=(1, 2), audio_source=Path("/a.wav"), snd_dir=Path("/r"), ctrl_port=None
    )
    assert "ctrl_tcp" not in cfg


def test_baresip_account_auto_answers_pcmu_and_registers_only_when_asked() -> None:
    direct = render_baresip_account(user="customer", domain="127.0.0.1:5062", register=False)
    assert direct == "<sip:customer@127.0.0.1:5062>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1\n"
    registering = render_baresip_account(
        user="robot", domain="127.0.0.1:5060", register=True, regint_s=30, auth_pass="secret"
    )
    assert registering.startswith("<sip:robot@127.0.0.1:5060>;regint=30;")
    assert registering.rstrip().endswith(";auth_pass=secret")


@pytest.mark.parametrize("path", sorted(SCENARIOS_DIR.glob("*.xml")), ids=lambda p: p.name)
def test_scenario_is_well_formed_xml(path: Path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag == "scenario"
    assert root.find("recv") is not None or root.find("send") is not None


def test_ulaw_table_decodes_the_extremes() -> None:
    assert ULAW_TO_PCM[0xFF] == 0 and ULAW_TO_PCM[0x7F] == 0
    assert ULAW_TO_PCM[0x00] == -32124 and ULAW_TO_PCM[0x80] == 32124


def test_xcorr_finds_a_scaled_copy_at_its_lag() -> None:
    reference = RNG.normal(0, 3000, 4000)
    recording = np.concatenate([np.zeros(1234), 0.5 * reference, RNG.normal(0, 3000, 500)])
    corr, lag = normalised_xcorr(reference, recording)
    assert corr == pytest.approx(1.0, abs=1e-9)
    assert lag == 1234


def test_xcorr_of_unrelated_signals_is_low() -> None:
    corr, _ = normalised_xcorr(RNG.normal(0, 1, 4000), RNG.normal(0, 1, 20000))
    assert corr < 0.1


def test_xcorr_penalises_a_recording_that_lost_half_the_reference() -> None:
    reference = RNG.normal(0, 3000, 4000)
    corr, _ = normalised_xcorr(reference, reference[:2000])
    assert 0.6 < corr < 0.8  # sqrt(1/2): the missing half counts as silence


def test_xcorr_ignores_rounding_noise_in_silence() -> None:
    reference = RNG.normal(0, 3000, 800)
    recording = np.concatenate([np.zeros(5000), reference, np.zeros(5000)])
    recording[100] = 1e-9
    corr, lag = normalised_xcorr(reference, recording)
    assert corr == pytest.approx(1.0)
    assert lag == 5000


def test_xcorr_refuses_a_silent_reference() -> None:
    with pytest.raises(ValueError, match="non-silent"):
        normalised_xcorr(np.zeros(100), np.ones(1000))


def _speechlike(seconds: float = 3.0, rate: int = 8000) -> np.ndarray:
    """Noise under a syllable-rate envelope with pauses: voiced stretches that no shift can fake."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None) ** 0.5 * 8000
    return (rng.standard_normal(len(t)) * envelope).astype(np.int16)


def test_speech_intact_scores_an_intact_copy_at_any_offset() -> None:
    x = _speechlike()
    match = speech_intact(x, np.concatenate([np.zeros(1234, np.int16), x]), 8000)
    assert match.corr > 0.999 and match.frame_loss == 0.0 and match.frames > 50


def test_speech_intact_follows_a_jitter_buffer_shift_that_breaks_one_correlation() -> None:
    x = _speechlike()
    cut = len(x) // 2 // 160 * 160
    shifted = np.concatenate([x[:cut], x[cut - 160 : cut], x[cut:]])  # one concealment frame played
    assert normalised_xcorr(x, shifted)[0] < 0.8
    match = speech_intact(x, shifted, 8000)
    assert match.corr > 0.99 and match.frame_loss == 0.0


def test_speech_intact_counts_lost_frames_and_fails_noise() -> None:
    x = _speechlike()
    lossy = x.copy()
    voiced = [k for k in range(len(x) // 160) if np.abs(x[k * 160 : k * 160 + 160]).mean() > 2000]
    for k in voiced[5:50:9]:
        lossy[k * 160 : k * 160 + 160] = 0
    match = speech_intact(x, lossy, 8000)
    assert len(match.misses) == 5
    assert match.frame_loss > 0.01
    noisy = (x + np.random.default_rng(1).normal(0, 6000, len(x))).astype(np.int16)
    assert speech_intact(x, noisy, 8000).corr < 0.95


def test_speech_intact_follows_a_shift_in_the_last_frames_of_an_utterance() -> None:
    x = _speechlike(2.0)
    voiced = [k for k in range(len(x) // 160) if np.abs(x[k * 160 : k * 160 + 160]).mean() > 2000]
    cut = (voiced[-2]) * 160  # a concealment frame just before the last two voiced frames
    shifted = np.concatenate([x[:cut], x[cut - 160 : cut], x[cut:]])
    match = speech_intact(x, shifted, 8000)
    assert match.frame_loss == 0.0, match.misses
