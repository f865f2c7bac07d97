"""Speech-model inference shared by all calls: a bounded priority queue served by worker threads.

Inference never runs on the event loop nor in a SIP worker: `submit()` only enqueues, and threads of this
pool call the (blocking) transcriber; CTranslate2 releases the GIL while it computes.

Urgency: a final for a customer who is waiting beats a speculative decode, which beats a partial. A queued job
can be promoted (a speculative decode becomes the final when the endpoint arrives). When the queue is full,
the least urgent, newest queued job is shed if the new one is more urgent; otherwise the new one is refused.
A shed or refused job completes with `PoolFull`.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from asr.transcriber import Transcriber, Transcript, Utterance


class Priority(enum.IntEnum):
    FINAL = 0
    SPECULATIVE = 1
    PARTIAL = 2


class PoolFull(RuntimeError):
    """The job was refused or shed because the pool's queue was full of more urgent work."""


class PoolClosed(RuntimeError):
    pass


@dataclass(eq=False)
class Job:
    """One queued transcription. `future` completes with a Transcript, PoolFull or the model's error."""

    utterance: Utterance
    priority: Priority
    future: Future[Transcript] = field(default_factory=Future)
    _pool: InferencePool | None = None
    since: float = field(default_factory=time.monotonic)  # submitted, or promoted to a final (monotonic s)

    def promote(self, priority: Priority) -> None:
        """Make a queued job more urgent; no effect once it runs."""
        if self._pool is not None:
            self._pool._promote(self, priority)

    def cancel(self) -> bool:
        """Drop a job that has not started; a running one completes and its result is ignored by the caller."""
        if self._pool is not None:
            self._pool._forget(self)
        return self.future.cancel()


class InferencePool:
    def __init__(self, transcriber: Transcriber, workers: int = 1, max_pending: int = 32) -> None:
        if workers < 1 or max_pending < 1:
            raise ValueError(f"expected workers >= 1 and max_pending >= 1, got {workers}, {max_pending}")
        self.transcriber = transcriber
        self.max_pending = max_pending
        self._heap: list[tuple[int, int, Job]] = []
        self._queued: dict[Job, tuple[int, int]] = {}  # job -> its live heap key; stale heap entries are skipped
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self.shed = 0  # jobs shed or refused because the queue was full
        # on_latency(final, seconds): each decode's wait + run time, from submission (or promotion to a final)
        self.on_latency: Callable[[bool, float], None] | None = None
        self._threads = [threading.Thread(target=self._work, name=f"asr-pool-{i}", daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    def submit(self, utterance: Utterance, priority: Priority) -> Job:
        job = Job(utterance, priority, _pool=self)
        with self._cond:
            if self._closed:
                raise PoolClosed("expected an open pool, got a closed one")
            if len(self._queued) >= self.max_pending and not self._shed_for(priority):
                self.shed += 1
                job.future.set_exception(PoolFull("asr pool queue full"))
                return job
            self._push(job, priority)
            self._cond.notify()
        return job

    def pending(self) -> int:
        with self._cond:
            return len(self._queued)

    def close(self, timeout_s: float = 5.0) -> None:
        """Refuse new work, cancel queued jobs, wait for running ones."""
        with self._cond:
            self._closed = True
            for job in self._queued:
                job.future.cancel()
            self._queued.clear()
            self._heap.clear()
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout_s)

    def _push(self, job: Job, priority: Priority) -> None:
        key = (int(priority), next(self._seq))
        self._queued[job] = key
        heapq.heappush(self._heap, (*key, job))

    def _promote(self, job: Job, priority: Priority) -> None:
        with self._cond:
            key = self._queued.get(job)
            if key is not None and priority < key[0]:
                job.priority = priority
                if priority == Priority.FINAL:
                    job.since = time.monotonic()
                self._push(job, priority)
                self._cond.notify()

    def _forget(self, job: Job) -> None:
        with self._cond:
            self._queued.pop(job, None)

    def _shed_for(self, priority: Priority) -> bool:
        """Shed the least urgent, newest queued job if it is less urgent than `priority`."""
        victim, key = max(self._queued.items(), key=lambda kv: kv[1])
        if key[0] <= priority:
            return False
        del self._queued[victim]
        self.shed += 1
        victim.future.set_exception(PoolFull("shed for a more urgent asr job"))
        return True

    def _next_job(self) -> Job | None:
        with self._cond:
            while True:
                while self._heap:
                    prio, seq, job = heapq.heappop(self._heap)
                    if self._queued.get(job) == (prio, seq):
                        del self._queued[job]
                        return job
                if self._closed:
                    return None
                self._cond.wait()

    def _work(self) -> None:
        while (job := self._next_job()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                job.future.set_result(self.transcriber.transcribe(job.utterance))
            except Exception as exc:  # handed to the waiting caller through the future, not swallowed
                job.future.set_exception(exc)
                continue
            if self.on_latency is not None:
                self.on_latency(job.priority == Priority.FINAL, time.monotonic() - job.since)
