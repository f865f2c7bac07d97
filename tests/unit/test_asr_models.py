"""The Whisper transcriber's settings and post-processing, on a fake faster-whisper model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from asr.models import WhisperTranscriber, model_for_language, postprocess
from asr.transcriber import Utterance

pytestmark = pytest.mark.unit


@dataclass
class Segment:
    text: str
    avg_logprob: float = -0.1
    no_speech_prob: float = 0.01


class FakeWhisper:
    """Records the options of each `transcribe` call; answers Traditional Chinese."""

    class model:  # lower case on purpose: mirrors WhisperModel.model (the CTranslate2 object)
        is_multilingual = True

    def __init__(self, text: str) -> None:
        self.text = text
        self.kwargs: dict[str, Any] = {}

    def transcribe(self, audio: Any, **kwargs: Any) -> tuple[list[Segment], None]:
        self.kwargs = kwargs
        return [Segment(self.text)], None


def test_zh_forces_the_language_and_converts_to_simplified() -> None:
    fake = FakeWhisper("價格是多少錢")
    out = WhisperTranscriber(fake, "zh").transcribe(Utterance(np.zeros(16000, np.float32), 0.0, 1.0))
    assert out.text == "价格是多少钱" and out.language == "zh"
    assert fake.kwargs["language"] == "zh"


def test_decode_settings_follow_the_measured_recommendations() -> None:
    fake = FakeWhisper(" hello")
    out = WhisperTranscriber(fake, "en").transcribe(Utterance(np.zeros(16000, np.float32), 0.0, 1.0))
    assert out.text == "hello" and 0.85 < out.confidence < 0.9
    kw = fake.kwargs
    assert (kw["beam_size"], kw["condition_on_previous_text"], kw["without_timestamps"]) == (1, False, True)
    assert kw["vad_filter"] is False and kw["max_new_tokens"] == 96


def test_english_text_is_left_alone_and_languages_pick_models() -> None:
    assert postprocess("Colour 價", "en") == "Colour 價"
    assert model_for_language("en") == "tiny.en"
    assert model_for_language("zh") == "base"
