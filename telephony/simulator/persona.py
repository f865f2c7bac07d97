"""Personas: who the simulated customer is and how they behave on a call, loaded from YAML.

The format is documented with a full example in docs/simulator.md. Validation is strict (unknown fields
are errors) and every error names the persona and the field, e.g.
`personas.yaml: persona 'slow-yes': turns[1].gap_ms: expected [min, max] with 0 <= min <= max, got [800, 300]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

PERSONA_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
LANGUAGES = ("en", "zh")
DEFAULT_GAP_MS = (300, 800)
DEFAULT_MAX_CALL_S = 120.0
MAX_SECONDS = 3600.0


class AnswerMode(StrEnum):
    ANSWER = "answer"
    BUSY = "busy"  # 486 Busy Here
    NO_ANSWER = "no_answer"  # ring until CANCEL, or 480 after ring_s
    REJECT = "reject"  # 603 Decline
    VOICEMAIL = "voicemail"


class PersonaError(ValueError):
    """A personas file that cannot be used; the message names the file, persona and field."""


@dataclass(frozen=True, slots=True)
class Utterance:
    """Something the customer says: a WAV file (absolute path) or text rendered by the TTS."""

    wav: Path | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    say: Utterance
    wait_for_robot: bool = True
    gap_ms: tuple[int, int] = DEFAULT_GAP_MS
    barge_in_after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Voicemail:
    greeting: Utterance
    beep: bool = True
    record_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Persona:
    id: str
    language: str = "en"
    answer: AnswerMode = AnswerMode.ANSWER
    ring_s: float | None = None
    turns: tuple[Turn, ...] = ()
    hangup_after_s: float | None = None
    max_call_s: float = DEFAULT_MAX_CALL_S
    seed: int = 0
    voicemail: Voicemail | None = None

    def utterances(self) -> list[Utterance]:
        """Everything this persona may say, in order (voicemail greeting first)."""
        says = [t.say for t in self.turns]
        return [self.voicemail.greeting, *says] if self.voicemail else says


def load_personas(path: Path) -> dict[str, Persona]:
    """Read and validate a personas file; WAV paths are resolved relative to it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PersonaError(f"{path}: cannot read personas: {exc}") from exc
    return parse_personas(data, base_dir=path.parent, source=str(path))


def parse_personas(data: Any, base_dir: Path, source: str = "<personas>") -> dict[str, Persona]:
    if not isinstance(data, dict) or set(data) != {"personas"}:
        raise PersonaError(f"{source}: expected a mapping with exactly one key 'personas'")
    items = data["personas"]
    if not isinstance(items, list) or not items:
        raise PersonaError(f"{source}: personas: expected a non-empty list")
    personas: dict[str, Persona] = {}
    for i, item in enumerate(items):
        where = _Where(source, f"personas[{i}]")
        persona = _Reader(item, where, base_dir).persona()
        if persona.id in personas:
            raise where.error("id", f"duplicate persona id {persona.id!r}")
        personas[persona.id] = persona
    return personas


@dataclass(frozen=True, slots=True)
class _Where:
    source: str
    persona: str  # "persona 'x'" once the id is known, else "personas[3]"

    def error(self, field: str, message: str) -> PersonaError:
        return PersonaError(f"{self.source}: {self.persona}: {field}: {message}")


_PERSONA_FIELDS = {
    "id",
    "language",
    "answer",
    "ring_s",
    "turns",
    "hangup_after_s",
    "max_call_s",
    "seed",
    "voicemail",
}
_TURN_FIELDS = {"wav", "text", "wait_for_robot", "gap_ms", "barge_in_after_ms"}
_VOICEMAIL_FIELDS = {"greeting", "beep", "record_s"}


class _Reader:
    """Validates one persona mapping; every error goes through `_Where.error`."""

    def __init__(self, item: Any, where: _Where, base_dir: Path) -> None:
        self._where = where
        self._base = base_dir
        if not isinstance(item, dict):
            raise where.error("(persona)", f"expected a mapping, got {type(item).__name__}")
        self._item: dict[str, Any] = item

    def persona(self) -> Persona:
        self._where = _Where(self._where.source, f"persona {self._id()!r}")
        self._unknown(self._item, _PERSONA_FIELDS, "")
        answer = self._answer()
        persona = Persona(
            id=self._id(),
            language=self._choice("language", LANGUAGES, "en"),
            answer=answer,
            ring_s=self._seconds(self._item, "ring_s", None, allow_zero=True),
            turns=self._turns(answer),
            hangup_after_s=self._seconds(self._item, "hangup_after_s", None, allow_zero=True),
            max_call_s=self._seconds(self._item, "max_call_s", DEFAULT_MAX_CALL_S) or DEFAULT_MAX_CALL_S,
            seed=self._int(self._item, "seed", 0, minimum=0) or 0,
            voicemail=self._voicemail(answer),
        )
        self._check_answer_rules(persona)
        return persona

    def _id(self) -> str:
        value = self._item.get("id")
        if not isinstance(value, str) or not PERSONA_ID.fullmatch(value):
            raise self._where.error("id", f"expected a SIP-safe id matching {PERSONA_ID.pattern}, got {value!r}")
        return value

    def _answer(self) -> AnswerMode:
        value = self._choice("answer", tuple(m.value for m in AnswerMode), AnswerMode.ANSWER.value)
        return AnswerMode(value)

    def _choice(self, field: str, allowed: tuple[str, ...], default: str) -> str:
        value = self._item.get(field, default)
        if value not in allowed:
            raise self._where.error(field, f"expected one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    def _turns(self, answer: AnswerMode) -> tuple[Turn, ...]:
        raw = self._item.get("turns", [])
        if not isinstance(raw, list):
            raise self._where.error("turns", f"expected a list, got {type(raw).__name__}")
        if raw and answer is not AnswerMode.ANSWER:
            raise self._where.error("turns", f"only personas with answer: answer have turns, this one is {answer}")
        return tuple(self._turn(t, f"turns[{i}]") for i, t in enumerate(raw))

    def _turn(self, raw: Any, field: str) -> Turn:
        if not isinstance(raw, dict):
            raise self._where.error(field, f"expected a mapping, got {type(raw).__name__}")
        self._unknown(raw, _TURN_FIELDS, f"{field}.")
        wait = raw.get("wait_for_robot", True)
        if not isinstance(wait, bool):
            raise self._where.error(f"{field}.wait_for_robot", f"expected true or false, got {wait!r}")
        barge = self._int(raw, "barge_in_after_ms", None, minimum=0, prefix=f"{field}.")
        if barge is not None and not wait:
            raise self._where.error(
                f"{field}.barge_in_after_ms", "a barge-in waits for the robot: drop wait_for_robot: false"
            )
        return Turn(self._utterance(raw, field), wait, self._gap(raw, field), barge)

    def _gap(self, raw: dict[str, Any], field: str) -> tuple[int, int]:
        value = raw.get("gap_ms", list(DEFAULT_GAP_MS))
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 0 <= value[0] <= value[1] <= MAX_SECONDS * 1000
        )
        if not ok:
            raise self._where.error(f"{field}.gap_ms", f"expected [min, max] with 0 <= min <= max, got {value!r}")
        return value[0], value[1]

    def _utterance(self, raw: Any, field: str) -> Utterance:
        if not isinstance(raw, dict) or ("wav" in raw) == ("text" in raw):
            raise self._where.error(field, "expected exactly one of 'wav: path' or 'text: ...'")
        if "text" in raw:
            text = raw["text"]
            if not isinstance(text, str) or not text.strip():
                raise self._where.error(f"{field}.text", "expected non-empty text")
            return Utterance(text=text.strip())
        wav = raw["wav"]
        if not isinstance(wav, str) or not wav:
            raise self._where.error(f"{field}.wav", f"expected a path to a WAV file, got {wav!r}")
        path = (self._base / wav).resolve()
        if not path.is_file():
            raise self._where.error(f"{field}.wav", f"no such file: {path}")
        return Utterance(wav=path)

    def _voicemail(self, answer: AnswerMode) -> Voicemail | None:
        raw = self._item.get("voicemail")
        if answer is not AnswerMode.VOICEMAIL:
            if raw is not None:
                raise self._where.error("voicemail", f"only personas with answer: voicemail have it, not {answer}")
            return None
        if not isinstance(raw, dict):
            raise self._where.error("voicemail", "expected a mapping with greeting, beep, record_s")
        self._unknown(raw, _VOICEMAIL_FIELDS, "voicemail.")
        if "greeting" not in raw:
            raise self._where.error("voicemail.greeting", "missing: expected 'wav: path' or 'text: ...'")
        beep = raw.get("beep", True)
        if not isinstance(beep, bool):
            raise self._where.error("voicemail.beep", f"expected true or false, got {beep!r}")
        record_s = self._seconds(raw, "record_s", 10.0, prefix="voicemail.") or 10.0
        greeting = raw["greeting"]
        if isinstance(greeting, dict):
            self._unknown(greeting, {"wav", "text"}, "voicemail.greeting.")
        return Voicemail(self._utterance(greeting, "voicemail.greeting"), beep, record_s)

    def _check_answer_rules(self, p: Persona) -> None:
        if p.answer in (AnswerMode.BUSY, AnswerMode.REJECT, AnswerMode.NO_ANSWER) and p.hangup_after_s is not None:
            raise self._where.error("hangup_after_s", f"a persona that never answers ({p.answer}) cannot hang up")
        if p.ring_s is not None and p.ring_s > p.max_call_s:
            raise self._where.error("ring_s", f"expected at most max_call_s ({p.max_call_s:g}), got {p.ring_s:g}")

    def _seconds(
        self, raw: dict[str, Any], key: str, default: float | None, allow_zero: bool = False, prefix: str = ""
    ) -> float | None:
        value = raw.get(key, default)
        if value is None:
            return None
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or not (0 <= value if allow_zero else 0 < value) or value > MAX_SECONDS:
            bound = ">= 0" if allow_zero else "> 0"
            raise self._where.error(f"{prefix}{key}", f"expected seconds {bound} and <= {MAX_SECONDS:g}, got {value!r}")
        return float(value)

    def _int(self, raw: dict[str, Any], key: str, default: int | None, minimum: int, prefix: str = "") -> int | None:
        value = raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._where.error(f"{prefix}{key}", f"expected an integer >= {minimum}, got {value!r}")
        return value

    def _unknown(self, raw: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in raw:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise self._where.error(f"{prefix}{key}", f"unknown field; expected one of {expected}")
