"""Real models: tiny.en and base from their packages, Silero VAD from faster-whisper, real English speech."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from asr.corpus import energy_onset_s, load_pcm16, recordings, word_error_rate
from asr.events import Final, RecognizerEvent, SpeechStarted
from asr.models import ModelIntegrityError, WhisperTranscriber, base_files, load_model
from asr.pool import InferencePool
from asr.recognizer import StreamingRecognizer
from asr.transcriber import Utterance
from asr.vad import CHUNK_SAMPLES, SileroScorer
from telephony.frames import split_frames

pytestmark = pytest.mark.models

RATE_HZ = 8000
LEAD_S, TAIL_S = 1.0, 1.5


@pytest.fixture(scope="module")
def tiny_pool() -> Iterator[InferencePool]:
    pool = InferencePool(WhisperTranscriber(load_model("tiny.en"), "en"))
    yield pool
    pool.close()


def padded(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    lead, tail = np.zeros(int(LEAD_S * RATE_HZ), np.int16), np.zeros(int(TAIL_S * RATE_HZ), np.int16)
    return np.concatenate([lead, samples, tail])


def stream(pool: InferencePool, samples: npt.NDArray[np.int16]) -> list[RecognizerEvent]:
    async def main() -> list[RecognizerEvent]:
        rec = StreamingRecognizer(pool)
        for frame in split_frames(samples, RATE_HZ):
            rec.push_frame(frame)
            await asyncio.sleep(0)
        rec.end_input()
        events = [e async for e in rec]
        await rec.aclose()
        return events

    return asyncio.run(main())


def test_tiny_en_transcribes_real_8_khz_speech_through_the_recognizer(tiny_pool: InferencePool) -> None:
    references, hypotheses = [], []
    for rec in recordings():
        events = stream(tiny_pool, padded(load_pcm16(rec.path, RATE_HZ)))
        finals = [e for e in events if isinstance(e, Final)]
        assert finals, f"expected final text for {rec.name}, got none"
        assert all(0.0 < f.confidence <= 1.0 and f.language == "en" for f in finals)
        assert all(f.start_s < f.end_s for f in finals)
        assert [type(e) for e in events].count(SpeechStarted) == len(finals)
        references.append(rec.text)
        hypotheses.append(" ".join(f.text for f in finals))
    # 130 words, endpointed into 20 short utterances; measured 7-8 % (the notes: 6.7 % on telephone prompts).
    wer = word_error_rate(" ".join(references), " ".join(hypotheses))
    assert wer <= 0.10, f"WER {wer:.1%}"


@pytest.mark.parametrize("rec", recordings(), ids=lambda r: r.name)
def test_speech_started_within_100_ms_of_the_true_onset(tiny_pool: InferencePool, rec: object) -> None:
    assert hasattr(rec, "path")
    samples = load_pcm16(rec.path, RATE_HZ)
    onset_s = LEAD_S + energy_onset_s(samples, RATE_HZ)
    events = stream(tiny_pool, padded(samples[: RATE_HZ * 4]))
    first = next(e for e in events if isinstance(e, SpeechStarted))
    assert -0.05 <= first.detected_s - onset_s <= 0.100, (first, onset_s)


def test_silence_and_line_noise_yield_nothing(tiny_pool: InferencePool) -> None:
    rng = np.random.default_rng(1)
    hiss = rng.normal(0, 60, RATE_HZ * 5).astype(np.int16)  # about -55 dBFS
    assert stream(tiny_pool, hiss) == []


def test_silero_scores_speech_high_and_silence_low() -> None:
    rec = recordings()[0]
    x = load_pcm16(rec.path, 16000).astype(np.float32) / 32768
    scorer = SileroScorer()
    probs = [scorer.score(x[i : i + CHUNK_SAMPLES]) for i in range(0, len(x) - CHUNK_SAMPLES, CHUNK_SAMPLES)]
    assert max(probs) > 0.9
    scorer.reset()
    assert scorer.score(np.zeros(CHUNK_SAMPLES, np.float32)) < 0.1
    with pytest.raises(ValueError, match="expected a chunk of 512"):
        scorer.score(np.zeros(320, np.float32))


def test_base_is_joined_from_its_two_parts_and_verified() -> None:
    files = base_files()
    assert len(files["model.bin"]) == 145_217_532
    assert set(files) == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    with pytest.raises(ModelIntegrityError, match=r"expected whisper-base model\.bin"):
        base_files(expected_sha256="0" * 64)


def test_base_loads_offline_and_the_mandarin_path_gives_simplified_text() -> None:
    from asr.models import _zhconv

    zhconv = _zhconv()
    model = load_model("base")
    assert model.model.is_multilingual
    tr = WhisperTranscriber(model, "zh")
    # No real Mandarin speech ships in any package: English speech forced to zh only exercises the path.
    audio = load_pcm16(recordings()[0].path, 16000)[: 16000 * 3].astype(np.float32) / 32768
    out = tr.transcribe(Utterance(audio, 0.0, 3.0))
    assert out.language == "zh"
    assert out.text and zhconv.convert(out.text, "zh-cn") == out.text


def test_tiny_en_refuses_another_language() -> None:
    with pytest.raises(ValueError, match="English-only"):
        WhisperTranscriber(load_model("tiny.en"), "zh")
