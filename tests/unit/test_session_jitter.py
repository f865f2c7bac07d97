"""The agent's jitter buffer: target depth, reordering, loss, late frames, overflow, underrun, resampling."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from session.jitter import AgentJitterBuffer, JitterConfig
from telephony.frames import AudioFrame, frame_samples

pytestmark = pytest.mark.unit


def level_frame(value: int, rate: int = 8000) -> bytes:
    """A frame holding one constant value: its position in the output tells which frame it was."""
    return np.full(frame_samples(rate), value, dtype="<i2").tobytes()


def tone(hz: float, seconds: float, rate: int, amplitude: float = 8000) -> npt.NDArray[np.int16]:
    t = np.arange(round(seconds * rate)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def values(frame: AudioFrame | None) -> int | None:
    return None if frame is None else int(frame.samples[-1])


def test_playout_starts_at_the_target_depth_and_frames_come_out_in_sequence_order() -> None:
    jb = AgentJitterBuffer(JitterConfig(line_rate_hz=8000, target_ms=60, max_ms=200))
    jb.push(1, level_frame(100), 8000)
    assert jb.pull() is None and not jb.playing  # 20 ms queued: below the 60 ms target
    for seq in (3, 2, 5, 4):  # reordered on the way
        jb.push(seq, level_frame(100 * seq), 8000)
    out = [values(jb.pull()) for _ in range(5)]
    assert out == [100, 200, 300, 400, 500]
    assert jb.stats.played == 5 and jb.stats.late == 0


def test_the_first_frame_fades_in() -> None:
    jb = AgentJitterBuffer(JitterConfig(target_ms=20))
    jb.push(1, level_frame(10000), 8000)
    first = jb.pull()
    assert first is not None
    assert abs(int(first.samples[0])) < 300 and first.samples[-1] == 10000


def test_late_and_duplicate_frames_are_dropped_and_counted() -> None:
    jb = AgentJitterBuffer(JitterConfig(target_ms=40))
    for seq in (1, 2, 3):
        jb.push(seq, level_frame(seq), 8000)
    assert [values(jb.pull()) for _ in range(2)] == [1, 2]
    jb.push(2, level_frame(99), 8000)  # arrives after its turn
    jb.push(3, level_frame(99), 8000)  # a copy of one still queued
    assert values(jb.pull()) == 3
    assert jb.stats.late == 1 and jb.stats.duplicates == 1


def test_a_missing_frame_is_skipped_not_waited_for() -> None:
    jb = AgentJitterBuffer(JitterConfig(target_ms=40))
    for seq in (1, 2, 4, 5):
        jb.push(seq, level_frame(seq), 8000)
    assert [values(jb.pull()) for _ in range(4)] == [1, 2, 4, 5]
    assert jb.stats.lost == 1


def test_overflow_drops_the_oldest_frames_and_bounds_the_delay() -> None:
    jb = AgentJitterBuffer(JitterConfig(target_ms=60, max_ms=200))
    for seq in range(1, 21):  # a 400 ms burst after a stall
        jb.push(seq, level_frame(seq), 8000)
    assert jb.depth_ms <= 200 and jb.stats.overflow == 10
    assert values(jb.pull()) == 11  # the newest 200 ms are kept


def test_underrun_conceals_without_a_click_then_rebuffers() -> None:
    jb = AgentJitterBuffer(JitterConfig(target_ms=40))
    signal = tone(300, 0.06, 8000)
    for seq, start in enumerate(range(0, len(signal), 160), 1):
        jb.push(seq, signal[start : start + 160].tobytes(), 8000)
    played = [jb.pull() for _ in range(3)]
    concealed = jb.pull()
    assert concealed is not None and jb.stats.underruns == 1 and not jb.playing
    out = np.concatenate([f.samples for f in played if f is not None] + [concealed.samples]).astype(np.int32)
    inside = int(np.abs(np.diff(signal.astype(np.int32))).max())
    assert int(np.abs(np.diff(out[100:])).max()) <= inside  # past the fade-in: continuous into the concealment
    assert not concealed.samples[60:].any()  # faded to silence within 5 ms
    assert jb.pull() is None  # rebuffering: silence until the target depth is back
    jb.push(4, level_frame(7), 8000)
    assert jb.pull() is None
    jb.push(5, level_frame(7), 8000)
    assert values(jb.pull()) == 7 and jb.playing


def test_16_khz_agent_audio_is_resampled_to_an_8_khz_line() -> None:
    jb = AgentJitterBuffer(JitterConfig(line_rate_hz=8000, target_ms=60))
    signal = tone(440, 1.0, 16000)
    frames = [signal[i : i + 320].tobytes() for i in range(0, len(signal), 320)]
    out: list[npt.NDArray[np.int16]] = []
    for seq, pcm in enumerate(frames, 1):
        jb.push(seq, pcm, 16000)
        frame = jb.pull()
        if frame is not None:
            assert frame.sample_rate_hz == 8000 and len(frame.samples) == 160
            out.append(frame.samples)
    y = np.concatenate(out).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.fft.rfftfreq(len(y), 1 / 8000)[int(np.argmax(spectrum))] == pytest.approx(440, abs=5)
    assert len(y) >= 8000 - 3 * 160 - 160  # all of it, but what waits in the buffer and the resampler
    assert jb.stats.rates_hz == {16000}


def test_bad_frames_are_refused() -> None:
    jb = AgentJitterBuffer()
    with pytest.raises(ValueError, match="expected 20 ms of s16"):
        jb.push(1, b"\x00" * 100, 8000)
    with pytest.raises(ValueError, match="expected 20 ms of s16"):
        jb.push(1, b"\x00" * 640, 44100)
    with pytest.raises(ValueError, match="target_ms < max_ms"):
        JitterConfig(target_ms=200, max_ms=100)


def play_through(jb: AgentJitterBuffer, signal: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.float64]:
    n = frame_samples(rate)
    out: list[npt.NDArray[np.int16]] = []
    for seq, start in enumerate(range(0, len(signal) - n + 1, n), 1):
        jb.push(seq, signal[start : start + n].tobytes(), rate)
        frame = jb.pull()
        if frame is not None:
            out.append(frame.samples)
    return np.concatenate(out).astype(np.float64)


def test_8_khz_agent_audio_is_resampled_to_a_16_khz_line_at_the_same_level() -> None:
    y = play_through(AgentJitterBuffer(JitterConfig(line_rate_hz=16000)), tone(1000, 1.0, 8000), 8000)
    steady = y[1600:-1600]
    assert np.sqrt(np.mean(steady**2)) == pytest.approx(8000 / np.sqrt(2), rel=0.05)
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(len(steady))))
    freqs = np.fft.rfftfreq(len(steady), 1 / 16000)
    assert freqs[int(np.argmax(spectrum))] == pytest.approx(1000, abs=5)
    image = spectrum[(freqs > 6500) & (freqs < 7500)].max()  # the 7 kHz image of zero-stuffing, filtered out
    assert image < spectrum.max() * 0.01


def test_content_above_the_8_khz_line_band_does_not_alias() -> None:
    y = play_through(AgentJitterBuffer(JitterConfig(line_rate_hz=8000)), tone(5000, 1.0, 16000), 16000)
    assert np.sqrt(np.mean(y[800:] ** 2)) < 8000 / np.sqrt(2) * 0.01  # a 5 kHz tone would fold to 3 kHz
