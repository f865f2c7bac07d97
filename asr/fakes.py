"""Fakes at the recognizer's seams, driven by a script of `(start_s, end_s, text)` utterances.

`ScriptedScorer` stands in for Silero (speech probability by audio time, ignoring the samples) and
`ScriptedTranscriber` for Whisper (the texts of the script entries that an utterance overlaps). Use them to
test anything that consumes recognizer events without loading a model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from asr.audio import Float32Array
from asr.transcriber import Transcript, Utterance
from asr.vad import CHUNK_S

ScriptLine = tuple[float, float, str]


class ScriptedScorer:
    """Probability `speech_prob` inside a scripted utterance, `silence_prob` outside (per 32 ms chunk)."""

    def __init__(self, script: Sequence[ScriptLine], speech_prob: float = 0.9, silence_prob: float = 0.05) -> None:
        self.script = list(script)
        self.speech_prob, self.silence_prob = speech_prob, silence_prob
        self.chunks = 0

    def score(self, chunk: Float32Array) -> float:
        mid_s = (self.chunks + 0.5) * CHUNK_S
        self.chunks += 1
        inside = any(start <= mid_s < end for start, end, _ in self.script)
        return self.speech_prob if inside else self.silence_prob


class ScriptedTranscriber:
    """Returns the texts of the script lines overlapping the utterance by more than half of their length.

    `delay_s` simulates decode time (per text, or for all); `calls` records what was decoded, so tests can
    check that silence was never sent. `gate`, when given, blocks every decode until it is set.
    """

    def __init__(
        self,
        script: Sequence[ScriptLine],
        language: str = "en",
        delay_s: float | dict[str, float] = 0.0,
        gate: threading.Event | None = None,
    ) -> None:
        self.script = list(script)
        self._language = language
        self.delay_s = delay_s
        self.gate = gate
        self.calls: list[Utterance] = []
        self._lock = threading.Lock()

    @property
    def language(self) -> str:
        return self._language

    def transcribe(self, utterance: Utterance) -> Transcript:
        with self._lock:
            self.calls.append(utterance)
        if self.gate is not None:
            self.gate.wait()
        text = " ".join(t for s, e, t in self.script if _overlap(s, e, utterance) > (e - s) / 2)
        delay = self.delay_s.get(text, 0.0) if isinstance(self.delay_s, dict) else self.delay_s
        if delay:
            time.sleep(delay)
        return Transcript(text, 0.9 if text else 0.0, self._language)


def _overlap(start_s: float, end_s: float, utterance: Utterance) -> float:
    # The audio may begin before utterance.start_s (pre-roll); times refer to the speech itself.
    return max(0.0, min(end_s, utterance.end_s + 0.1) - max(start_s, utterance.start_s - 0.1))


def scripted_audio(script: Sequence[ScriptLine], total_s: float, rate_hz: int, seed: int = 0) -> npt.NDArray[np.int16]:
    """int16 audio: noise bursts where the script speaks, digital silence elsewhere."""
    rng = np.random.default_rng(seed)
    x = np.zeros(round(total_s * rate_hz), dtype=np.int16)
    for start, end, _ in script:
        a, b = min(round(start * rate_hz), len(x)), min(round(end * rate_hz), len(x))
        x[a:b] = rng.normal(0, 3000, b - a).clip(-32768, 32767).astype(np.int16)
    return x
