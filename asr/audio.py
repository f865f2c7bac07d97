"""Call audio → what the models expect: 16 kHz mono float32 in [-1, 1).

Silero VAD is 16 kHz only and `WhisperModel.transcribe(array)` silently assumes 16 kHz, so 8 kHz telephone
audio is upsampled first. Linear interpolation gave the same WER as libav's resampler (speech-recognition
notes §5); it is done in a streaming way so that frame boundaries are invisible.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from telephony.frames import AudioFrame

MODEL_RATE_HZ = 16000
Float32Array = npt.NDArray[np.float32]


def pcm16_to_float(samples: npt.NDArray[np.int16]) -> Float32Array:
    """int16 → float32 in [-1, 1)."""
    return samples.astype(np.float32) / 32768.0


class Upsampler:
    """Streaming 2x linear interpolation, 8 kHz → 16 kHz.

    Output sample 2k is the midpoint between input k-1 and k, output 2k+1 is input k: the stream is delayed
    by half an input sample (62.5 µs) so that no lookahead is needed. The last input sample is carried
    over, so cutting a signal into frames gives exactly the same output as converting it whole.
    """

    def __init__(self) -> None:
        self._last = np.float32(0.0)

    def process(self, x: Float32Array) -> Float32Array:
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        prev = np.concatenate([[self._last], x[:-1]]).astype(np.float32)
        out = np.empty(2 * len(x), dtype=np.float32)
        out[0::2] = (prev + x) * np.float32(0.5)
        out[1::2] = x
        self._last = np.float32(x[-1])
        return out


class FrameConverter:
    """AudioFrames of one stream (8 or 16 kHz, fixed per stream) → 16 kHz float32."""

    def __init__(self) -> None:
        self._rate_hz: int | None = None
        self._upsampler = Upsampler()

    def convert(self, frame: AudioFrame) -> Float32Array:
        if self._rate_hz is None:
            self._rate_hz = frame.sample_rate_hz
        elif frame.sample_rate_hz != self._rate_hz:
            raise ValueError(f"expected {self._rate_hz} Hz frames in this stream, got {frame.sample_rate_hz} Hz")
        x = pcm16_to_float(frame.samples)
        if frame.sample_rate_hz == MODEL_RATE_HZ:
            return x
        return self._upsampler.process(x)
