"""The labeled dialogue set that `callcenter bench dialogue` replays through the dialogue engine.

Each YAML file under `bench/data/dialogues/` holds a list of dialogues (format and labeling rubric:
`bench/data/README.md`). A dialogue is the customer's side of one call: customer turns with the intent the
customer *meant* (not what the keywords say) and the ASR confidence, plus non-text events (silence, barge-in,
DTMF, voicemail beep); the robot's lines are whatever the engine says. The labels to compare with are the
per-turn intents and the call's final grade and outcome.

Loading is strict: unknown keys, intents, grades, tags and events are errors, and so are labels that break the
rubric (e.g. a `do_not_call` outcome graded anything but D) or tags the turns do not back up (a `voicemail` tag
without a voicemail event). Every problem found is reported at once, each as `file:line: dialogue <id>: ...`.

YAML 1.1 reads a bare `yes`/`no` as a boolean; the loader here keeps them as strings (only `true`/`false` are
booleans), so `intent: yes` means the intent `yes`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from scripts_library.schema import BUILTIN_INTENTS, LANGUAGES

__all__ = [
    "BUILTIN_INTENTS",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_DIR",
    "MINIMUMS",
    "NO_INTENT",
    "SHIPPED_SCRIPTS",
    "CustomerTurn",
    "Dialogue",
    "DialogueSetError",
    "EventKind",
    "EventTurn",
    "Expectation",
    "Grade",
    "Lead",
    "Outcome",
    "Tag",
    "Turn",
    "counts",
    "load_dialogues",
    "parse_dialogues",
    "rubric_problems",
    "shortfalls",
]

# The shared customer-intent vocabulary (same names in both languages; scripts may add their own).
NO_INTENT = "none"  # greeting, filler, off-topic talk or a bare fact with no stance
SHIPPED_SCRIPTS: tuple[str, ...] = ("insurance-en", "education-en", "b2b-software-en", "insurance-zh", "education-zh")
DEFAULT_CONFIDENCE = 0.9
DEFAULT_DIR = Path(__file__).parent / "data" / "dialogues"
MIN_CUSTOMER_TURNS, MAX_CUSTOMER_TURNS = 3, 10
MAX_SILENCE_S = 60.0
MAX_CALLBACK_AHEAD = timedelta(days=62)
DTMF_DIGITS = "0123456789*#"


class Grade(StrEnum):
    A = "A"  # clear need and interest, agreed to a next step
    B = "B"  # interested, not ready
    C = "C"  # weak or unclear
    D = "D"  # no interest or unreachable


class Outcome(StrEnum):
    BOOKED = "booked"
    CALLBACK = "callback"
    HANDOFF = "handoff"  # the engine requested a human (whether or not one came in time)
    DO_NOT_CALL = "do_not_call"
    ENDED = "ended"
    VOICEMAIL = "voicemail"


class Tag(StrEnum):
    SARCASM = "sarcasm"
    OFF_TOPIC = "off_topic"
    MIXED_LANGUAGE = "mixed_language"
    ASR_ERRORS = "asr_errors"
    VOICEMAIL = "voicemail"
    WRONG_PERSON = "wrong_person"
    REMOVE_ME = "remove_me"
    CALLBACK = "callback"
    ROBOT_QUESTION = "robot_question"
    HANDOFF = "handoff"
    BARGE_IN = "barge_in"
    SILENCE = "silence"


class EventKind(StrEnum):
    SILENCE = "silence"  # no speech for `seconds`
    BARGE_IN = "barge_in"  # the customer starts talking over the robot; the next turn is what they said
    DTMF = "dtmf"  # a key press (`digit`)
    VOICEMAIL = "voicemail"  # answering-machine beep: nobody will answer after it


@dataclass(frozen=True, slots=True)
class Lead:
    first_name: str
    timezone: str  # IANA name; `Dialogue.now` is local time in it
    existing_customer: bool = False


@dataclass(frozen=True, slots=True)
class CustomerTurn:
    text: str  # what the recognizer returned (ASR errors included)
    intent: str  # a BUILTIN_INTENTS name or NO_INTENT
    confidence: float = DEFAULT_CONFIDENCE
    said: str = ""  # what the customer really said, where the recognizer got it wrong
    line: int = 0


@dataclass(frozen=True, slots=True)
class EventTurn:
    kind: EventKind
    seconds: float | None = None  # SILENCE only
    digit: str | None = None  # DTMF only
    line: int = 0


Turn = CustomerTurn | EventTurn


@dataclass(frozen=True, slots=True)
class Expectation:
    grade: Grade
    outcome: Outcome
    callback_at: datetime | None = None  # lead's local time the customer asked to be called back at


@dataclass(frozen=True, slots=True)
class Dialogue:
    id: str
    script: str
    language: str  # from the script id's suffix ("en" / "zh")
    lead: Lead
    now: datetime  # naive: the lead's local time when the call starts
    tags: frozenset[Tag]
    turns: tuple[Turn, ...]
    expect: Expectation
    note: str = ""  # why the labels are what they are, for hard cases
    path: str = ""
    line: int = 0

    @property
    def customer_turns(self) -> tuple[CustomerTurn, ...]:
        return tuple(t for t in self.turns if isinstance(t, CustomerTurn))

    def intents(self) -> list[str]:
        return [t.intent for t in self.customer_turns]


class DialogueSetError(ValueError):
    """Every problem found in a load, one `file:line: dialogue <id>: message` per entry of `problems`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the dialogue set:\n" + "\n".join(problems))


_E = TypeVar("_E", bound=StrEnum)


class _Problem(Exception):
    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


# ---- YAML with line numbers, YAML 1.2 booleans, no duplicate keys ------------------------------------------


class _Map(dict[str, Any]):
    line: int = 0


class _Loader(yaml.SafeLoader):
    pass


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    for key, value in loader.construct_pairs(node, deep=True):
        if key in out:
            raise _Problem(f"duplicate key {key!r}", out.line)
        out[str(key)] = value
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


# ---- field helpers ----------------------------------------------------------------------------------------


def _check_keys(m: _Map, required: Iterable[str], optional: Iterable[str], what: str) -> None:
    required = tuple(required)
    missing = [k for k in required if k not in m]
    unknown = sorted(set(m) - set(required) - set(optional))
    if missing:
        raise _Problem(f"{what}: missing {', '.join(missing)}", m.line)
    if unknown:
        raise _Problem(f"{what}: unknown key(s) {', '.join(unknown)}", m.line)


def _text(m: _Map, key: str, what: str) -> str:
    value = m[key]
    if not isinstance(value, str) or not value.strip():
        raise _Problem(f"{what}: expected a non-empty string for {key}, got {value!r}", m.line)
    return value.strip()


def _choice(enum: type[_E], value: object, what: str, line: int) -> _E:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise _Problem(f"{what}: expected one of {allowed}, got {value!r}", line) from None


def _local_time(value: object, what: str, line: int) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Problem(f"{what}: expected an ISO date-time, got {value!r}", line) from None
    if not isinstance(value, datetime) or value.tzinfo is not None:
        raise _Problem(f"{what}: expected a local date-time without offset, got {value!r}", line)
    return value


def _as_map(value: object, what: str, line: int) -> _Map:
    if not isinstance(value, _Map):
        raise _Problem(f"{what}: expected a mapping, got {value!r}", line)
    return value


# ---- the parts of a dialogue ------------------------------------------------------------------------------


def _lead(value: object, line: int) -> Lead:
    m = _as_map(value, "lead", line)
    _check_keys(m, ("first_name", "timezone"), ("existing_customer",), "lead")
    tz = _text(m, "timezone", "lead")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _Problem(f"lead: unknown timezone {tz!r}", m.line) from None
    existing = m.get("existing_customer", False)
    if not isinstance(existing, bool):
        raise _Problem(f"lead: existing_customer must be true or false, got {existing!r}", m.line)
    return Lead(_text(m, "first_name", "lead"), tz, existing)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _customer_turn(m: _Map, intents: frozenset[str], what: str) -> CustomerTurn:
    _check_keys(m, ("customer", "intent"), ("confidence", "said"), what)
    intent = m["intent"]
    if not isinstance(intent, str) or (intent != NO_INTENT and intent not in intents):
        raise _Problem(f"{what}: unknown intent {intent!r} (known: {NO_INTENT}, {', '.join(sorted(intents))})", m.line)
    confidence = _number(m.get("confidence", DEFAULT_CONFIDENCE))
    if confidence is None or not 0.0 <= confidence <= 1.0:
        raise _Problem(f"{what}: confidence must be a number in [0, 1], got {m['confidence']!r}", m.line)
    said = _text(m, "said", what) if "said" in m else ""
    return CustomerTurn(_text(m, "customer", what), intent, confidence, said, m.line)


def _event_turn(m: _Map, what: str) -> EventTurn:
    kind = _choice(EventKind, m["event"], f"{what} event", m.line)
    if kind is EventKind.SILENCE:
        _check_keys(m, ("event", "seconds"), (), what)
        seconds = _number(m["seconds"])
        if seconds is None or not 0.0 < seconds <= MAX_SILENCE_S:
            raise _Problem(f"{what}: silence seconds must be in (0, {MAX_SILENCE_S:g}], got {m['seconds']!r}", m.line)
        return EventTurn(kind, seconds=seconds, line=m.line)
    if kind is EventKind.DTMF:
        _check_keys(m, ("event", "digit"), (), what)
        digit = str(m["digit"])
        if len(digit) != 1 or digit not in DTMF_DIGITS:
            raise _Problem(f"{what}: dtmf digit must be one of {DTMF_DIGITS}, got {m['digit']!r}", m.line)
        return EventTurn(kind, digit=digit, line=m.line)
    _check_keys(m, ("event",), (), what)
    return EventTurn(kind, line=m.line)


def _turns(value: object, intents: frozenset[str], line: int) -> tuple[Turn, ...]:
    if not isinstance(value, list):
        raise _Problem(f"turns: expected a list, got {value!r}", line)
    out: list[Turn] = []
    for i, item in enumerate(value, start=1):
        what = f"turn {i}"
        m = _as_map(item, what, line)
        if ("customer" in m) == ("event" in m):
            raise _Problem(f"{what}: expected exactly one of customer, event", m.line)
        out.append(_customer_turn(m, intents, what) if "customer" in m else _event_turn(m, what))
    return tuple(out)


def _tags(value: object, line: int) -> frozenset[Tag]:
    if not isinstance(value, list):
        raise _Problem(f"tags: expected a list, got {value!r}", line)
    tags = [_choice(Tag, v, "tags", line) for v in value]
    if len(set(tags)) != len(tags):
        raise _Problem("tags: listed twice", line)
    return frozenset(tags)


def _expectation(value: object, now: datetime, line: int) -> Expectation:
    m = _as_map(value, "expect", line)
    _check_keys(m, ("grade", "outcome"), ("callback_at",), "expect")
    grade = _choice(Grade, m["grade"], "expect.grade", m.line)
    outcome = _choice(Outcome, m["outcome"], "expect.outcome", m.line)
    callback_at = None
    if "callback_at" in m:
        callback_at = _local_time(m["callback_at"], "expect.callback_at", m.line)
        if not now < callback_at <= now + MAX_CALLBACK_AHEAD:
            raise _Problem(f"expect.callback_at: expected within {MAX_CALLBACK_AHEAD.days} days after now", m.line)
        if outcome is not Outcome.CALLBACK:
            raise _Problem(f"expect.callback_at: expected outcome callback, got {outcome}", m.line)
    return Expectation(grade, outcome, callback_at)


# ---- consistency: structure, tags, rubric -----------------------------------------------------------------

# A tag that names something the turns must show, and vice versa.
_TAG_INTENTS = {
    Tag.REMOVE_ME: "remove_me",
    Tag.WRONG_PERSON: "wrong_person",
    Tag.ROBOT_QUESTION: "are_you_robot",
    Tag.HANDOFF: "want_human",
    Tag.CALLBACK: "call_me_later",
}
_TAG_EVENTS = {Tag.VOICEMAIL: EventKind.VOICEMAIL, Tag.SILENCE: EventKind.SILENCE, Tag.BARGE_IN: EventKind.BARGE_IN}
# The other language's script in a customer turn (Latin letters in a Mandarin call, Han characters in English).
_FOREIGN = {"zh": re.compile(r"[A-Za-z]"), "en": re.compile(r"[\u3400-\u9fff]")}


def _events(d: Dialogue) -> set[EventKind]:
    return {t.kind for t in d.turns if isinstance(t, EventTurn)}


def _structure_problems(d: Dialogue) -> list[str]:
    n = len(d.customer_turns)
    problems = []
    if not MIN_CUSTOMER_TURNS <= n <= MAX_CUSTOMER_TURNS:
        problems.append(f"expected {MIN_CUSTOMER_TURNS} to {MAX_CUSTOMER_TURNS} customer turns, got {n}")
    for i, turn in enumerate(d.turns):
        if not isinstance(turn, EventTurn):
            continue
        after = d.turns[i + 1 :]
        if turn.kind is EventKind.BARGE_IN and not (after and isinstance(after[0], CustomerTurn)):
            problems.append(f"turn {i + 1}: a barge_in must be followed by a customer turn")
        if turn.kind is EventKind.VOICEMAIL and any(isinstance(t, CustomerTurn) for t in after):
            problems.append(f"turn {i + 1}: no customer turn may follow the voicemail beep")
    if any(t.intent == "goodbye" for t in d.customer_turns[:-1]):
        problems.append("goodbye may only label the last customer turn")
    return problems


def _mismatch(tag: Tag, evidence: str, tagged: bool) -> str:
    return f"tag {tag} without {evidence}" if tagged else f"{evidence} needs tag {tag}"


def _tag_problems(d: Dialogue) -> list[str]:
    intents, events = set(d.intents()), _events(d)
    problems = [
        _mismatch(tag, f"a turn labelled {intent}", tag in d.tags)
        for tag, intent in _TAG_INTENTS.items()
        if (tag in d.tags) != (intent in intents)
    ]
    problems += [
        _mismatch(tag, f"a {kind} event", tag in d.tags)
        for tag, kind in _TAG_EVENTS.items()
        if (tag in d.tags) != (kind in events)
    ]
    mixed = any(_FOREIGN[d.language].search(t.text) for t in d.customer_turns)
    if (Tag.MIXED_LANGUAGE in d.tags) != mixed:
        problems.append(_mismatch(Tag.MIXED_LANGUAGE, "words in the other language", Tag.MIXED_LANGUAGE in d.tags))
    if Tag.ASR_ERRORS in d.tags and not any(t.confidence < DEFAULT_CONFIDENCE for t in d.customer_turns):
        problems.append(f"tag asr_errors without a turn of confidence below {DEFAULT_CONFIDENCE}")
    if Tag.CALLBACK in d.tags and d.expect.callback_at is None:
        problems.append("tag callback without expect.callback_at (the time the customer asked for)")
    return problems


def rubric_problems(d: Dialogue) -> list[str]:
    """The grading rubric's hard rules (bench/data/README.md); the judgement calls are not checkable."""
    grade, outcome, intents = d.expect.grade, d.expect.outcome, set(d.intents())
    problems = []
    if outcome in (Outcome.DO_NOT_CALL, Outcome.VOICEMAIL) and grade is not Grade.D:
        problems.append(f"outcome {outcome} is always grade D, got {grade}")
    if intents & {"remove_me", "wrong_person"} and grade is not Grade.D:
        problems.append(f"remove_me and wrong_person are always grade D, got {grade}")
    if ("remove_me" in intents) != (outcome is Outcome.DO_NOT_CALL):
        problems.append("a remove_me turn and outcome do_not_call go together")
    if (EventKind.VOICEMAIL in _events(d)) != (outcome is Outcome.VOICEMAIL):
        problems.append("a voicemail event and outcome voicemail go together")
    if grade is Grade.A and outcome not in (Outcome.BOOKED, Outcome.CALLBACK, Outcome.HANDOFF):
        problems.append(f"grade A needs a next step (booked, callback or handoff), got {outcome}")
    if grade in (Grade.A, Grade.B) and "interested" not in intents:
        problems.append(f"grade {grade} needs a turn labelled interested")
    if grade is Grade.D and outcome is Outcome.BOOKED:
        problems.append("a booked call is not grade D")
    return problems


# ---- loading ----------------------------------------------------------------------------------------------

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DIALOGUE_KEYS = ("id", "script", "lead", "now", "turns", "expect")


@dataclass(frozen=True, slots=True)
class _Context:
    path: str
    scripts: frozenset[str]
    intents: frozenset[str]


def _dialogue(m: _Map, ctx: _Context) -> Dialogue:
    _check_keys(m, _DIALOGUE_KEYS, ("tags", "note"), "dialogue")
    dialogue_id, script = _text(m, "id", "dialogue"), _text(m, "script", "dialogue")
    if not _ID.match(dialogue_id):
        raise _Problem(f"id: expected lowercase words joined by '-', got {dialogue_id!r}", m.line)
    language = script.rsplit("-", 1)[-1]
    if script not in ctx.scripts or language not in LANGUAGES:
        raise _Problem(f"script: unknown script {script!r} (known: {', '.join(sorted(ctx.scripts))})", m.line)
    now = _local_time(m["now"], "now", m.line)
    d = Dialogue(
        id=dialogue_id,
        script=script,
        language=language,
        lead=_lead(m["lead"], m.line),
        now=now,
        tags=_tags(m.get("tags", []), m.line),
        turns=_turns(m["turns"], ctx.intents, m.line),
        expect=_expectation(m["expect"], now, m.line),
        note=_text(m, "note", "dialogue") if "note" in m else "",
        path=ctx.path,
        line=m.line,
    )
    problems = _structure_problems(d) + _tag_problems(d) + rubric_problems(d)
    if problems:
        raise _Problem("; ".join(problems), m.line)
    return d


def _label(entry: object, index: int) -> str:
    if isinstance(entry, _Map) and isinstance(entry.get("id"), str):
        return str(entry["id"])
    return f"#{index + 1} (no id)"


def _parse(text: str, ctx: _Context) -> tuple[list[Dialogue], list[str]]:
    try:
        data = yaml.load(text, Loader=_Loader)
    except _Problem as exc:
        return [], [f"{ctx.path}:{exc.line}: {exc}"]
    except yaml.YAMLError as exc:
        return [], [f"{ctx.path}: {exc}"]
    if not isinstance(data, list):
        got = "a mapping" if isinstance(data, dict) else type(data).__name__
        return [], [f"{ctx.path}: expected a list of dialogues, got {got}"]
    dialogues, problems = [], []
    for i, entry in enumerate(data):
        try:
            dialogues.append(_dialogue(_as_map(entry, "dialogue", 0), ctx))
        except _Problem as exc:
            line = exc.line or getattr(entry, "line", 0)
            problems.append(f"{ctx.path}:{line}: dialogue {_label(entry, i)}: {exc}")
    return dialogues, problems


def _duplicate_ids(dialogues: list[Dialogue]) -> list[str]:
    first: dict[str, Dialogue] = {}
    problems = []
    for d in dialogues:
        if d.id in first:
            problems.append(f"{d.path}:{d.line}: dialogue {d.id}: duplicate id (first at {first[d.id].path})")
        first.setdefault(d.id, d)
    return problems


def parse_dialogues(
    text: str,
    path: str = "<string>",
    *,
    scripts: Iterable[str] = SHIPPED_SCRIPTS,
    intents: Iterable[str] = BUILTIN_INTENTS,
) -> list[Dialogue]:
    """Dialogues from one YAML document; raises DialogueSetError listing every problem."""
    dialogues, problems = _parse(text, _Context(path, frozenset(scripts), frozenset(intents)))
    problems += _duplicate_ids(dialogues)
    if problems:
        raise DialogueSetError(problems)
    return dialogues


def load_dialogues(
    dir: Path | str | None = None,
    *,
    scripts: Iterable[str] = SHIPPED_SCRIPTS,
    intents: Iterable[str] = BUILTIN_INTENTS,
) -> list[Dialogue]:
    """Every `*.yaml` in `dir` (default: the shipped set), in file order; raises DialogueSetError on any problem.

    `scripts` and `intents` are what labels may name; pass a script's own intents here to use them.
    """
    root = DEFAULT_DIR if dir is None else Path(dir)
    files = sorted(root.glob("*.yaml"))
    if not files:
        raise DialogueSetError([f"{root}: no *.yaml dialogue files"])
    dialogues: list[Dialogue] = []
    problems: list[str] = []
    for f in files:
        ctx = _Context(str(f), frozenset(scripts), frozenset(intents))
        found, wrong = _parse(f.read_text(encoding="utf-8"), ctx)
        dialogues += found
        problems += wrong
    problems += _duplicate_ids(dialogues)
    if problems:
        raise DialogueSetError(problems)
    return dialogues


# ---- what the set covers ----------------------------------------------------------------------------------

# What the shipped set must cover: (dimension, value) -> at least this many dialogues.
MINIMUMS: Mapping[tuple[str, str], int] = {
    ("all", "dialogues"): 70,
    ("language", "zh"): 25,
    ("language", "en"): 25,
    **{("script", s): 10 for s in SHIPPED_SCRIPTS},
    **{("grade", g.value): 12 for g in Grade},
    **{("tag", t.value): 3 for t in Tag},
    ("tag", Tag.SARCASM.value): 6,
    ("tag", Tag.OFF_TOPIC.value): 6,
    ("tag", Tag.MIXED_LANGUAGE.value): 6,
    ("tag", Tag.ASR_ERRORS.value): 8,
}


def counts(dialogues: Iterable[Dialogue]) -> dict[str, Counter[str]]:
    """How many dialogues per grade, outcome, language, script and tag (a dialogue counts once per tag)."""
    out: dict[str, Counter[str]] = {k: Counter() for k in ("all", "grade", "outcome", "language", "script", "tag")}
    for d in dialogues:
        out["all"]["dialogues"] += 1
        out["grade"][d.expect.grade.value] += 1
        out["outcome"][d.expect.outcome.value] += 1
        out["language"][d.language] += 1
        out["script"][d.script] += 1
        out["tag"].update(t.value for t in d.tags)
    return out


def shortfalls(dialogues: Iterable[Dialogue], minimums: Mapping[tuple[str, str], int] = MINIMUMS) -> list[str]:
    """`dimension value: have < need` for every minimum the dialogues miss (empty when all are met)."""
    have = counts(dialogues)
    return [
        f"{dim} {value}: {have[dim][value]} < {need}"
        for (dim, value), need in minimums.items()
        if have[dim][value] < need
    ]
