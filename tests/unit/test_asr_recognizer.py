"""The streaming recognizer with fakes at its seams: a scripted VAD scorer and a scripted transcriber."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from asr.events import Dropped, Final, Partial, RecognizerEvent, SpeechStarted
from asr.fakes import ScriptedScorer, ScriptedTranscriber, ScriptLine, scripted_audio
from asr.pool import InferencePool
from asr.recognizer import RecognizerConfig, StreamingRecognizer
from telephony.frames import split_frames

pytestmark = pytest.mark.unit

TWO_TURNS: list[ScriptLine] = [(0.5, 1.7, "hello there"), (2.6, 3.4, "yes please")]


def recognize(
    script: Sequence[ScriptLine],
    total_s: float,
    config: RecognizerConfig | None = None,
    transcriber: ScriptedTranscriber | None = None,
    rate_hz: int = 8000,
    max_pending: int = 8,
    pace_s: float = 0.0,
) -> tuple[list[RecognizerEvent], ScriptedTranscriber]:
    """Push the scripted stream (each 20 ms frame `pace_s` apart on the wall clock), then read all events."""
    tr = transcriber or ScriptedTranscriber(script)

    async def main() -> list[RecognizerEvent]:
        pool = InferencePool(tr, workers=1, max_pending=max_pending)
        rec = StreamingRecognizer(pool, ScriptedScorer(script), config)
        events: list[RecognizerEvent] = []
        for frame in split_frames(scripted_audio(script, total_s, rate_hz), rate_hz):
            rec.push_frame(frame)
            await asyncio.sleep(pace_s)
        rec.end_input()
        events += [e async for e in rec]
        await rec.aclose()
        pool.close()
        return events

    return asyncio.run(main()), tr


def texts(events: list[RecognizerEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, Final)]


def test_two_turns_give_speech_started_then_final_with_timings() -> None:
    events, _ = recognize(TWO_TURNS, 4.5, pace_s=0.002)
    assert [type(e) for e in events] == [SpeechStarted, Final, SpeechStarted, Final]
    s1, f1, _s2, f2 = events
    assert isinstance(s1, SpeechStarted) and isinstance(f1, Final) and isinstance(f2, Final)
    assert 0.45 <= s1.t_s <= 0.55 and s1.detected_s - 0.5 <= 0.100
    assert (f1.text, f2.text) == ("hello there", "yes please")
    assert f1.start_s == pytest.approx(0.5, abs=0.04) and f1.end_s == pytest.approx(1.7, abs=0.04)
    assert f1.language == "en" and f1.confidence == pytest.approx(0.9)


def test_silence_yields_no_events_and_no_decodes() -> None:
    events, tr = recognize([], 3.0)
    assert events == [] and tr.calls == []


def test_whisper_sees_only_speech_plus_pre_roll_and_tail() -> None:
    _, tr = recognize(TWO_TURNS, 4.5)
    assert len(tr.calls) == 2
    for call, (start, end, _) in zip(tr.calls, TWO_TURNS, strict=True):
        seconds = len(call.audio) / 16000
        assert seconds <= (end - start) + 0.200 + 0.064 + 0.07  # speech + pre-roll + tail + chunk rounding
        assert seconds >= (end - start) + 0.15


def test_speculative_decode_is_kept_when_no_speech_follows() -> None:
    events, tr = recognize(TWO_TURNS, 4.5)
    finals = [e for e in events if isinstance(e, Final)]
    assert all(f.speculative for f in finals)
    assert len(tr.calls) == 2  # one decode per turn: the speculative one became the final


def test_speculative_decode_is_discarded_when_speech_resumes() -> None:
    script: list[ScriptLine] = [(0.5, 1.2, "hello"), (1.4, 2.2, "again")]  # 200 ms gap: a pause, not a turn end
    events, tr = recognize(script, 3.5)
    assert texts(events) == ["hello again"]
    (final,) = [e for e in events if isinstance(e, Final)]
    assert final.speculative is True  # the second pause's decode was kept; the first one's was discarded
    assert tr.calls[-1].end_s == pytest.approx(2.2, abs=0.04)
    assert [type(e) for e in events].count(SpeechStarted) == 1


def test_without_speculation_one_final_decode_per_turn() -> None:
    events, tr = recognize(TWO_TURNS, 4.5, RecognizerConfig(speculative=False))
    assert texts(events) == ["hello there", "yes please"]
    assert not any(isinstance(e, Final) and e.speculative for e in events)
    assert len(tr.calls) == 2


def test_16_khz_frames_give_the_same_events() -> None:
    events8, _ = recognize(TWO_TURNS, 4.5, rate_hz=8000)
    events16, _ = recognize(TWO_TURNS, 4.5, rate_hz=16000)
    for kind in (SpeechStarted, Final):
        assert [e for e in events8 if isinstance(e, kind)] == [e for e in events16 if isinstance(e, kind)]


def test_partials_while_speaking_when_switched_on_only() -> None:
    script: list[ScriptLine] = [(0.3, 3.5, "a long sentence")]
    tr = ScriptedTranscriber([(0.3, 1.0, "a"), (1.0, 2.0, "long"), (2.0, 3.5, "sentence")])
    config = RecognizerConfig(partials=True, partial_interval_ms=500)
    events, _ = recognize(script, 4.5, config, transcriber=tr, pace_s=0.003)
    kinds = [type(e) for e in events]
    assert Partial in kinds and kinds.index(Partial) < kinds.index(Final)
    assert texts(events) == ["a long sentence"]
    events_off, _ = recognize(script, 4.5, RecognizerConfig(partials=False))
    assert Partial not in [type(e) for e in events_off]


def test_finals_come_in_utterance_order_even_if_decodes_finish_out_of_order() -> None:
    tr = ScriptedTranscriber(TWO_TURNS, delay_s={"hello there": 0.3})

    async def main() -> list[RecognizerEvent]:
        pool = InferencePool(tr, workers=2)
        rec = StreamingRecognizer(pool, ScriptedScorer(TWO_TURNS))
        for frame in split_frames(scripted_audio(TWO_TURNS, 4.5, 8000), 8000):
            rec.push_frame(frame)
        rec.end_input()
        events = [e async for e in rec]
        pool.close()
        return events

    assert texts(asyncio.run(main())) == ["hello there", "yes please"]


def test_end_input_finishes_the_utterance_in_progress() -> None:
    events, _ = recognize([(0.5, 2.5, "still talking")], 2.0)
    assert texts(events) == ["still talking"]


def test_a_full_pool_drops_a_final_with_a_named_reason() -> None:
    script: list[ScriptLine] = [(0.5, 1.0, "one"), (1.5, 2.0, "two"), (2.5, 3.0, "three")]
    gate = threading.Event()
    tr = ScriptedTranscriber(script, gate=gate)
    threading.Timer(1.5, gate.set).start()
    events, _ = recognize(script, 4.0, RecognizerConfig(speculative=False), transcriber=tr, max_pending=1, pace_s=0.002)
    # "one" is running (blocked), "two" fills the queue, "three" finds nothing less urgent to shed: refused.
    assert texts(events) == ["one", "two"]
    assert [(type(e), e.reason) for e in events if isinstance(e, Dropped)] == [(Dropped, "pool_full")]


def test_frames_after_end_input_are_refused() -> None:
    async def main() -> None:
        pool = InferencePool(ScriptedTranscriber([]))
        rec = StreamingRecognizer(pool, ScriptedScorer([]))
        rec.end_input()
        with pytest.raises(RuntimeError, match="before end_input"):
            rec.push_frame(split_frames(scripted_audio([], 0.02, 8000), 8000)[0])
        pool.close()

    asyncio.run(main())


def test_a_stalled_consumer_loses_onsets_before_any_final_transcript() -> None:
    script: list[ScriptLine] = [(0.5, 1.0, "one"), (1.8, 2.3, "two"), (3.1, 3.6, "three"), (4.4, 4.9, "four")]
    events, _ = recognize(script, 6.0, RecognizerConfig(max_pending_events=5), pace_s=0.002)
    assert texts(events) == ["one", "two", "three", "four"]
    assert sum(isinstance(e, SpeechStarted) for e in events) < 4, "the queue must have overflowed"
