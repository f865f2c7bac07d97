from pathlib import Path

import numpy as np
import pytest

from telephony import AudioFrame, PoolConfig, SipAccount, frame_bytes, split_frames

pytestmark = pytest.mark.unit


def test_frame_sizes() -> None:
    assert frame_bytes(8000) == 320
    assert frame_bytes(16000) == 640


def test_frame_rejects_wrong_size_and_rate() -> None:
    with pytest.raises(ValueError, match="expected 320 bytes"):
        AudioFrame(b"\x00" * 100, 8000)
    with pytest.raises(ValueError, match="expected a sample rate"):
        AudioFrame(b"\x00" * 320, 11025)


def test_split_frames_pads_the_tail_and_numbers_from_one() -> None:
    x = np.arange(400, dtype=np.int16)
    frames = split_frames(x, 8000)
    assert [f.seq for f in frames] == [1, 2, 3]
    joined = np.concatenate([f.samples for f in frames])
    assert np.array_equal(joined[:400], x)
    assert not joined[400:].any()


def test_worker_settings_give_each_worker_its_own_ports() -> None:
    cfg = PoolConfig(max_calls=10, sip_port=5070, rtp_port=40000, rtp_ports_per_worker=40)
    assert cfg.max_workers == 3
    s0, s2 = cfg.worker_settings(0), cfg.worker_settings(2)
    assert (s0["sip_port"], s2["sip_port"]) == (5070, 5072)
    assert (s0["rtp_port"], s2["rtp_port"]) == (40000, 40080)
    assert PoolConfig(sip_port=0).worker_settings(3)["sip_port"] == 0


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="calls_per_worker"):
        PoolConfig(calls_per_worker=5)
    with pytest.raises(ValueError, match="sample_rate_hz"):
        PoolConfig(sample_rate_hz=44100)


def test_account_repr_hides_the_password() -> None:
    text = repr(SipAccount(auth_username="robot", auth_password="s3cret-value"))
    assert "s3cret-value" not in text
    assert "robot" in text


def test_oneshot_wav_loader_insists_on_the_line_format(tmp_path: Path) -> None:
    import wave

    from telephony.oneshot import load_wav

    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(400))
    with pytest.raises(ValueError, match="expected a mono 16-bit 8000 Hz WAV"):
        load_wav(path, 8000)
