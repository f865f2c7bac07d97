"""Call records: what a finished call leaves (transcript, timings, recording, outcome, grade, signals, handoff)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import CallRecord, TranscriptTurn

__all__ = ["get_call_record", "save_call_record"]

_SPEAKERS = frozenset({"customer", "robot", "agent"})


def save_call_record(
    session: Session,
    attempt_id: int,
    *,
    transcript: Sequence[TranscriptTurn] = (),
    timings: dict[str, Any] | None = None,
    recording_path: str | None = None,
    outcome: str | None = None,
    grade: str | None = None,
    score: float | None = None,
    signals: dict[str, Any] | None = None,
    handoff: dict[str, Any] | None = None,
) -> CallRecord:
    """Create or replace the record of one attempt (saving twice, e.g. after a late grade, overwrites)."""
    turns = [_checked_turn(t) for t in transcript]
    record = session.scalar(select(CallRecord).where(CallRecord.attempt_id == attempt_id))
    if record is None:
        record = CallRecord(attempt_id=attempt_id)
        session.add(record)
    record.transcript = turns
    record.timings = dict(timings or {})
    record.recording_path = recording_path
    record.outcome = outcome
    record.grade = grade
    record.score = score
    record.signals = dict(signals or {})
    record.handoff = dict(handoff or {})
    session.flush()
    return record


def get_call_record(session: Session, attempt_id: int) -> CallRecord | None:
    return session.scalar(select(CallRecord).where(CallRecord.attempt_id == attempt_id))


def _checked_turn(turn: TranscriptTurn) -> TranscriptTurn:
    if turn["speaker"] not in _SPEAKERS:
        raise ValueError(f"expected speaker customer, robot or agent, got {turn['speaker']!r}")
    if not 0 <= turn["start_s"] <= turn["end_s"]:
        raise ValueError(f"expected 0 <= start_s <= end_s, got {turn['start_s']} and {turn['end_s']}")
    return TranscriptTurn(
        speaker=turn["speaker"], start_s=float(turn["start_s"]), end_s=float(turn["end_s"]), text=turn["text"]
    )
