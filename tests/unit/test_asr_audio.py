"""8 kHz → 16 kHz resampling and frame conversion."""

from __future__ import annotations

import numpy as np
import pytest

from asr.audio import FrameConverter, Upsampler, pcm16_to_float
from asr.buffer import AudioBuffer
from telephony.frames import AudioFrame, split_frames

pytestmark = pytest.mark.unit


def sine(freq_hz: float, rate_hz: int, seconds: float, delay_s: float = 0.0) -> np.ndarray:
    t = np.arange(round(rate_hz * seconds)) / rate_hz - delay_s
    return (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def test_upsampling_frame_by_frame_equals_whole_signal() -> None:
    x = sine(440, 8000, 0.5)
    whole = Upsampler().process(x)
    up = Upsampler()
    pieces = np.concatenate([up.process(x[i : i + 160]) for i in range(0, len(x), 160)])
    assert len(whole) == 2 * len(x)
    assert np.array_equal(whole, pieces)


@pytest.mark.parametrize("freq_hz", [300.0, 1000.0, 3000.0])
def test_upsampled_sine_matches_a_true_16_khz_sine_delayed_half_an_input_sample(freq_hz: float) -> None:
    got = Upsampler().process(sine(freq_hz, 8000, 0.25))
    want = sine(freq_hz, 16000, 0.25, delay_s=1 / 16000)
    err = got[100:] - want[100:]
    # Linear interpolation attenuates high frequencies; telephone speech lives below 3.4 kHz.
    tolerance = {300.0: 0.01, 1000.0: 0.06, 3000.0: 0.45}[freq_hz]
    assert np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(want[100:] ** 2)) < tolerance


def test_frame_converter_upsamples_8k_and_passes_16k_through() -> None:
    x8 = (sine(500, 8000, 0.1) * 32767).astype(np.int16)
    out = np.concatenate([FrameConverter().convert(f) for f in split_frames(x8, 8000)])
    assert len(out) == 2 * len(x8)
    assert np.allclose(out[1::2], pcm16_to_float(x8))
    x16 = (sine(500, 16000, 0.04) * 32767).astype(np.int16)
    out16 = np.concatenate([FrameConverter().convert(f) for f in split_frames(x16, 16000)])
    assert np.array_equal(out16, pcm16_to_float(x16))


def test_frame_converter_rejects_a_rate_change() -> None:
    conv = FrameConverter()
    conv.convert(AudioFrame.silence(8000))
    with pytest.raises(ValueError, match="expected 8000 Hz frames"):
        conv.convert(AudioFrame.silence(16000))


def test_pcm16_to_float_range() -> None:
    x = pcm16_to_float(np.array([-32768, 0, 32767], dtype=np.int16))
    assert x.dtype == np.float32 and x[0] == -1.0 and x[1] == 0.0 and x[2] < 1.0


def test_audio_buffer_slices_by_absolute_index_after_trimming() -> None:
    buf = AudioBuffer()
    for k in range(10):
        buf.append(np.full(100, k, dtype=np.float32))
    buf.trim_before(350)
    assert buf.start == 300 and buf.end == 1000
    assert np.array_equal(buf.slice(250, 420), np.array([3] * 100 + [4] * 20, dtype=np.float32))
    assert len(buf.slice(990, 2000)) == 10
