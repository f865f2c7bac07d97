"""The call record: what is kept of a call once it is over, built from its event stream and persisted.

`RecordBuilder` listens to the stream (every event, synchronously) and keeps the final transcript lines, the
last score, the handoffs and the outcome; the session adds its own timings and the follow-ups it carried out.
`RecordStore` is the narrow interface the database of issue 7 will implement; until then `JsonRecordStore`
writes one JSON file per call into a directory.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from session.events import EndedEvent, HandoffEvent, ScoreEvent, SessionEvent, TranscriptEvent

SCHEMA_VERSION = 1
CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    speaker: str
    text: str
    start_s: float
    end_s: float | None
    cut: bool = False


@dataclass(slots=True)
class CallRecord:
    call_id: str
    answered_at: str  # ISO 8601, UTC
    duration_s: float = 0.0
    outcome: str | None = None  # the dialogue's (booked, callback, handoff, ...) or "hangup" / "error"
    hangup_by: str | None = None
    score: int | None = None
    grade: str | None = None
    category: str | None = None
    signals: list[dict[str, Any]] = field(default_factory=list)
    transcript: list[TranscriptLine] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)  # book, callback, do-not-call
    timings: dict[str, Any] = field(default_factory=dict)
    recording_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"expected call record schema {SCHEMA_VERSION}, got {data.get('schema')!r}")
        fields = {k: v for k, v in data.items() if k != "schema"}
        fields["transcript"] = [TranscriptLine(**line) for line in fields.get("transcript", [])]
        return cls(**fields)

    def speakers(self) -> set[str]:
        return {line.speaker for line in self.transcript}


class RecordBuilder:
    """An event-stream listener that accumulates the record of one call."""

    def __init__(self, call_id: str, *, recording_path: Path | None = None, answered_at: datetime | None = None):
        when = (answered_at or datetime.now(UTC)).astimezone(UTC)
        self.record = CallRecord(call_id, when.isoformat(timespec="milliseconds"))
        self.record.recording_path = str(recording_path) if recording_path else None

    def __call__(self, event: SessionEvent) -> None:
        r = self.record
        if isinstance(event, TranscriptEvent) and event.final:
            r.transcript.append(TranscriptLine(event.speaker, event.text, event.start_s, event.end_s, event.cut))
        elif isinstance(event, ScoreEvent):
            r.score, r.grade, r.category = event.score, event.grade, event.category
            r.signals = [dict(s) for s in event.signals]
        elif isinstance(event, HandoffEvent):
            entry = {"status": event.status, "t_s": round(event.t_s, 3), "reason": event.reason}
            r.handoffs.append(entry | ({"agent_id": event.agent_id} if event.agent_id else {}))
        elif isinstance(event, EndedEvent):
            r.outcome, r.hangup_by, r.duration_s = event.outcome, event.hangup_by, round(event.t_s, 3)


class RecordStore(Protocol):
    """Where finished call records go (a JSON directory today, the database in issue 7)."""

    def save(self, record: CallRecord) -> None: ...


class JsonRecordStore:
    """One `<call_id>.json` per call in `directory`, written atomically (temporary file, then rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, call_id: str) -> Path:
        if not CALL_ID.fullmatch(call_id):
            raise ValueError(f"expected a call id matching {CALL_ID.pattern}, got {call_id!r}")
        return self.directory / f"{call_id}.json"

    def save(self, record: CallRecord) -> None:
        path = self.path_for(record.call_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    def load(self, call_id: str) -> CallRecord:
        data = json.loads(self.path_for(call_id).read_text(encoding="utf-8"))
        return CallRecord.from_json(data)
