"""A growable 16 kHz sample buffer addressed by absolute sample index, cheap to append and to trim."""

from __future__ import annotations

import numpy as np

from asr.audio import Float32Array


class AudioBuffer:
    def __init__(self) -> None:
        self._parts: list[Float32Array] = []
        self.start = 0  # absolute index of the first sample held
        self.end = 0  # absolute index one past the last sample held

    def append(self, x: Float32Array) -> None:
        self._parts.append(x)
        self.end += len(x)

    def slice(self, start: int, end: int) -> Float32Array:
        """Samples [start, end), clipped to what is held."""
        start, end = max(start, self.start), min(end, self.end)
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        whole = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts = [whole]
        return whole[start - self.start : end - self.start].copy()

    def trim_before(self, index: int) -> None:
        """Forget samples before `index` (whole parts only, so the cost stays small)."""
        while self._parts and self.start + len(self._parts[0]) <= index:
            self.start += len(self._parts.pop(0))
