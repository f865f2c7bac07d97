"""Streaming resampling to the line rate and cutting into 20 ms frames; WAV files and one-shot resampling.

Both classes keep state across the clauses of one utterance, so clause boundaries add neither a filter
transient nor a padded half-frame: only the very end of an utterance is flushed and padded.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr  # type: ignore[import-untyped]  # soxr 1.x ships no type information

from telephony.frames import frame_samples

FloatPcm = npt.NDArray[np.float32]
IntPcm = npt.NDArray[np.int16]


def float_to_int16(x: FloatPcm) -> IntPcm:
    """Float samples in [-1, 1] to s16, clipping (a resampler can overshoot a full-scale peak)."""
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


def int16_to_float(x: IntPcm) -> FloatPcm:
    return (x.astype(np.float32) / 32768.0).astype(np.float32)


class Resampler:
    """A streaming resampler for one utterance (soxr HQ); a pass-through when the rates match."""

    def __init__(self, in_rate_hz: int, out_rate_hz: int) -> None:
        self.in_rate_hz = in_rate_hz
        self.out_rate_hz = out_rate_hz
        self._stream = None if in_rate_hz == out_rate_hz else soxr.ResampleStream(in_rate_hz, out_rate_hz, 1, "float32")
        self._finished = False

    def push(self, x: FloatPcm, last: bool = False) -> IntPcm:
        """Resample the next chunk; `last=True` flushes the filter's tail (then the stream is finished)."""
        if self._finished:
            raise RuntimeError("expected an unfinished resampler, got one already flushed")
        self._finished = last
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self._stream is None:
            return float_to_int16(x)
        y: FloatPcm = self._stream.resample_chunk(x, last=last)
        return float_to_int16(y)


class Framer:
    """Accumulates s16 samples and hands out 20 ms frames; `flush()` pads the remainder with silence."""

    def __init__(self, sample_rate_hz: int) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.frame_len = frame_samples(sample_rate_hz)
        self._buf: IntPcm = np.zeros(0, dtype=np.int16)
        self._pos = 0

    @property
    def buffered_samples(self) -> int:
        return len(self._buf) - self._pos

    def push(self, samples: IntPcm) -> None:
        if len(samples):
            self._buf = np.concatenate([self._buf[self._pos :], samples.astype(np.int16, copy=False)])
            self._pos = 0

    def pop(self) -> IntPcm | None:
        """The next full frame, or None when less than a frame is buffered."""
        if self.buffered_samples < self.frame_len:
            return None
        frame = self._buf[self._pos : self._pos + self.frame_len]
        self._pos += self.frame_len
        return frame

    def flush(self) -> None:
        """Pad what is left to a whole frame (nothing happens when the buffer ends on a frame boundary)."""
        pad = (-self.buffered_samples) % self.frame_len
        if pad:
            self.push(np.zeros(pad, dtype=np.int16))


def read_wav(path: Path) -> tuple[FloatPcm, int]:
    """16-bit mono PCM WAV -> float samples in [-1, 1) and the rate (other formats raise ValueError)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(
                f"{path.name}: expected 16-bit mono, got {8 * w.getsampwidth()}-bit, {w.getnchannels()} channels"
            )
        rate, data = w.getframerate(), w.readframes(w.getnframes())
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0).astype(np.float32), rate


def write_wav(path: Path, pcm: IntPcm, rate_hz: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.astype("<i2").tobytes())


def resample(x: FloatPcm, from_hz: int, to_hz: int) -> FloatPcm:
    if from_hz == to_hz:
        return x
    return np.asarray(soxr.resample(x, from_hz, to_hz), dtype=np.float32)
