"""Does the audio a call received match what the fake microphone played? Normalised correlation at the best
alignment against the WAV looped (Chromium loops the file, and the takeover starts anywhere in it).

Aligned per window (`windowed_correlations`), not once for the whole take: on a loaded machine the browser's
audio thread can glitch (a capture callback skipped or repeated), which shifts everything after it; one
alignment for seconds of audio then matches only the part before the shift (seen once in ~30 runs: 0.52 over
3 s, where every run without a glitch measures 0.999)."""

from __future__ import annotations

import numpy as np


def aligned_correlation(received: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """(Pearson correlation, offset into the reference) of `received` against the looped `reference`, both at the
    same rate. The offset search is one FFT cross-correlation over every start in the loop."""
    x = received.astype(np.float64)
    ref = reference.astype(np.float64)
    looped = np.tile(ref, 2 + len(x) // len(ref))
    nfft = 1 << int(np.ceil(np.log2(len(looped) + len(x))))
    cross = np.fft.irfft(np.fft.rfft(looped, nfft) * np.conj(np.fft.rfft(x, nfft)), nfft)[: len(ref)]
    offset = int(np.argmax(cross))
    segment = looped[offset : offset + len(x)]
    a, b = x - x.mean(), segment - segment.mean()
    denominator = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return (float(np.dot(a, b) / denominator) if denominator > 0 else 0.0), offset


def windowed_correlations(
    received: np.ndarray, reference: np.ndarray, rate_hz: int, window_s: float = 0.5, min_rms: float = 300.0
) -> list[float]:
    """`aligned_correlation` of each window of `received` with voice in it (RMS >= `min_rms`, s16 scale):
    silent windows only correlate noise."""
    n = int(window_s * rate_hz)
    out = []
    for start in range(0, len(received) - n + 1, n):
        window = received[start : start + n]
        if np.sqrt(np.mean(window.astype(np.float64) ** 2)) >= min_rms:
            out.append(aligned_correlation(window, reference)[0])
    return out


def frames_to_samples(frames: list[tuple[int, bytes, int]], rate_hz: int) -> np.ndarray:
    """The frames' PCM in sequence order; raises if a frame is missing or at another rate."""
    ordered = sorted(frames)
    seqs = [seq for seq, _, _ in ordered]
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
        raise AssertionError(f"expected consecutive sequence numbers, got gaps in {seqs[0]}..{seqs[-1]}")
    rates = {rate for _, _, rate in ordered}
    if rates != {rate_hz}:
        raise AssertionError(f"expected frames at {rate_hz} Hz, got {sorted(rates)}")
    return np.frombuffer(b"".join(pcm for _, pcm, _ in ordered), dtype="<i2")
