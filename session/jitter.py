"""The agent's jitter buffer: 20 ms PCM frames from a WebSocket (8 or 16 kHz, numbered) in, one line-rate frame
per tick out.

Rules (pure, no clock: the caller pulls once per 20 ms tick):
- **Reordering**: frames are kept by sequence number and played in order; a frame older than the one last
  played (or a duplicate) is dropped and counted (`late`, `duplicates`).
- **Target depth** (`target_ms`, 60 ms by default): playout starts, and restarts after an underrun, only once
  this much is queued, so the network's jitter is absorbed without adding more delay than needed.
- **Max depth** (`max_ms`, 200 ms): beyond it the oldest frames are dropped (`overflow`): a sender that runs
  ahead (a clock faster than ours, a burst after a stall) costs audio, never latency.
- **Loss**: when the next frame is missing but later ones are queued, it is skipped (`lost`), not waited for.
- **Concealment**: on an underrun the last frame's tail is mirrored and faded to zero over 5 ms (no click),
  then silence (None) until the target depth is back; playout restarts with a 5 ms fade-in.
- **Resampling** to the line rate (the agent may send 16 kHz to an 8 kHz line, or 8 kHz to a 16 kHz one): a
  48-tap windowed-sinc low-pass (cut-off 3.7 kHz, ≈1.5 ms delay) with a factor-2 decimation or zero-stuffing,
  streamed frame by frame. Not soxr: its streaming resampler holds audio back and releases it in ≈100 ms
  blocks at this chunk size (measured: HQ returns nothing for four 20 ms chunks, then 830 samples), which
  would starve a 60 ms buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from telephony.frames import FRAME_MS, SUPPORTED_RATES_HZ, AudioFrame, frame_bytes, frame_samples

Samples = npt.NDArray[np.int16]
FADE_MS = 5.0
TAPS = 48
CUTOFF_HZ = 3700.0


@dataclass(frozen=True, slots=True)
class JitterConfig:
    line_rate_hz: int = 8000
    target_ms: int = 60
    max_ms: int = 200

    def __post_init__(self) -> None:
        if self.line_rate_hz not in SUPPORTED_RATES_HZ:
            raise ValueError(f"expected a line rate in {SUPPORTED_RATES_HZ}, got {self.line_rate_hz}")
        if not FRAME_MS <= self.target_ms < self.max_ms:
            raise ValueError(f"expected {FRAME_MS} <= target_ms < max_ms, got {self.target_ms}, {self.max_ms}")


@dataclass(slots=True)
class JitterStats:
    pushed: int = 0
    played: int = 0  # line frames handed out with audio in them
    late: int = 0
    duplicates: int = 0
    overflow: int = 0
    lost: int = 0
    underruns: int = 0
    rates_hz: set[int] = field(default_factory=set)


class AgentJitterBuffer:
    def __init__(self, config: JitterConfig | None = None) -> None:
        self.config = config or JitterConfig()
        self.stats = JitterStats()
        self._n = frame_samples(self.config.line_rate_hz)
        self._fade = max(1, round(FADE_MS * self.config.line_rate_hz / 1000))
        self._pending: dict[int, tuple[bytes, int]] = {}  # seq -> (pcm, rate)
        self._next_seq: int | None = None  # the next sequence number to play
        self._out: Samples = np.zeros(0, dtype=np.int16)  # resampled samples not yet handed out
        self._resamplers: dict[int, Rate2] = {}
        self._playing = False
        self._last: Samples | None = None  # the last frame handed out (for concealment)

    @property
    def depth_ms(self) -> int:
        """Audio queued: frames waiting (20 ms each) plus resampled samples not yet played."""
        return len(self._pending) * FRAME_MS + len(self._out) * 1000 // self.config.line_rate_hz

    @property
    def playing(self) -> bool:
        return self._playing

    def push(self, seq: int, pcm: bytes, rate_hz: int) -> None:
        """One 20 ms frame from the agent. Raises ValueError for a rate or size we cannot play."""
        if rate_hz not in SUPPORTED_RATES_HZ or len(pcm) != frame_bytes(rate_hz):
            raise ValueError(f"expected 20 ms of s16 at {SUPPORTED_RATES_HZ} Hz, got {len(pcm)} bytes at {rate_hz}")
        self.stats.pushed += 1
        self.stats.rates_hz.add(rate_hz)
        if self._next_seq is not None and seq < self._next_seq:
            self.stats.late += 1
            return
        if seq in self._pending:
            self.stats.duplicates += 1
            return
        self._pending[seq] = (pcm, rate_hz)
        while self.depth_ms > self.config.max_ms:
            self._drop_oldest()

    def pull(self) -> AudioFrame | None:
        """The frame to play this tick, or None (nothing to play: buffering, or silence after an underrun)."""
        if not self._playing:
            if self.depth_ms < self.config.target_ms:
                return None
            self._playing = True
            return self._emit(self._take(), fade_in=True)
        out = self._take()
        if len(out) < self._n:
            return self._conceal(out)
        return self._emit(out, fade_in=False)

    def reset(self) -> None:
        """Forget everything queued (the agent's stream restarts)."""
        self._pending.clear()
        self._next_seq, self._out, self._playing, self._last = None, np.zeros(0, dtype=np.int16), False, None

    # -- internals --

    def _drop_oldest(self) -> None:
        if self._pending:
            oldest = min(self._pending)
            del self._pending[oldest]
            self._next_seq = oldest + 1
        else:
            self._out = self._out[self._n :]
        self.stats.overflow += 1

    def _take(self) -> Samples:
        """Up to one line frame of samples, decoding queued frames in sequence order as needed."""
        while len(self._out) < self._n and self._pending:
            seq = self._next_seq if self._next_seq in self._pending else min(self._pending)
            if self._next_seq is not None and seq != self._next_seq:
                self.stats.lost += seq - self._next_seq
            pcm, rate = self._pending.pop(seq)
            self._next_seq = seq + 1
            self._out = np.concatenate([self._out, self._resample(pcm, rate)])
        out, self._out = self._out[: self._n], self._out[self._n :]
        return out

    def _resample(self, pcm: bytes, rate_hz: int) -> Samples:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
        if rate_hz == self.config.line_rate_hz:
            return samples
        resampler = self._resamplers.get(rate_hz)
        if resampler is None:
            resampler = self._resamplers[rate_hz] = Rate2(rate_hz, self.config.line_rate_hz)
        return resampler.push(samples)

    def _emit(self, samples: Samples, *, fade_in: bool) -> AudioFrame:
        out = samples.astype(np.int16, copy=True)
        if fade_in:
            k = min(self._fade, len(out))
            out[:k] = np.round(out[:k] * (np.arange(1, k + 1) / (k + 1))).astype(np.int16)
        self._last = out
        self.stats.played += 1
        return AudioFrame.from_samples(out, self.config.line_rate_hz)

    def _conceal(self, partial: Samples) -> AudioFrame:
        """Underrun: what is left, then the signal mirrored back on itself and faded to zero, then silence."""
        self.stats.underruns += 1
        self._playing = False
        history = np.concatenate([self._last if self._last is not None else np.zeros(0, np.int16), partial])
        tail = np.zeros(self._n - len(partial), dtype=np.float64)
        k = min(self._fade, len(tail), len(history))
        if k:
            mirrored = history[::-1][:k].astype(np.float64)  # continuous at the joint: starts at the last sample
            tail[:k] = mirrored * (1.0 - np.arange(1, k + 1) / (k + 1))
        out = np.concatenate([partial.astype(np.float64), tail])
        self._last = None
        return AudioFrame.from_samples(np.round(out).astype(np.int16), self.config.line_rate_hz)


def _lowpass(taps: int = TAPS, cutoff_hz: float = CUTOFF_HZ, rate_hz: int = 16000) -> npt.NDArray[np.float64]:
    """A windowed-sinc (Blackman) low-pass at 16 kHz, unity gain at DC."""
    fc = cutoff_hz / rate_hz
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * fc * np.sinc(2 * fc * n) * np.blackman(taps)
    return np.asarray(h / h.sum(), dtype=np.float64)


class Rate2:
    """Streaming 16 kHz <-> 8 kHz conversion (factor 2), chunk by chunk, with the filter's state carried over."""

    _H = _lowpass()

    def __init__(self, in_rate_hz: int, out_rate_hz: int) -> None:
        if {in_rate_hz, out_rate_hz} != {8000, 16000}:
            raise ValueError(f"expected 8000 <-> 16000 Hz, got {in_rate_hz} -> {out_rate_hz}")
        self._down = in_rate_hz > out_rate_hz
        self._tail = np.zeros(len(self._H) - 1)

    def push(self, samples: Samples) -> Samples:
        """Even-length chunks keep the decimation phase (every 20 ms frame is)."""
        x = samples.astype(np.float64)
        if not self._down:
            x = np.zeros(2 * len(samples))
            x[::2] = samples * 2.0  # zero-stuffing halves the level: make it up
        buf = np.concatenate([self._tail, x])
        self._tail = buf[len(buf) - len(self._tail) :]
        y = np.convolve(buf, self._H, mode="valid")
        y = y[::2] if self._down else y
        return np.clip(np.round(y), -32768, 32767).astype(np.int16)
