"""The scripts library's files: the loader's `file:line` validation, the catalog, and the shipped content.

The content checks are data-quality checks (they fail when a script or intent file is edited carelessly):
sizes, sentence length for speech, placeholders, intent patterns against their own examples, and the labeled
recommendation queries in bench/data against the scripts they name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from asr.models import postprocess
from scripts_library.catalog import SCRIPTS_DIR, clear_cache, load_catalog, script_for
from scripts_library.loader import BUILTIN_INTENTS, ScriptError, compile_pattern, load_intents, load_script
from scripts_library.schema import REQUIRED_KINDS, REQUIRED_OBJECTIONS, Expect, Intent, NodeKind, Script, Signal

pytestmark = pytest.mark.unit

SHIPPED = {
    "insurance-en": ("insurance", "en"),
    "education-en": ("education", "en"),
    "b2b-software-en": ("b2b_software", "en"),
    "insurance-zh": ("insurance", "zh"),
    "education-zh": ("education", "zh"),
}
# What the dialogue engine fills in (docs/scripts.md); anything else in a shipped line is a typo.
KNOWN_PLACEHOLDERS = {
    "agent_name", "company", "product", "first_name", "time", "heard", "callback_number", "ai_disclosure",
    "recording_notice",
}  # fmt: skip
PLACEHOLDER = re.compile(r"\{(\w+)\}")
QUERIES = Path(__file__).resolve().parents[2] / "bench" / "data" / "recommend_queries.yaml"

# A small valid script: every required kind and objection, one line each. The broken-script cases edit it.
BASE = """\
id: tiny-en
industry: testing
language: en
title: Tiny
company: Acme
product: Widget
start: opening
nodes:
  opening:
    kind: opening
    expect: yes_no
    on: {yes: discovery}
    next: discovery
    variants:
      - text: "Hi {first_name}, calling for {agent_name}. This call may be recorded."
        uses: 10
        conversions: 2
  discovery:
    kind: discovery
    expect: free
    next: q_need
    variants: ["What do you need?"]
  q_need:
    kind: qualify
    signal: need
    expect: yes_no
    next: booking
    variants: ["Do you need it?"]
  booking: {kind: booking, expect: time, next: closing, variants: ["When suits you?"]}
  closing: {kind: closing, next: goodbye, variants: ["Booked for {time}."]}
  goodbye: {kind: goodbye, variants: ["Bye."]}
  obj_busy: {kind: objection, intent: busy_now, expect: time, variants: ["When is better?"]}
  obj_no: {kind: objection, intent: not_interested, variants: ["Fair enough."]}
  obj_have: {kind: objection, intent: already_have_one, variants: ["Good to hear."]}
  obj_price: {kind: objection, intent: too_expensive, variants: ["It fits any budget."]}
  obj_who: {kind: objection, intent: who_are_you, variants: ["We are Acme."]}
  obj_number: {kind: objection, intent: how_got_number, variants: ["From your enquiry."]}
  obj_remove: {kind: objection, intent: remove_me, next: do_not_call, variants: ["Sorry."]}
  disclosure: {kind: disclosure, variants: ["I am automated."]}
  do_not_call: {kind: do_not_call, variants: ["Removed."]}
  wrong_person: {kind: wrong_person, variants: ["Sorry, wrong person."]}
  voicemail: {kind: voicemail, variants: ["Please call back."]}
  handoff: {kind: handoff, variants: ["Connecting you."]}
  reprompt: {kind: reprompt, variants: ["Sorry?"]}
  clarify: {kind: clarify, expect: yes_no, variants: ["Did you say {heard}?"]}
faq:
  - id: cost
    question: How much is it?
    similar: ["What's the price?"]
    answers: ["Ten dollars.", "About ten a month."]
"""


def write(tmp_path: Path, text: str, name: str = "tiny-en.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, marker: str) -> int:
    """1-based number of the first line containing `marker`."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if marker in line)


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def assert_error(errors: list[str], path: Path, line: int, fragment: str) -> None:
    prefix = f"{path}:{line}: "
    assert any(e.startswith(prefix) and fragment in e for e in errors), (prefix, fragment, errors)


@pytest.fixture(scope="module")
def catalog() -> dict[str, Script]:
    return load_catalog()


def shipped_texts(script: Script) -> list[str]:
    return [v.text for v in script.variants()] + [t for f in script.faq for t in (f.question, *f.similar)]


# -- the shipped library ----------------------------------------------------------------------------------


def test_every_shipped_script_loads_with_its_industry_and_language(catalog: dict[str, Script]) -> None:
    assert {sid: (s.industry, s.language) for sid, s in catalog.items()} == SHIPPED
    for sid, (industry, language) in SHIPPED.items():
        assert script_for(industry, language).id == sid
        assert Path(catalog[sid].path) == SCRIPTS_DIR / f"{sid}.yaml"


@pytest.mark.parametrize("sid", sorted(SHIPPED))
def test_required_kinds_objections_and_the_five_qualification_questions(catalog: dict[str, Script], sid: str) -> None:
    script = catalog[sid]
    assert {k for k in REQUIRED_KINDS if script.nodes_of(k)} == set(REQUIRED_KINDS)
    assert all(script.objection_for(i) is not None for i in REQUIRED_OBJECTIONS)
    qualify = script.nodes_of(NodeKind.QUALIFY)
    assert {n.signal for n in qualify} == set(Signal)
    assert all({"yes", "no"} & n.on.keys() for n in qualify), [n.id for n in qualify if not n.on]
    assert all(n.expect == Expect.TIME for n in script.nodes_of(NodeKind.BOOKING))


@pytest.mark.parametrize("sid", sorted(SHIPPED))
def test_every_node_has_three_to_five_variants_and_gold_sellers_are_credited(
    catalog: dict[str, Script], sid: str
) -> None:
    script = catalog[sid]
    assert {n.id: len(n.variants) for n in script.nodes.values() if not 3 <= len(n.variants) <= 5} == {}
    credited = {n.id for n in script.nodes.values() if any(v.author for v in n.variants)}
    assert len(credited) >= 10, credited
    assert all(
        v.stats.uses > 0 and 0 <= v.stats.conversions <= v.stats.uses for n in script.nodes.values() for v in n.variants
    )


@pytest.mark.parametrize("sid", sorted(SHIPPED))
def test_faq_has_ten_to_fifteen_questions_with_similar_phrasings_and_several_answers(
    catalog: dict[str, Script], sid: str
) -> None:
    faq = catalog[sid].faq
    assert 10 <= len(faq) <= 15
    assert [f.id for f in faq if not (3 <= len(f.similar) <= 6 and 2 <= len(f.answers) <= 4)] == []


@pytest.mark.parametrize("sid", sorted(SHIPPED))
def test_openings_carry_the_disclosure_and_recording_notice(catalog: dict[str, Script], sid: str) -> None:
    for v in catalog[sid].node(catalog[sid].start).variants:
        assert {"ai_disclosure", "recording_notice", "agent_name", "company"} <= set(PLACEHOLDER.findall(v.text)), v.id


@pytest.mark.parametrize("sid", sorted(SHIPPED))
def test_placeholders_are_the_ones_the_engine_fills(catalog: dict[str, Script], sid: str) -> None:
    used = {name for text in shipped_texts(catalog[sid]) for name in PLACEHOLDER.findall(text)}
    assert used <= KNOWN_PLACEHOLDERS, used - KNOWN_PLACEHOLDERS


def sentences(text: str) -> list[str]:
    """Spoken sentences, with each placeholder counted as one short word."""
    text = PLACEHOLDER.sub("X", text)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|[。！？；]", text) if s.strip()]


@pytest.mark.parametrize("sid", sorted(SHIPPED))
def test_sentences_are_short_enough_for_speech(catalog: dict[str, Script], sid: str) -> None:
    script = catalog[sid]
    too_long = [
        s
        for text in shipped_texts(script)
        for s in sentences(text)
        if (len(s.split()) > 25 if script.language == "en" else len(s) > 40)
    ]
    assert too_long == []


def test_mandarin_is_written_in_simplified_characters(catalog: dict[str, Script]) -> None:
    texts = [t for s in catalog.values() if s.language == "zh" for t in shipped_texts(s)]
    texts += [x for i in load_intents("zh").values() for x in i.examples]
    assert [t for t in texts if postprocess(t, "zh") != t] == []  # the ASR's Traditional → Simplified step


# -- intents ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_builtin_intents_are_the_shared_vocabulary_with_enough_examples(language: str) -> None:
    intents = load_intents(language)
    assert set(intents) == set(BUILTIN_INTENTS)
    assert {n: len(i.examples) for n, i in intents.items() if not 8 <= len(i.examples) <= 20} == {}
    assert all(i.patterns for i in intents.values())


def intents_of(label: str) -> tuple[str, dict[str, Intent]]:
    """(language, intents) of `builtin-<language>` or of a shipped script (built-ins merged with its own)."""
    if label.startswith("builtin-"):
        language = label.removeprefix("builtin-")
        return language, load_intents(language)
    script = load_catalog()[label]
    return script.language, script.intents


@pytest.mark.parametrize("label", ["builtin-en", "builtin-zh", *sorted(SHIPPED)])
def test_every_pattern_matches_one_of_its_own_examples(label: str) -> None:
    language, intents = intents_of(label)
    dead = [
        (name, p)
        for name, intent in intents.items()
        for p in intent.patterns
        if not any(compile_pattern(p, language).search(x) for x in intent.examples)
    ]
    assert dead == []


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_example_is_matched_only_by_another_intents_patterns(language: str) -> None:
    """Overlaps are fine (yes/no fire inside many answers); capturing an example the owner misses is a leak."""
    intents = load_intents(language)
    compiled = {n: [compile_pattern(p, language) for p in i.patterns] for n, i in intents.items()}

    def hits(name: str, text: str) -> bool:
        return any(c.search(text) for c in compiled[name])

    leaks = [
        (owner, x, [n for n in intents if hits(n, x)])
        for owner, intent in intents.items()
        for x in intent.examples
        if not hits(owner, x) and any(hits(n, x) for n in intents)
    ]
    assert leaks == []


def test_english_patterns_match_whole_words_only_and_ignore_case() -> None:
    yes = compile_pattern("yes|yeah", "en")
    assert yes.search("YES please") and yes.search("oh yeah")
    assert not yes.search("yesterday") and not yes.search("eyes")
    assert compile_pattern("忙", "zh").search("我在忙呢") and compile_pattern("ok", "zh").search("OK的")


def test_script_intents_extend_and_override_the_builtins(tmp_path: Path) -> None:
    own = 'intents:\n  yes: {patterns: ["yarp"]}\n  ask_colour: {examples: ["what colour is it"]}\nnodes:\n'
    script = load_script(write(tmp_path, BASE.replace("nodes:\n", own, 1)))
    assert script.intents["yes"] == Intent("yes", ("yarp",), ())
    assert script.intents["ask_colour"].examples == ("what colour is it",)
    assert script.intents["no"] == load_intents("en")["no"]


# -- the loader on a small script -------------------------------------------------------------------------


def test_the_small_script_loads_with_default_ids_and_line_numbers(tmp_path: Path) -> None:
    script = load_script(write(tmp_path, BASE))
    opening = script.node("opening")
    assert opening.on == {"yes": "discovery"}  # a bare `yes:` key stays a string
    assert [v.id for v in opening.variants] == ["opening.v1"]
    assert (opening.variants[0].stats.uses, opening.variants[0].stats.conversions) == (10, 2)
    assert opening.source_line == line_of(BASE, "  opening:")
    assert opening.variants[0].source_line == line_of(BASE, '- text: "Hi')
    assert [a.id for a in script.faq[0].answers] == ["cost.a1", "cost.a2"]
    assert script.faq[0].source_line == line_of(BASE, "- id: cost")


# (case id, text replaced, replacement, a string on the line the error must name, part of the message)
BROKEN = [
    (
        "unknown-key",
        "    kind: discovery\n",
        "    kind: discovery\n    colour: blue\n",
        "colour: blue",
        "unknown key 'colour'",
    ),
    ("unknown-top-key", "product: Widget\n", "product: Widget\nowner: me\n", "owner: me", "unknown key 'owner'"),
    ("missing-field", "title: Tiny\n", "", "id: tiny-en", "missing required field 'title'"),
    ("missing-kind", "booking: {kind: booking, ", "booking: {", "  booking:", "missing required field 'kind'"),
    ("bad-kind", "kind: discovery", "kind: discoveri", "kind: discoveri", "unknown kind 'discoveri'"),
    ("bad-expect", "expect: free", "expect: freeform", "expect: freeform", "unknown expect 'freeform'"),
    ("bad-signal", "signal: need", "signal: needs", "signal: needs", "unknown signal 'needs'"),
    ("bad-language", "language: en", "language: fr", "language: fr", "language must be one of en, zh"),
    (
        "duplicate-node",
        '  goodbye: {kind: goodbye, variants: ["Bye."]}\n',
        '  goodbye: {kind: goodbye, variants: ["Bye."]}\n  goodbye: {kind: goodbye, variants: ["See you."]}\n',
        "See you.",
        "duplicate node id 'goodbye'",
    ),
    (
        "duplicate-variant",
        "        conversions: 2\n",
        "        conversions: 2\n      - {id: opening.v1, text: Hello again.}\n",
        "Hello again.",
        "duplicate variant id 'opening.v1'",
    ),
    (
        "duplicate-faq",
        "faq:\n",
        'faq:\n  - {id: cost, question: "Price?", similar: ["Cost?"], answers: [A., B.]}\n',
        "- id: cost",
        "duplicate faq id 'cost'",
    ),
    ("faq-id-is-a-node-id", "- id: cost", "- id: booking", "- id: booking", "faq id 'booking' is also a node id"),
    ("bad-start", "start: opening", "start: openin", "start: openin", "start: no node 'openin'"),
    (
        "bad-on-target",
        "on: {yes: discovery}",
        "on: {yes: discovry}",
        "on: {yes: discovry}",
        "on.yes: no node 'discovry'",
    ),
    ("bad-next", "    next: booking\n", "    next: bookin\n", "next: bookin", "next: no node 'bookin'"),
    ("on-unknown-intent", "on: {yes: discovery}", "on: {yess: discovery}", "on: {yess", "unknown intent 'yess'"),
    ("no-variants", 'variants: ["What do you need?"]', "variants: []", "variants: []", "has no variants"),
    ("qualify-without-signal", "    signal: need\n", "", "  q_need:", "needs a signal"),
    (
        "signal-outside-qualify",
        "    kind: discovery\n",
        "    kind: discovery\n    signal: need\n",
        "signal: need",
        "only qualify nodes have a signal",
    ),
    (
        "qualify-expects-nothing",
        "    expect: yes_no\n    next: booking",
        "    next: booking",
        "  q_need:",
        "must wait for an answer",
    ),
    ("on-without-answer", "    expect: yes_no\n    on:", "    on:", "on: {yes", "expects nothing"),
    (
        "objection-without-intent",
        "obj_who: {kind: objection, intent: who_are_you,",
        "obj_who: {kind: objection,",
        "obj_who:",
        "needs the intent it answers",
    ),
    (
        "objection-unknown-intent",
        "intent: who_are_you",
        "intent: who_r_u",
        "intent: who_r_u",
        "unknown intent 'who_r_u'",
    ),
    (
        "two-objections-one-intent",
        "intent: who_are_you",
        "intent: busy_now",
        "obj_who:",
        "'busy_now' is already answered",
    ),
    (
        "missing-kind-node",
        '  voicemail: {kind: voicemail, variants: ["Please call back."]}\n',
        "",
        "nodes:",
        "no 'voicemail' node",
    ),
    (
        "missing-objection",
        '  obj_number: {kind: objection, intent: how_got_number, variants: ["From your enquiry."]}\n',
        "",
        "nodes:",
        "no objection node for the required intent 'how_got_number'",
    ),
    (
        "bad-regex",
        "nodes:\n",
        'intents:\n  ask_colour:\n    patterns: ["colou(r"]\nnodes:\n',
        "colou(r",
        "invalid regex 'colou(r'",
    ),
    ("bad-placeholder", "Booked for {time}.", "Booked for {time.", "Booked for {time.", "malformed {placeholder}"),
    ("empty-placeholder", "Booked for {time}.", "Booked for {}.", "Booked for {}.", "malformed {placeholder}"),
    ("faq-no-similar", 'similar: ["What\'s the price?"]', "similar: []", "similar: []", "no similar questions"),
    (
        "faq-one-answer",
        'answers: ["Ten dollars.", "About ten a month."]',
        'answers: ["Ten dollars."]',
        "answers: [",
        "at least 2 answers",
    ),
    ("negative-uses", "uses: 10", "uses: -10", "uses: -10", "must not be negative"),
    ("uses-not-a-number", "uses: 10", "uses: lots", "uses: lots", "must be a whole number"),
    ("conversions-over-uses", "conversions: 2", "conversions: 20", "conversions: 20", "cannot exceed uses (10)"),
    ("bad-script-id", "id: tiny-en", "id: Tiny En", "id: Tiny En", "is not a valid id"),
]


@pytest.mark.parametrize(("old", "new", "marker", "fragment"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_broken_script_names_the_file_and_line(
    tmp_path: Path, old: str, new: str, marker: str, fragment: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    path = write(tmp_path, text)
    assert_error(errors_of(path), path, line_of(text, marker), fragment)


def test_all_problems_are_reported_at_once_in_line_order(tmp_path: Path) -> None:
    text = BASE.replace("signal: need", "signal: needs").replace("start: opening", "start: nowhere")
    text = text.replace("uses: 10", "uses: -1")
    path = write(tmp_path, text)
    errors = errors_of(path)
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines)
    for marker in ("start: nowhere", "uses: -1", "signal: needs"):
        assert any(e.startswith(f"{path}:{line_of(text, marker)}: ") for e in errors), marker


@pytest.mark.parametrize(
    ("old", "new", "marker"),
    [
        ("title: Tiny", "title: Tiny: Extra", "title: Tiny: Extra"),  # a colon inside a plain value
        ("    expect: free\n", "    expect: free\n   next: q_need\n", "   next: q_need"),  # bad indentation
        ('variants: ["What do you need?"]', 'variants: ["What do you need?"', "variants: ["),  # unclosed flow
    ],
)
def test_yaml_syntax_errors_name_the_file_and_line(tmp_path: Path, old: str, new: str, marker: str) -> None:
    text = BASE.replace(old, new, 1)
    path = write(tmp_path, text)
    errors = errors_of(path)
    assert len(errors) == 1
    line = int(errors[0].split(":")[1])
    assert errors[0].startswith(f"{path}:{line}: YAML syntax error: ")
    assert line_of(text, marker) <= line <= line_of(text, marker) + 1  # PyYAML may point at the next token


def test_empty_and_non_utf8_files_are_reported_with_a_line(tmp_path: Path) -> None:
    empty = write(tmp_path, "# nothing here\n")
    assert errors_of(empty) == [f"{empty}:1: the file is empty"]
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"id: tiny-en\ntitle: caf\xe9\n")
    assert errors_of(latin1)[0].startswith(f"{latin1}:2: not valid UTF-8")


def test_a_broken_intents_file_lists_its_problems(tmp_path: Path) -> None:
    text = yaml.safe_dump({"language": "en", "intents": {n: {"examples": [n]} for n in BUILTIN_INTENTS[1:]}})
    text = text.replace("intents:\n", 'intents:\n  colour:\n    patterns: ["(red"]\n', 1)
    path = write(tmp_path, text, "en.yaml")
    with pytest.raises(ScriptError) as info:
        load_intents("en", path)
    assert_error(info.value.errors, path, line_of(text, "(red"), "invalid regex")
    assert_error(info.value.errors, path, line_of(text, "intents:"), "built-in intent 'yes' is missing")
    assert_error(info.value.errors, path, line_of(text, "intents:"), "'colour' is not in BUILTIN_INTENTS")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        load_intents("fr")


# -- the catalog ------------------------------------------------------------------------------------------


def test_catalog_is_cached_until_cleared() -> None:
    first = load_catalog()
    assert load_catalog()["insurance-en"] is first["insurance-en"]
    clear_cache()
    assert load_catalog()["insurance-en"] is not first["insurance-en"]


def test_catalog_checks_file_names_and_one_script_per_industry_and_language(tmp_path: Path) -> None:
    write(tmp_path, BASE, "tiny-en.yaml")
    assert set(load_catalog(tmp_path)) == {"tiny-en"}
    assert script_for("testing", "en", tmp_path).id == "tiny-en"
    with pytest.raises(KeyError, match="have: testing/en"):
        script_for("testing", "zh", tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    write(other, BASE, "tiny-en.yaml")
    write(other, BASE, "renamed.yaml")
    with pytest.raises(ScriptError) as info:
        load_catalog(other)
    assert any("renamed.yaml: script id 'tiny-en' does not match the file name" in e for e in info.value.errors)
    assert any("a second script for testing/en" in e for e in info.value.errors)
    with pytest.raises(FileNotFoundError):
        load_catalog(tmp_path / "missing")


# -- labeled recommendation queries -----------------------------------------------------------------------


def normalised(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def test_recommendation_queries_name_real_ids_and_do_not_copy_the_faq(catalog: dict[str, Script]) -> None:
    queries = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    assert len(queries) >= 40
    assert sum(catalog[q["script"]].language == "zh" for q in queries) >= 15
    assert sum(bool(re.search(r"[A-Za-z]", q["utterance"])) for q in queries if q["script"].endswith("-zh")) >= 2
    for q in queries:
        assert set(q) == {"script", "node", "utterance", "relevant"}, q
        script = catalog[q["script"]]
        assert q["node"] in script.nodes, q
        answerable = {f.id for f in script.faq} | {n.id for n in script.nodes_of(NodeKind.OBJECTION)}
        assert q["relevant"] and set(q["relevant"]) <= answerable, q
        asked = {normalised(t) for f in script.faq for t in (f.question, *f.similar)}
        assert normalised(q["utterance"]) not in asked, q
    assert len({(q["script"], normalised(q["utterance"])) for q in queries}) == len(queries)
