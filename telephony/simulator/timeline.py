"""timeline.json: the simulator's ground truth for one call, and the loader for finished calls.

Layout: `<out>/<NNN>-<persona_id>/timeline.json` (+ `heard.wav`, `said.wav` for answered calls). Event times
`t_s` count from the answer (from the INVITE's arrival for calls that were never answered, see `t0`).
`time.monotonic()` is CLOCK_MONOTONIC, shared by every process on the host, so `answer.monotonic_s` lines up
with timestamps taken by the robot's processes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telephony.simulator.turns import TimelineEvent

SCHEMA_VERSION = 1
TIMELINE_FILE = "timeline.json"
HEARD_FILE = "heard.wav"
SAID_FILE = "said.wav"


def call_dir_name(call_index: int, persona_id: str) -> str:
    return f"{call_index:03d}-{persona_id}"


def _wall(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(slots=True)
class CallTimeline:
    """Everything the simulator knows about one call; written once, when the call is over."""

    persona_id: str
    call_index: int
    sip_call_id: str | None
    received_monotonic_s: float
    received_wall_s: float
    sample_rate_hz: int
    outcome: str = "failed"  # answered | voicemail | busy | rejected | no_answer | cancelled | failed
    answer_monotonic_s: float | None = None
    answer_wall_s: float | None = None
    audio_start_s: float | None = None
    final_status: int | None = None
    gaps_ms: list[int] = field(default_factory=list)
    late_frames: int = 0
    events: list[TimelineEvent] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        answer = None
        if self.answer_monotonic_s is not None:
            answer = {"monotonic_s": self.answer_monotonic_s, "wall_time": _wall(self.answer_wall_s)}
        return {
            "schema": SCHEMA_VERSION,
            "persona_id": self.persona_id,
            "call_index": self.call_index,
            "sip_call_id": self.sip_call_id,
            "outcome": self.outcome,
            "final_status": self.final_status,
            "received": {"monotonic_s": self.received_monotonic_s, "wall_time": _wall(self.received_wall_s)},
            "answer": answer,
            "t0": "answer" if answer else "received",
            "sample_rate_hz": self.sample_rate_hz,
            "audio_start_s": self.audio_start_s,
            "gaps_ms": self.gaps_ms,
            "late_frames": self.late_frames,
            "events": [e.to_json() for e in sorted(self.events, key=lambda e: e.t_s)],
        }

    def write(self, call_dir: Path) -> Path:
        """Write atomically, so a reader never sees half a file."""
        call_dir.mkdir(parents=True, exist_ok=True)
        path = call_dir / TIMELINE_FILE
        tmp = call_dir / f".{TIMELINE_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


@dataclass(frozen=True, slots=True)
class CallResult:
    """A finished call as read back from its timeline.json."""

    dir: Path
    persona_id: str
    call_index: int
    sip_call_id: str | None
    outcome: str
    final_status: int | None
    answer_monotonic_s: float | None
    audio_start_s: float | None
    sample_rate_hz: int
    events: list[dict[str, Any]]

    @property
    def heard_wav(self) -> Path:
        return self.dir / HEARD_FILE

    @property
    def said_wav(self) -> Path:
        return self.dir / SAID_FILE

    def times(self, kind: str, turn: int | None = None) -> list[float]:
        """`t_s` of every event of `kind` (and `turn`, if given), in time order."""
        return [e["t_s"] for e in self.events if e["kind"] == kind and (turn is None or e.get("turn") == turn)]

    @classmethod
    def load(cls, call_dir: Path) -> CallResult:
        data = json.loads((call_dir / TIMELINE_FILE).read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"{call_dir}: expected timeline schema {SCHEMA_VERSION}, got {data.get('schema')!r}")
        answer = data["answer"]
        return cls(
            dir=call_dir,
            persona_id=data["persona_id"],
            call_index=data["call_index"],
            sip_call_id=data["sip_call_id"],
            outcome=data["outcome"],
            final_status=data["final_status"],
            answer_monotonic_s=answer["monotonic_s"] if answer else None,
            audio_start_s=data["audio_start_s"],
            sample_rate_hz=data["sample_rate_hz"],
            events=data["events"],
        )


def load_results(out_dir: Path) -> list[CallResult]:
    """Every finished call under `out_dir`, by call index."""
    dirs = [p.parent for p in out_dir.glob(f"*/{TIMELINE_FILE}")]
    return sorted((CallResult.load(d) for d in dirs), key=lambda r: r.call_index)
