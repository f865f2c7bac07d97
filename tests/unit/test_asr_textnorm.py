"""WER normalisation and the telephone-channel helpers of the ASR corpus."""

from __future__ import annotations

import numpy as np
import pytest

from asr.corpus import asterisk_prompts, mulaw_roundtrip, word_error_rate
from asr.textnorm import normalize_en, number_words

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (19, "nineteen"),
        (40, "forty"),
        (42, "forty two"),
        (100, "one hundred"),
        (1205, "one thousand two hundred five"),
        (3_000_017, "three million seventeen"),
    ],
)
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Press 1, or # to exit.", "press one or pound to exit"),
        ("I'm sorry, that's not valid", "i am sorry that is not valid"),
        ("We can\u2019t do 1,200 calls", "we can not do one thousand two hundred calls"),
        ("re-enter *", "re enter star"),
        ("He's here", "he's here"),  # ambiguous contraction left alone
    ],
)
def test_normalize_en(text: str, normal: str) -> None:
    assert normalize_en(text) == normal


def test_digits_and_words_are_the_same_words() -> None:
    assert word_error_rate("press one for sales", "Press 1 for sales.") == 0.0
    assert word_error_rate("press one for sales", "press 2 for sales") == pytest.approx(0.25)


def test_mulaw_roundtrip_is_lossy_but_close() -> None:
    t = np.arange(8000) / 8000
    tone = (10000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    out = mulaw_roundtrip(tone)
    error = tone.astype(np.float64) - out
    snr_db = 10 * np.log10(np.sum(tone.astype(np.float64) ** 2) / np.sum(error**2))
    assert 30 < snr_db < 45  # G.711 gives ≈ 38 dB on a loud tone; an identity would be infinite
    assert not np.array_equal(out, tone)
    assert mulaw_roundtrip(np.array([0, 32767, -32768], np.int16)).tolist() == [0, 32124, -32124]


def test_asterisk_prompts_are_speech_with_references_in_range() -> None:
    items = asterisk_prompts(1.5, 3.5)
    assert len(items) > 100
    assert all(item.path.exists() and item.text and not item.text.startswith("[") for item in items)
    assert not any(item.name.startswith("silence_") for item in items)
    assert len(asterisk_prompts(1.5, 8.0)) > len(items)
