import copy
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.dialogue_set import (
    BUILTIN_INTENTS,
    NO_INTENT,
    CustomerTurn,
    Dialogue,
    DialogueSetError,
    EventKind,
    EventTurn,
    Grade,
    Outcome,
    Tag,
    counts,
    load_dialogues,
    parse_dialogues,
    shortfalls,
)

pytestmark = pytest.mark.unit

SHARED_INTENTS = {
    "yes", "no", "interested", "not_interested", "busy_now", "already_have_one", "too_expensive", "who_are_you",
    "how_got_number", "remove_me", "are_you_robot", "call_me_later", "wrong_person", "want_human", "repeat_please",
    "ask_price", "ask_question", "unsure", "goodbye",
}  # fmt: skip


@pytest.fixture(scope="module")
def shipped() -> list[Dialogue]:
    return load_dialogues()


def base() -> dict[str, Any]:
    """A valid dialogue that each broken-entry test breaks in one place."""
    return {
        "id": "t-001",
        "script": "insurance-en",
        "lead": {"first_name": "Maria", "timezone": "America/Chicago", "existing_customer": False},
        "now": datetime(2026, 11, 18, 10, 5),
        "tags": ["silence"],
        "turns": [
            {"customer": "hello?", "intent": "none"},
            {"customer": "yeah, we might need something like that", "intent": "interested", "confidence": 0.62},
            {"event": "silence", "seconds": 6},
            {"customer": "not this year though", "intent": "unsure"},
        ],
        "expect": {"grade": "B", "outcome": "ended"},
    }


def dump(*dialogues: dict[str, Any]) -> str:
    return yaml.safe_dump(list(dialogues), sort_keys=False, allow_unicode=True)


def problems_of(text: str, path: str = "set.yaml") -> list[str]:
    with pytest.raises(DialogueSetError) as info:
        parse_dialogues(text, path)
    return info.value.problems


# ---- the shipped set --------------------------------------------------------------------------------------


def test_shipped_set_loads_as_typed_dialogues(shipped: list[Dialogue]) -> None:
    assert len(shipped) >= 70
    assert len({d.id for d in shipped}) == len(shipped)
    for d in shipped:
        assert d.language == d.script.rsplit("-", 1)[1]
        assert 3 <= len(d.customer_turns) <= 10
        assert all(isinstance(t, CustomerTurn | EventTurn) for t in d.turns)
        assert isinstance(d.expect.grade, Grade) and isinstance(d.expect.outcome, Outcome)
        assert d.path.endswith(".yaml") and d.line > 0


def test_shipped_set_meets_the_coverage_the_benchmark_needs(shipped: list[Dialogue]) -> None:
    have = counts(shipped)
    assert have["language"]["zh"] >= 25
    assert set(have["script"]) == {"insurance-en", "education-en", "b2b-software-en", "insurance-zh", "education-zh"}
    for grade in "ABCD":
        assert have["grade"][grade] >= 12, grade
    for tag, need in {"sarcasm": 6, "off_topic": 6, "mixed_language": 6, "asr_errors": 8}.items():
        assert have["tag"][tag] >= need, tag
    for tag in ("voicemail", "wrong_person", "remove_me", "callback", "robot_question", "handoff", "barge_in"):
        assert have["tag"][tag] >= 3, tag
    assert have["tag"]["silence"] >= 3
    assert shortfalls(shipped) == []


def test_every_intent_label_is_a_shared_name(shipped: list[Dialogue]) -> None:
    assert set(BUILTIN_INTENTS) == SHARED_INTENTS
    used = {intent for d in shipped for intent in d.intents()}
    assert used <= SHARED_INTENTS | {NO_INTENT}
    assert used >= SHARED_INTENTS, f"never labelled: {SHARED_INTENTS - used}"


def test_shipped_turns_are_short_telephone_speech(shipped: list[Dialogue]) -> None:
    for d in shipped:
        for t in d.customer_turns:
            assert t.text == t.text.strip() and len(t.text) <= 160, (d.id, t.text)
            assert 0.0 <= t.confidence <= 1.0


def test_asr_error_turns_say_what_was_really_said(shipped: list[Dialogue]) -> None:
    garbled = [t for d in shipped if Tag.ASR_ERRORS in d.tags for t in d.customer_turns if t.said]
    assert len(garbled) >= 8
    assert all(t.said != t.text and t.confidence < 0.9 for t in garbled)


def test_callbacks_carry_the_time_the_customer_asked_for(shipped: list[Dialogue]) -> None:
    callbacks = [d for d in shipped if Tag.CALLBACK in d.tags]
    assert callbacks
    for d in callbacks:
        assert d.expect.outcome is Outcome.CALLBACK
        assert d.expect.callback_at is not None and d.expect.callback_at > d.now


def test_shortfalls_names_what_a_small_set_misses(shipped: list[Dialogue]) -> None:
    missing = shortfalls(shipped[:5])
    assert "all dialogues: 5 < 70" in missing
    assert any(m.startswith("language zh: 0 <") for m in missing)


# ---- parsing ----------------------------------------------------------------------------------------------


def test_a_valid_entry_parses_into_typed_fields() -> None:
    entry = base()
    entry["turns"] += [{"event": "barge_in"}, {"customer": "yes", "intent": "yes"}, {"event": "dtmf", "digit": "#"}]
    entry["expect"] = {"grade": "B", "outcome": "callback", "callback_at": datetime(2026, 11, 19, 15, 0)}
    entry["tags"] = ["silence", "barge_in"]
    (d,) = parse_dialogues(dump(entry))
    assert (d.id, d.language, d.lead.timezone, d.lead.existing_customer) == ("t-001", "en", "America/Chicago", False)
    assert d.intents() == ["none", "interested", "unsure", "yes"]
    assert d.customer_turns[0].confidence == 0.9 and d.customer_turns[1].confidence == 0.62
    assert d.turns[2] == EventTurn(EventKind.SILENCE, seconds=6.0, line=d.turns[2].line)
    assert [t.kind for t in d.turns if isinstance(t, EventTurn)] == ["silence", "barge_in", "dtmf"]
    assert d.turns[-1] == EventTurn(EventKind.DTMF, digit="#", line=d.turns[-1].line)
    assert d.expect.callback_at == datetime(2026, 11, 19, 15, 0)
    assert d.tags == frozenset({Tag.SILENCE, Tag.BARGE_IN})


def test_bare_yes_and_no_are_intents_not_booleans() -> None:
    text = dump(base()).replace("intent: unsure", "intent: no")
    assert "intent: no\n" in text
    (d,) = parse_dialogues(text)
    assert d.intents()[-1] == "no"


def test_a_scripts_own_intent_is_accepted_when_named() -> None:
    entry = base()
    entry["turns"][3]["intent"] = "ask_warranty"
    assert "unknown intent 'ask_warranty'" in problems_of(dump(entry))[0]
    (d,) = parse_dialogues(dump(entry), intents=(*BUILTIN_INTENTS, "ask_warranty"))
    assert d.intents()[-1] == "ask_warranty"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    keys = path.split(".")

    def apply(entry: dict[str, Any]) -> None:
        target: Any = entry
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list) and int(last) == len(target):
            target.append(value)
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


_DELETE = object()

BROKEN = {
    "unknown intent": (_set("turns.1.intent", "keen"), "unknown intent 'keen'"),
    "bad grade": (_set("expect.grade", "E"), "expect.grade: expected one of A, B, C, D, got 'E'"),
    "missing turns": (_set("turns", _DELETE), "dialogue: missing turns"),
    "no customer turns": (_set("turns", [{"event": "silence", "seconds": 3}]), "expected 3 to 10 customer turns"),
    "bad outcome": (_set("expect.outcome", "sold"), "expect.outcome: expected one of"),
    "unknown tag": (_set("tags", ["silence", "grumpy"]), "tags: expected one of"),
    "unknown event": (_set("turns.2", {"event": "cough"}), "turn 3 event: expected one of"),
    "silence without seconds": (_set("turns.2", {"event": "silence"}), "turn 3: missing seconds"),
    "silence too long": (_set("turns.2.seconds", 600), "silence seconds must be in"),
    "bad dtmf digit": (_set("turns.2", {"event": "dtmf", "digit": "x"}), "dtmf digit must be one of"),
    "customer and event": (_set("turns.0.event", "barge_in"), "turn 1: expected exactly one of customer, event"),
    "confidence above 1": (_set("turns.1.confidence", 1.5), "confidence must be a number in [0, 1]"),
    "empty text": (_set("turns.0.customer", "  "), "expected a non-empty string for customer"),
    "unknown key": (_set("mood", "happy"), "unknown key(s) mood"),
    "unknown script": (_set("script", "plumbing-en"), "unknown script 'plumbing-en'"),
    "bad timezone": (_set("lead.timezone", "Mars/Olympus"), "unknown timezone 'Mars/Olympus'"),
    "now with offset": (_set("now", "2026-11-18T10:05:00+02:00"), "local date-time without offset"),
    "bad id": (_set("id", "T 001"), "id: expected lowercase words"),
    "tag without event": (_set("tags", []), "a silence event needs tag silence"),
    "remove_me graded B": (_set("turns.3.intent", "remove_me"), "remove_me and wrong_person are always grade D"),
    "grade A with no next step": (_set("expect.grade", "A"), "grade A needs a next step"),
    "goodbye not last": (_set("turns.1.intent", "goodbye"), "goodbye may only label the last customer turn"),
    "barge_in at the end": (_set("turns.4", {"event": "barge_in"}), "a barge_in must be followed by a customer turn"),
    "callback before now": (
        _set("expect", {"grade": "B", "outcome": "callback", "callback_at": "2026-11-17T15:00:00"}),
        "expect.callback_at: expected within 62 days after now",
    ),
    "voicemail tag without beep": (_set("tags", ["silence", "voicemail"]), "tag voicemail without a voicemail event"),
    "mixed language untagged": (_set("turns.0.customer", "喂? hello?"), "needs tag mixed_language"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_entries_are_rejected_naming_file_line_and_id(case: str) -> None:
    breaker, message = BROKEN[case]
    entry = copy.deepcopy(base())
    breaker(entry)
    problems = problems_of(dump(entry), "bench/data/dialogues/x.yaml")
    assert len(problems) == 1
    assert problems[0].startswith("bench/data/dialogues/x.yaml:")
    assert "dialogue t-001: " in problems[0] or "dialogue T 001: " in problems[0]
    assert message in problems[0], problems[0]


def test_eleven_customer_turns_are_too_many() -> None:
    entry = base()
    entry["turns"][3:3] = [{"customer": "uh", "intent": "none"}] * 8
    assert "expected 3 to 10 customer turns, got 11" in problems_of(dump(entry))[0]


def test_every_broken_entry_is_reported_at_once_with_its_line() -> None:
    good, bad1, bad2 = base(), base(), base()
    bad1["id"], bad2["id"] = "t-002", "t-003"
    bad1["expect"]["grade"] = "Z"
    bad2["turns"][0]["intent"] = "meh"
    text = dump(good, bad1, bad2)
    rows = text.splitlines()
    start = rows.index("- id: t-003")
    turn_line = next(n for n, row in enumerate(rows[start:], start=start + 1) if "customer: hello?" in row)
    problems = problems_of(text)
    assert len(problems) == 2
    assert "dialogue t-002: expect.grade" in problems[0]
    assert problems[1].startswith(f"set.yaml:{turn_line}: dialogue t-003: turn 1: unknown intent")


def test_yaml_syntax_errors_and_duplicate_keys_name_the_file() -> None:
    assert problems_of("- id: [unclosed", "a.yaml")[0].startswith("a.yaml: ")
    assert problems_of("- id: t-001\n  id: t-002\n", "b.yaml") == ["b.yaml:1: duplicate key 'id'"]
    assert problems_of("id: t-001\n", "c.yaml") == ["c.yaml: expected a list of dialogues, got a mapping"]


def test_load_checks_ids_across_files_and_reports_every_file(tmp_path: Path) -> None:
    other = base()
    other["id"] = "t-009"
    other["expect"]["grade"] = "A"
    (tmp_path / "a.yaml").write_text(dump(base()), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(dump(base(), other), encoding="utf-8")
    with pytest.raises(DialogueSetError) as info:
        load_dialogues(tmp_path)
    problems = info.value.problems
    assert any(p.startswith(f"{tmp_path / 'b.yaml'}:") and "dialogue t-009: grade A needs" in p for p in problems)
    assert any("dialogue t-001: duplicate id" in p and str(tmp_path / "a.yaml") in p for p in problems)
    assert len(problems) == 2


def test_load_reads_a_directory_and_refuses_an_empty_one(tmp_path: Path) -> None:
    with pytest.raises(DialogueSetError, match=r"no \*\.yaml dialogue files"):
        load_dialogues(tmp_path)
    (tmp_path / "one.yaml").write_text(dump(base()), encoding="utf-8")
    (d,) = load_dialogues(str(tmp_path))
    assert d.path == str(tmp_path / "one.yaml") and d.line == 1
