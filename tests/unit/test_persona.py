"""Persona files: the documented example parses; every kind of mistake names the persona and the field."""

from __future__ import annotations

import copy
import re
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml

from telephony.simulator.persona import AnswerMode, PersonaError, load_personas, parse_personas

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def _write_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x10\x00" * 800)


def documented_example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "docs/simulator.md lost its persona example"
    return str(blocks[0])


def test_documented_example_parses(tmp_path: Path) -> None:
    _write_wav(tmp_path / "audio" / "yes_its_me.wav")
    path = tmp_path / "personas.yaml"
    path.write_text(documented_example(), encoding="utf-8")
    personas = load_personas(path)
    assert list(personas) == [
        "polite-yes",
        "wang-li",
        "line-busy",
        "declines",
        "never-home",
        "rings-forever",
        "mailbox",
    ]
    polite = personas["polite-yes"]
    assert (polite.answer, polite.ring_s, polite.seed, polite.hangup_after_s) == (AnswerMode.ANSWER, 1.5, 7, 2.0)
    assert polite.turns[0].wait_for_robot is False and polite.turns[0].gap_ms == (300, 600)
    assert polite.turns[1].say.wav == (tmp_path / "audio" / "yes_its_me.wav").resolve()
    assert polite.turns[1].gap_ms == (300, 800) and polite.turns[1].wait_for_robot is True
    assert polite.turns[2].barge_in_after_ms == 1500
    assert personas["wang-li"].language == "zh"
    assert personas["rings-forever"].ring_s is None and personas["rings-forever"].max_call_s == 60
    mailbox = personas["mailbox"]
    assert mailbox.voicemail is not None and mailbox.voicemail.record_s == 12 and mailbox.voicemail.beep
    assert mailbox.voicemail.greeting.text is not None and mailbox.voicemail.greeting.text.startswith("You have")


GOOD: dict[str, Any] = {
    "id": "alice",
    "turns": [{"text": "Hello?", "wait_for_robot": False}, {"wav": "hi.wav", "gap_ms": [100, 200]}],
    "hangup_after_s": 1.0,
}


def _parse(tmp_path: Path, persona: dict[str, Any]) -> None:
    _write_wav(tmp_path / "hi.wav")
    parse_personas({"personas": [persona]}, base_dir=tmp_path, source="p.yaml")


def test_good_persona_parses(tmp_path: Path) -> None:
    _parse(tmp_path, GOOD)


def _mutate(path: str, value: Any) -> dict[str, Any]:
    persona = copy.deepcopy(GOOD)
    target: Any = persona
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return persona


_DELETE = object()

BAD = [
    ("language", "fr", "persona 'alice': language: expected one of en, zh"),
    ("answer", "maybe", "persona 'alice': answer: expected one of answer, busy"),
    ("ring_s", -1, "persona 'alice': ring_s: expected seconds >= 0"),
    ("ring_s", "soon", "persona 'alice': ring_s: expected seconds"),
    ("max_call_s", 0, "persona 'alice': max_call_s: expected seconds > 0"),
    ("hangup_after_s", True, "persona 'alice': hangup_after_s: expected seconds"),
    ("seed", -3, "persona 'alice': seed: expected an integer >= 0"),
    ("colour", "red", "persona 'alice': colour: unknown field"),
    ("turns", "hello", "persona 'alice': turns: expected a list"),
    ("turns.0", "hello", "persona 'alice': turns[0]: expected a mapping"),
    ("turns.0.wav", "hi.wav", "persona 'alice': turns[0]: expected exactly one of 'wav: path' or 'text: ...'"),
    ("turns.0.text", _DELETE, "persona 'alice': turns[0]: expected exactly one of"),
    ("turns.0.text", "  ", "persona 'alice': turns[0].text: expected non-empty text"),
    ("turns.1.wav", "missing.wav", "persona 'alice': turns[1].wav: no such file"),
    ("turns.1.gap_ms", [800, 300], "persona 'alice': turns[1].gap_ms: expected [min, max]"),
    ("turns.1.gap_ms", [100], "persona 'alice': turns[1].gap_ms: expected [min, max]"),
    ("turns.1.gap_ms", [-5, 100], "persona 'alice': turns[1].gap_ms: expected [min, max]"),
    ("turns.0.wait_for_robot", "no", "persona 'alice': turns[0].wait_for_robot: expected true or false"),
    ("turns.1.barge_in_after_ms", -1, "persona 'alice': turns[1].barge_in_after_ms: expected an integer >= 0"),
    ("turns.0.barge_in_after_ms", 500, "persona 'alice': turns[0].barge_in_after_ms: a barge-in waits"),
    ("turns.1.pause", 3, "persona 'alice': turns[1].pause: unknown field"),
    ("id", "Alice Smith", "personas[0]: id: expected a SIP-safe id"),
    ("id", _DELETE, "personas[0]: id: expected a SIP-safe id"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_field_names_persona_and_field(tmp_path: Path, path: str, value: Any, message: str) -> None:
    with pytest.raises(PersonaError) as info:
        _parse(tmp_path, _mutate(path, value))
    assert str(info.value).startswith("p.yaml: ")
    assert message in str(info.value)


RULES = [
    ({"id": "b", "answer": "busy", "turns": [{"text": "x"}]}, "persona 'b': turns: only personas with answer"),
    ({"id": "b", "answer": "busy", "hangup_after_s": 2}, "persona 'b': hangup_after_s: a persona that never"),
    ({"id": "v", "answer": "voicemail"}, "persona 'v': voicemail: expected a mapping"),
    ({"id": "v", "answer": "voicemail", "voicemail": {"beep": True}}, "persona 'v': voicemail.greeting: missing"),
    (
        {"id": "v", "answer": "voicemail", "voicemail": {"greeting": {"text": "hi", "voice": "x"}}},
        "persona 'v': voicemail.greeting.voice: unknown field",
    ),
    (
        {"id": "v", "answer": "voicemail", "voicemail": {"greeting": {"text": "hi"}, "record_s": 0}},
        "persona 'v': voicemail.record_s: expected seconds > 0",
    ),
    ({"id": "a", "voicemail": {"greeting": {"text": "hi"}}}, "persona 'a': voicemail: only personas with answer"),
    ({"id": "n", "answer": "no_answer", "ring_s": 500, "max_call_s": 60}, "persona 'n': ring_s: expected at most"),
]


@pytest.mark.parametrize(("persona", "message"), RULES, ids=[m.split(": ")[1] for _, m in RULES])
def test_answer_mode_rules(tmp_path: Path, persona: dict[str, Any], message: str) -> None:
    with pytest.raises(PersonaError, match=re.escape(message)):
        _parse(tmp_path, persona)


def test_duplicate_ids_and_file_shape(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match=re.escape("personas[1]: id: duplicate persona id 'x'")):
        parse_personas({"personas": [{"id": "x"}, {"id": "x"}]}, tmp_path, "p.yaml")
    with pytest.raises(PersonaError, match=re.escape("p.yaml: expected a mapping with exactly one key 'personas'")):
        parse_personas([{"id": "x"}], tmp_path, "p.yaml")
    with pytest.raises(PersonaError, match=re.escape("p.yaml: personas: expected a non-empty list")):
        parse_personas({"personas": []}, tmp_path, "p.yaml")


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("personas: [\n", encoding="utf-8")
    with pytest.raises(PersonaError, match=re.escape(f"{path}: cannot read personas")):
        load_personas(path)


def test_defaults_are_applied(tmp_path: Path) -> None:
    personas = parse_personas(yaml.safe_load("personas: [{id: quiet}]"), tmp_path, "p.yaml")
    quiet = personas["quiet"]
    assert (quiet.language, quiet.answer, quiet.ring_s, quiet.turns, quiet.max_call_s) == (
        "en",
        AnswerMode.ANSWER,
        None,
        (),
        120.0,
    )
