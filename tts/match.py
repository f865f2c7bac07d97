"""Voice-match score: does the robot sound like the agent, as heard over a phone line?

Resemblyzer's GE2E speaker encoder (weights inside the `resemblyzer` wheel) embeds the audio after it is
band-limited to the phone band: resampled to 8 kHz, then to the encoder's 16 kHz. Score = cosine of the
rendering's embedding and the agent's enrollment embedding. Reading the scale (notes §6): ≈0.93+ is the same
voice, 0.74-0.83 another voice of a similar register.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tts import splice_zh
from tts.audio import FloatPcm, IntPcm, int16_to_float, resample
from tts.engine import RenderInfo, TtsEngine, VoiceSource
from tts.voice_profile import Script, ScriptLine, VoiceProfile

Embedding = npt.NDArray[np.float32]
ENCODER_RATE_HZ = 16000
PHONE_RATE_HZ = 8000
EXAMPLE_VALUES = {"day": "Tuesday", "date": "March 14", "time": "3 pm", "amount": "$120", "number": "42",
                  "digits": "2 0 1"}  # fmt: skip


@contextlib.contextmanager
def _quiet_resemblyzer() -> Iterator[None]:
    """resemblyzer 0.1.4 is unmaintained: webrtcvad imports the deprecated `pkg_resources` (UserWarning) and
    `preprocess_wav` uses the deprecated `scipy.ndimage.morphology` (DeprecationWarning). Not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*scipy.ndimage.morphology", category=DeprecationWarning)
        yield


class PhoneBandEmbedder:
    """Loads the encoder on first use (≈1 s, CPU); `embed` blocks: keep it off the event loop."""

    def __init__(self) -> None:
        self._encoder: Any = None

    def _load(self) -> Any:
        if self._encoder is None:
            with _quiet_resemblyzer():
                from resemblyzer import VoiceEncoder  # type: ignore[import-untyped]  # no type information

            self._encoder = VoiceEncoder("cpu", verbose=False)
        return self._encoder

    def embed(self, x: FloatPcm, rate_hz: int) -> Embedding:
        encoder = self._load()
        from resemblyzer import preprocess_wav  # imported (quietly) by `_load`

        phone = resample(resample(np.asarray(x, dtype=np.float32), rate_hz, PHONE_RATE_HZ), PHONE_RATE_HZ,
                         ENCODER_RATE_HZ)  # fmt: skip
        with _quiet_resemblyzer():
            wav = preprocess_wav(phone.astype(np.float64), source_sr=ENCODER_RATE_HZ)
        return np.asarray(encoder.embed_utterance(wav), dtype=np.float32)


def cosine(a: Embedding, b: Embedding) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def example_text(line: ScriptLine, first_names: tuple[str, ...] = (), language: str = "en") -> str:
    """The line with each slot filled by an example value of the script's language."""
    examples = splice_zh.EXAMPLE_VALUES if language == "zh" else EXAMPLE_VALUES
    text = line.text
    for kind in line.slots:
        value = first_names[0] if kind == "first_name" and first_names else examples.get(kind, "Sarah")
        text = text.replace(f"{{{kind}}}", value, 1)
    return text


async def render(engine: TtsEngine, text: str, rate_hz: int) -> tuple[IntPcm, RenderInfo]:
    """The whole utterance as s16 PCM (its 20 ms frames joined) and how it was rendered."""
    stream = engine.stream(text, rate_hz)
    frames = [frame.samples async for frame in stream]
    pcm = np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)
    return pcm, stream.info


@dataclass
class LineScore:
    line_id: str
    source: VoiceSource
    similarity: float | None  # None when nothing could render the line


@dataclass
class VoiceReport:
    agent: str
    lines: list[LineScore] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        """Share of script lines spoken from the agent's recordings."""
        return sum(s.source == "recording" for s in self.lines) / max(1, len(self.lines))

    @property
    def stock_fallbacks(self) -> list[str]:
        return [s.line_id for s in self.lines if s.source == "stock"]

    @property
    def mean_similarity(self) -> float | None:
        scores = [s.similarity for s in self.lines if s.similarity is not None]
        return float(np.mean(scores)) if scores else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent, "coverage": round(self.coverage, 3), "stock_fallbacks": self.stock_fallbacks,
            "mean_similarity": None if self.mean_similarity is None else round(self.mean_similarity, 3),
            "lines": [{"id": s.line_id, "source": s.source,
                       "similarity": None if s.similarity is None else round(s.similarity, 3)} for s in self.lines],
        }  # fmt: skip


def voice_report(
    profile: VoiceProfile, engine: TtsEngine, embedder: PhoneBandEmbedder, *, rate_hz: int = 8000
) -> VoiceReport:
    """Render every script line (slots filled with examples) and score it against the enrollment."""
    reference = embedder.embed(profile.reference_audio(PHONE_RATE_HZ), PHONE_RATE_HZ)
    report = VoiceReport(profile.agent)
    for line in profile.script.lines:
        report.lines.append(_score_line(line, profile.script, engine, embedder, reference, rate_hz))
    return report


def _score_line(
    line: ScriptLine, script: Script, engine: TtsEngine, embedder: PhoneBandEmbedder, ref: Embedding, rate_hz: int
) -> LineScore:
    try:
        pcm, info = asyncio.run(render(engine, example_text(line, script.first_names, script.language), rate_hz))
    except LookupError:  # no recording and no clone or stock voice configured: it would need the stock voice
        return LineScore(line.line_id, "stock", None)
    return LineScore(line.line_id, info.source, cosine(embedder.embed(int16_to_float(pcm), rate_hz), ref))
