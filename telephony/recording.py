"""Stereo call recording: the customer on the left channel, our side (robot or agent) on the right.

Both channels are written per 20 ms tick of the worker, so they stay aligned to the frame: the right channel
holds exactly what went out on the wire at that tick (silence when nothing was queued).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from telephony.frames import frame_bytes


class StereoRecorder:
    def __init__(self, path: Path, sample_rate_hz: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._silence = bytes(frame_bytes(sample_rate_hz))
        self._wav = wave.open(str(path), "wb")  # closed by close()
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate_hz)
        self.closed = False

    def write(self, left: bytes | None, right: bytes | None) -> None:
        stereo = np.empty(len(self._silence), dtype="<i2")
        stereo[0::2] = np.frombuffer(left or self._silence, dtype="<i2")
        stereo[1::2] = np.frombuffer(right or self._silence, dtype="<i2")
        self._wav.writeframesraw(stereo.tobytes())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._wav.close()
