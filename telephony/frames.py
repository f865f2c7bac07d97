"""The one audio vocabulary of the system: 20 ms frames of signed 16-bit mono PCM.

Every component that moves call audio (SIP workers, ASR, TTS, the console's listen-in and takeover)
speaks in `AudioFrame`s. Control that must never wait behind audio (hang-up, barge-in, takeover) travels
as separate events, never inside a frame queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FRAME_MS = 20
SUPPORTED_RATES_HZ = (8000, 16000)


def frame_samples(sample_rate_hz: int) -> int:
    """Samples in one 20 ms frame at `sample_rate_hz` (160 at 8 kHz, 320 at 16 kHz)."""
    return sample_rate_hz * FRAME_MS // 1000


def frame_bytes(sample_rate_hz: int) -> int:
    """Bytes in one 20 ms frame of s16le mono (320 at 8 kHz, 640 at 16 kHz)."""
    return 2 * frame_samples(sample_rate_hz)


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """20 ms of s16le mono audio.

    `seq` counts frames within one stream (one direction of one call), starting at 1.
    `timestamp_s` is `time.monotonic()` when the frame entered this process (received) or was made (sent).
    """

    pcm: bytes
    sample_rate_hz: int
    seq: int = 0
    timestamp_s: float = 0.0

    def __post_init__(self) -> None:
        if self.sample_rate_hz not in SUPPORTED_RATES_HZ:
            raise ValueError(f"expected a sample rate in {SUPPORTED_RATES_HZ}, got {self.sample_rate_hz}")
        if len(self.pcm) != frame_bytes(self.sample_rate_hz):
            raise ValueError(f"expected {frame_bytes(self.sample_rate_hz)} bytes of PCM, got {len(self.pcm)}")

    @classmethod
    def silence(cls, sample_rate_hz: int, seq: int = 0, timestamp_s: float = 0.0) -> AudioFrame:
        return cls(bytes(frame_bytes(sample_rate_hz)), sample_rate_hz, seq, timestamp_s)

    @classmethod
    def from_samples(
        cls, samples: npt.NDArray[np.int16], sample_rate_hz: int, seq: int = 0, timestamp_s: float = 0.0
    ) -> AudioFrame:
        return cls(samples.astype("<i2", copy=False).tobytes(), sample_rate_hz, seq, timestamp_s)

    @property
    def samples(self) -> npt.NDArray[np.int16]:
        """A read-only int16 view of the PCM."""
        return np.frombuffer(self.pcm, dtype="<i2")


def split_frames(samples: npt.NDArray[np.int16], sample_rate_hz: int, first_seq: int = 1) -> list[AudioFrame]:
    """Cut a mono int16 signal into 20 ms frames; the last one is padded with silence."""
    n = frame_samples(sample_rate_hz)
    pad = (-len(samples)) % n
    if pad:
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
    return [
        AudioFrame.from_samples(samples[i : i + n], sample_rate_hz, first_seq + k)
        for k, i in enumerate(range(0, len(samples), n))
    ]
