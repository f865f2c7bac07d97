"""Real English speech for tests and the benchmark: WAVs shipped in the `moonshine-voice` package, with the
published texts they read (Dickens, *A Tale of Two Cities*; Beckett, *Worstward Ho*)."""

from __future__ import annotations

import gzip
import importlib.util
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from asr.textnorm import normalize_en

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


ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


def asterisk_prompts(min_s: float = 1.5, max_s: float = 3.5) -> list[Recording]:
    """Telephone-band speech with references: the Asterisk prompts (Debian `asterisk-core-sounds-en-wav`),
    one professional voice recorded at 8 kHz for phone lines, read from their published transcript file.

    Entries that are not speech ("[beep]", the silence/ files) and files outside [min_s, max_s] are left out.
    """
    if not ASTERISK_TRANSCRIPTS.exists():
        raise FileNotFoundError(f"expected {ASTERISK_TRANSCRIPTS} (apt install asterisk-core-sounds-en-wav), got none")
    out = []
    with gzip.open(ASTERISK_TRANSCRIPTS, "rt", encoding="utf-8") as f:
        for line in f:
            key, sep, text = line.partition(":")
            text = text.strip()
            if line.startswith(";") or not sep or not text or text.startswith("[") or key.startswith("silence/"):
                continue
            path = ASTERISK_SOUNDS / f"{key}.wav"
            if path.exists() and min_s <= _duration_s(path) <= max_s:
                out.append(Recording(key.replace("/", "_"), path, text))
    return out


def _duration_s(path: Path) -> float:
    with wave.open(str(path)) as w:
        return float(w.getnframes() / w.getframerate())


def mulaw_roundtrip(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """What a G.711 µ-law (PCMU) line does to 16-bit speech: encode to 8 bits per sample and decode again."""
    bias, clip = 0x84, 32635
    x = samples.astype(np.int32)
    magnitude = np.minimum(np.abs(x), clip) + bias
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    decoded = (((mantissa << 3) + bias) << exponent) - bias
    out: npt.NDArray[np.int16] = np.where(x < 0, -decoded, decoded).astype(np.int16)
    return out


def load_pcm16(path: Path, rate_hz: int) -> npt.NDArray[np.int16]:
    """Decode and resample (libav, via faster-whisper) to mono int16 at `rate_hz`."""
    from faster_whisper import decode_audio  # type: ignore[import-untyped]  # untyped package

    audio = np.asarray(decode_audio(str(path), sampling_rate=rate_hz), dtype=np.float32)
    return (audio * 32767).clip(-32768, 32767).astype(np.int16)


def normalize(text: str) -> str:
    """The English WER normalisation (numbers, symbols and contractions spelled out): see `asr.textnorm`."""
    return normalize_en(text)


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
