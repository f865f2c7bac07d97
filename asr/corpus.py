"""Real English speech for tests and the benchmark: WAVs shipped in the `moonshine-voice` package, with the
published texts they read (Dickens, *A Tale of Two Cities*; Beckett, *Worstward Ho*)."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

TWO_CITIES_TEXT = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it "
    "was the season of Darkness, it was the spring of hope, it was the winter of despair, we had everything "
    "before us, we had nothing before us, we were all going direct to Heaven, we were all going direct the "
    "other way - in short, the period was so far like the present period, that some of its noisiest "
    "authorities insisted on its being received, for good or for evil, in the superlative degree of "
    "comparison only."
)
BECKETT_TEXT = "Ever tried. Ever failed. No matter. Try again. Fail again. Fail better."


@dataclass(frozen=True, slots=True)
class Recording:
    name: str
    path: Path
    text: str


def moonshine_assets() -> Path:
    spec = importlib.util.find_spec("moonshine_voice")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("expected the test-audio package 'moonshine-voice' to be installed, got none")
    return Path(spec.origin).parent / "assets"


def recordings() -> list[Recording]:
    d = moonshine_assets()
    return [
        Recording("beckett", d / "beckett.wav", BECKETT_TEXT),
        Recording("two_cities", d / "two_cities.wav", TWO_CITIES_TEXT),
    ]


def load_pcm16(path: Path, rate_hz: int) -> npt.NDArray[np.int16]:
    """Decode and resample (libav, via faster-whisper) to mono int16 at `rate_hz`."""
    from faster_whisper import decode_audio  # type: ignore[import-untyped]  # untyped package

    audio = np.asarray(decode_audio(str(path), sampling_rate=rate_hz), dtype=np.float32)
    return (audio * 32767).clip(-32768, 32767).astype(np.int16)


def normalize(text: str) -> str:
    """Lower case, letters, digits and apostrophes only, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>"))


def energy_onset_s(samples: npt.NDArray[np.int16], rate_hz: int, window_ms: int = 10, run: int = 5) -> float:
    """Start of the first `run` consecutive 10 ms windows louder than 20 % of the loud (95th percentile)
    windows' RMS: a click or a breath is shorter than 50 ms, a syllable is not."""
    n = rate_hz * window_ms // 1000
    windows = samples[: len(samples) // n * n].astype(np.float64).reshape(-1, n)
    rms = np.sqrt(np.mean(windows**2, axis=1))
    loud = (rms > 0.2 * np.percentile(rms, 95)).astype(np.int8)
    sustained = np.convolve(loud, np.ones(run, dtype=np.int8), mode="valid") == run
    return int(np.argmax(sustained)) * n / rate_hz
