"""The endpointer state machine on scripted per-chunk probabilities (32 ms chunks, virtual time)."""

from __future__ import annotations

import pytest

from asr.vad import CHUNK_S, EndpointConfig, Endpointer, State, VadEnd, VadEvent, VadPause, VadResume, VadStart

pytestmark = pytest.mark.unit

S, Q = 0.9, 0.05  # speech, quiet


def run(probs: list[float], config: EndpointConfig | None = None) -> list[tuple[int, VadEvent]]:
    """(chunk index, event) for every event."""
    ep = Endpointer(config)
    return [(i, e) for i, p in enumerate(probs) for e in ep.push(p)]


def test_speech_start_needs_two_chunks_and_comes_within_100_ms_of_onset() -> None:
    events = run([Q] * 5 + [S] * 3)
    assert events == [(6, VadStart(5 * CHUNK_S, 7 * CHUNK_S))]
    ((_, start),) = events
    assert isinstance(start, VadStart) and start.detected_s - start.onset_s <= 0.100


def test_a_single_speech_chunk_is_not_speech() -> None:
    assert run([Q, S, Q, S, Q, Q, S, Q]) == []


def test_end_of_turn_after_300_ms_with_a_pause_event_first() -> None:
    events = run([S] * 10 + [Q] * 12)
    kinds = [(i, type(e).__name__) for i, e in events]
    # 300 ms = 9.4 chunks, rounded up to 10: the 10th quiet chunk (index 19) ends the turn.
    assert kinds == [(1, "VadStart"), (11, "VadPause"), (19, "VadEnd")]
    end = events[-1][1]
    assert isinstance(end, VadEnd)
    assert end.start_s == 0.0 and end.end_s == pytest.approx(10 * CHUNK_S) and not end.cut


def test_end_silence_is_configurable() -> None:
    events = run([S] * 10 + [Q] * 30, EndpointConfig(end_silence_ms=600))
    assert [i for i, e in events if isinstance(e, VadEnd)] == [10 + 19 - 1]  # ceil(600 / 32) = 19 chunks


def test_hysteresis_middle_probabilities_keep_speech_going_but_do_not_resume_it() -> None:
    assert [type(e) for _, e in run([S] * 4 + [0.4] * 20)] == [VadStart]  # 0.35 <= p < 0.5: still speech
    events = run([S] * 4 + [Q] + [0.4] * 12)  # once silent, 0.4 is silence: the turn ends
    assert [type(e) for _, e in events] == [VadStart, VadPause, VadEnd]


def test_speech_after_a_pause_resumes_and_a_short_dip_is_silent() -> None:
    events = run([S] * 4 + [Q] * 3 + [S] * 4 + [Q] + [S] * 2)
    assert [type(e) for _, e in events] == [VadStart, VadPause, VadResume]


def test_max_utterance_cuts_and_continues() -> None:
    config = EndpointConfig(max_utterance_s=1.0)  # 32 chunks
    events = run([S] * 70, config)
    cuts = [e for _, e in events if isinstance(e, VadEnd)]
    assert len(cuts) == 2 and all(c.cut for c in cuts)
    assert cuts[0].end_s - cuts[0].start_s == pytest.approx(1.0, abs=CHUNK_S)
    assert cuts[1].start_s == pytest.approx(cuts[0].end_s)


def test_flush_ends_speech_or_trailing_and_is_silent_otherwise() -> None:
    ep = Endpointer()
    assert ep.flush() == []
    for p in [S] * 5:
        ep.push(p)
    assert ep.flush() == [VadEnd(0.0, 5 * CHUNK_S, 5 * CHUNK_S)]
    assert ep.state is State.SILENCE
    for p in [S] * 5 + [Q] * 3:
        ep.push(p)
    (end,) = ep.flush()
    assert isinstance(end, VadEnd) and end.end_s == pytest.approx(10 * CHUNK_S)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="pause_ms <= end_silence_ms"):
        EndpointConfig(pause_ms=400, end_silence_ms=300)
    with pytest.raises(ValueError, match="neg_threshold <= threshold"):
        EndpointConfig(threshold=0.3, neg_threshold=0.5)


def test_pause_event_marks_the_start_of_the_silence() -> None:
    events = run([Q] * 2 + [S] * 6 + [Q] * 3)
    pauses = [e for _, e in events if isinstance(e, VadPause)]
    assert pauses == [VadPause(8 * CHUNK_S, 10 * CHUNK_S)]
