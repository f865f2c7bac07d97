"""PSOLA shift of a stock voice toward the agent's register (Praat "Change gender" via praat-parselmouth).

This is not cloning: it moves pitch median, pitch range and formants toward the agent, then a 129-tap FIR
moves the long-term spectrum toward the agent's. Measured (notes §7): Piper joe 0.60 -> 0.82 similarity to
the test agent; another woman of a similar register scores about the same. It is a cheap "sit in the
agent's register" switch; the defaults are the best grid-sweep values for Piper joe (male to female).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import numpy as np

from tts.audio import FloatPcm
from tts.engine import Synthesizer

PHONE_RATE_HZ = 8000
EQ_TAPS = 129
_EQ_FFT = 256  # LTAS resolution at 8 kHz: 31.25 Hz bins
_EQ_MAX_DB = 12.0


def psola_available() -> bool:
    return importlib.util.find_spec("parselmouth") is not None


@dataclass(frozen=True)
class PsolaParams:
    pitch_median_hz: float = 198.0  # the test agent's; use the profile's `median_f0_hz`
    formant_ratio: float = 1.2
    pitch_range: float = 1.2
    eq_strength: float = 1.0
    pitch_floor_hz: float = 75.0
    pitch_ceiling_hz: float = 600.0


def median_f0_hz(x: FloatPcm, rate_hz: int) -> float | None:
    """Median F0 of voiced frames, or None when nothing is voiced."""
    import parselmouth  # type: ignore[import-not-found]  # no type information shipped
    from parselmouth.praat import call  # type: ignore[import-not-found]

    pitch = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate_hz).to_pitch()
    f0 = float(call(pitch, "Get quantile", 0, 0, 0.5, "Hertz"))
    return None if np.isnan(f0) else round(f0, 1)


def change_gender(x: FloatPcm, rate_hz: int, params: PsolaParams) -> FloatPcm:
    """Praat `Change gender`: new pitch median, formant shift ratio, pitch range factor; same duration."""
    import parselmouth
    from parselmouth.praat import call

    if len(x) < rate_hz // 10:
        return x  # too short to track pitch
    sound = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate_hz)
    out = call(sound, "Change gender", params.pitch_floor_hz, params.pitch_ceiling_hz, params.formant_ratio,
               params.pitch_median_hz, params.pitch_range, 1.0)  # fmt: skip
    return np.asarray(out.values[0], dtype=np.float32)


def long_term_spectrum(x: FloatPcm, rate_hz: int) -> FloatPcm:
    """Mean power spectrum at phone rate (`_EQ_FFT // 2 + 1` bins, 0-4 kHz)."""
    from tts.audio import resample

    y = resample(np.asarray(x, dtype=np.float32), rate_hz, PHONE_RATE_HZ)
    hop = _EQ_FFT // 2
    if len(y) < _EQ_FFT:
        y = np.pad(y, (0, _EQ_FFT - len(y)))
    starts = range(0, len(y) - _EQ_FFT + 1, hop)
    frames = np.stack([y[s : s + _EQ_FFT] for s in starts]) * np.hanning(_EQ_FFT)
    ltas: FloatPcm = (np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-10).astype(np.float32)
    return ltas


def eq_filter(source_ltas: FloatPcm, target_ltas: FloatPcm, rate_hz: int, strength: float) -> FloatPcm:
    """A linear-phase FIR at `rate_hz` whose gain moves `source_ltas` toward `target_ltas` (±12 dB)."""
    gain_db = 10 * np.log10(target_ltas / source_ltas)
    gain_db -= np.median(gain_db)  # shape only; loudness is matched elsewhere
    gain_db = np.clip(np.convolve(gain_db, np.ones(5) / 5, mode="same"), -_EQ_MAX_DB, _EQ_MAX_DB) * strength
    phone_hz = np.linspace(0, PHONE_RATE_HZ / 2, len(gain_db))
    grid_hz = np.linspace(0, rate_hz / 2, EQ_TAPS // 2 + 1)
    response = 10 ** (np.interp(grid_hz, phone_hz, gain_db) / 20)  # above 4 kHz: the 4 kHz gain
    taps = np.roll(np.fft.irfft(response, EQ_TAPS), EQ_TAPS // 2) * np.hanning(EQ_TAPS)
    return taps.astype(np.float32)


def morph(x: FloatPcm, rate_hz: int, params: PsolaParams, target_ltas: FloatPcm | None = None) -> FloatPcm:
    """Change gender, then EQ toward `target_ltas` (the agent's long-term spectrum) when one is given."""
    y = change_gender(x, rate_hz, params)
    if target_ltas is not None and params.eq_strength > 0 and len(y) > EQ_TAPS:
        taps = eq_filter(long_term_spectrum(y, rate_hz), target_ltas, rate_hz, params.eq_strength)
        y = np.convolve(y, taps, mode="same").astype(np.float32)
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    return (y * (0.9 / peak) if peak > 0.9 else y).astype(np.float32)


@dataclass
class PsolaSynthesizer:
    """A `Synthesizer` that morphs every clause of `inner` toward the agent."""

    inner: Synthesizer
    params: PsolaParams = PsolaParams()
    target_ltas: FloatPcm | None = field(default=None, repr=False)

    @property
    def engine(self) -> str:
        return f"{self.inner.engine}+psola"

    @property
    def voice(self) -> str:
        return self.inner.voice

    @property
    def native_rate_hz(self) -> int:
        return self.inner.native_rate_hz

    def synthesize(self, clause: str) -> FloatPcm:
        return morph(self.inner.synthesize(clause), self.native_rate_hz, self.params, self.target_ltas)
