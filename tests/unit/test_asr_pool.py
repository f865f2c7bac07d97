"""The shared inference pool: most urgent first, promotion, and what happens when it is full."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from asr.pool import InferencePool, PoolClosed, PoolFull, Priority
from asr.transcriber import Transcript, Utterance

pytestmark = pytest.mark.unit


class RecordingTranscriber:
    """Blocks until `gate` is set; records the order in which utterances (tagged by start_s) were decoded."""

    language = "en"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.order: list[float] = []

    def transcribe(self, utterance: Utterance) -> Transcript:
        self.started.set()
        self.gate.wait(5)
        self.order.append(utterance.start_s)
        return Transcript(f"u{utterance.start_s:g}", 1.0, "en")


def utt(tag: float) -> Utterance:
    return Utterance(np.zeros(160, dtype=np.float32), tag, tag + 1)


@pytest.fixture
def busy_pool() -> Iterator[tuple[InferencePool, RecordingTranscriber]]:
    """A one-worker pool whose worker is busy with job 0 until the gate opens."""
    tr = RecordingTranscriber()
    pool = InferencePool(tr, workers=1, max_pending=3)
    pool.submit(utt(0), Priority.PARTIAL)
    assert tr.started.wait(5)
    yield pool, tr
    tr.gate.set()
    pool.close()


def test_final_beats_speculative_beats_partial_then_fifo(busy_pool: tuple[InferencePool, RecordingTranscriber]) -> None:
    pool, tr = busy_pool
    jobs = [
        pool.submit(utt(1), Priority.PARTIAL),
        pool.submit(utt(2), Priority.SPECULATIVE),
        pool.submit(utt(3), Priority.FINAL),
    ]
    tr.gate.set()
    assert [j.future.result(5).text for j in jobs] == ["u1", "u2", "u3"]
    assert tr.order == [0, 3, 2, 1]


def test_promotion_moves_a_queued_job_ahead(busy_pool: tuple[InferencePool, RecordingTranscriber]) -> None:
    pool, tr = busy_pool
    spec = pool.submit(utt(1), Priority.SPECULATIVE)
    final = pool.submit(utt(2), Priority.FINAL)
    spec.promote(Priority.FINAL)  # still behind the final that was queued first
    partial = pool.submit(utt(3), Priority.PARTIAL)
    partial.promote(Priority.FINAL)
    tr.gate.set()
    for j in (spec, final, partial):
        j.future.result(5)
    assert tr.order == [0, 2, 1, 3]


def test_full_queue_sheds_the_least_urgent_newest_job(busy_pool: tuple[InferencePool, RecordingTranscriber]) -> None:
    pool, tr = busy_pool
    p1 = pool.submit(utt(1), Priority.PARTIAL)
    p2 = pool.submit(utt(2), Priority.PARTIAL)
    s3 = pool.submit(utt(3), Priority.SPECULATIVE)
    f4 = pool.submit(utt(4), Priority.FINAL)  # full: p2 (least urgent, newest) is shed
    with pytest.raises(PoolFull):
        p2.future.result(1)
    p5 = pool.submit(utt(5), Priority.PARTIAL)  # full of more urgent work: refused
    with pytest.raises(PoolFull):
        p5.future.result(1)
    assert pool.shed == 2
    tr.gate.set()
    assert [j.future.result(5).text for j in (f4, s3, p1)] == ["u4", "u3", "u1"]
    assert tr.order == [0, 4, 3, 1]


def test_cancelled_job_is_skipped_and_frees_its_slot(busy_pool: tuple[InferencePool, RecordingTranscriber]) -> None:
    pool, tr = busy_pool
    job = pool.submit(utt(1), Priority.FINAL)
    assert job.cancel()
    assert pool.pending() == 0
    done = pool.submit(utt(2), Priority.FINAL)
    tr.gate.set()
    done.future.result(5)
    assert tr.order == [0, 2]


def test_model_errors_reach_the_caller() -> None:
    class Broken:
        language = "en"

        def transcribe(self, utterance: Utterance) -> Transcript:
            raise MemoryError("model exploded")

    pool = InferencePool(Broken())
    try:
        with pytest.raises(MemoryError, match="exploded"):
            pool.submit(utt(1), Priority.FINAL).future.result(5)
    finally:
        pool.close()
    with pytest.raises(PoolClosed):
        pool.submit(utt(2), Priority.FINAL)
