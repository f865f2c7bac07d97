"""Load sales scripts and the built-in intents from YAML; every problem is reported as `path:line: message`.

Line numbers come from PyYAML's composed node graph (`yaml.compose`), which the loader walks itself instead of
constructing Python objects first: duplicate mapping keys stay visible (the constructor would silently keep the
last one) and unquoted `yes:` / `no:` keys stay strings (YAML 1.1 would make them booleans). Validation never
stops at the first problem: `ScriptError.errors` lists them all, sorted by line.

The format is described in docs/scripts.md. Intent patterns are matched by `compile_pattern` only, so that the
loader's regex check, the data-quality tests and the dialogue engine agree on what a pattern means.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.constructor import SafeConstructor

from scripts_library.schema import (
    BUILTIN_INTENTS,
    LANGUAGES,
    REQUIRED_KINDS,
    REQUIRED_OBJECTIONS,
    Expect,
    FaqEntry,
    Intent,
    Node,
    NodeKind,
    Script,
    Signal,
    Variant,
    VariantStats,
)

__all__ = ["BUILTIN_INTENTS", "DATA_DIR", "ScriptError", "compile_pattern", "load_intents", "load_script"]

DATA_DIR = Path(__file__).resolve().parent / "data"

_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")  # node, FAQ and intent ids
_VARIANT_ID = re.compile(r"[a-z0-9][a-z0-9_.\-]*\Z")
_SCRIPT_ID = re.compile(r"[a-z0-9][a-z0-9\-]*\Z")
_ID_RULES = {
    _NAME: "a lowercase letter, then lowercase letters, digits or _",
    _VARIANT_ID: "lowercase letters, digits, _, . or -",
    _SCRIPT_ID: "lowercase letters, digits or -",
}
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_SCALARS = SafeConstructor()  # only its stateless scalar constructors are used

_SCRIPT_TEXT_FIELDS = ("id", "industry", "language", "title", "company", "product", "start")
_SCRIPT_FIELDS = (*_SCRIPT_TEXT_FIELDS, "nodes")
_NODE_FIELDS = ("kind", "variants")
_NODE_OPTIONAL = ("expect", "signal", "intent", "on", "next", "reprompts")
_VARIANT_OPTIONAL = ("id", "uses", "conversions", "author")
_FAQ_FIELDS = ("id", "question", "similar", "answers")

E = TypeVar("E", bound=StrEnum)


class ScriptError(ValueError):
    """A script or intents file did not load. `errors` holds every problem, each as `path:line: message`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def compile_pattern(pattern: str, language: str) -> re.Pattern[str]:
    """The one way an intent pattern is matched (use `.search`): case-insensitive; in English whole words only.

    English patterns are wrapped in `\\b(?:...)\\b`, so they must begin and end on a letter or digit. Mandarin
    patterns are plain regexes (no word boundaries in Chinese text); IGNORECASE still applies to Latin words.
    """
    if language == "en":
        return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)
    return re.compile(pattern, re.IGNORECASE)


@dataclass(slots=True)
class _Checker:
    """Collects `(line, message)` problems while reading composed YAML nodes of one file."""

    path: str
    problems: list[tuple[int, str]] = field(default_factory=list)

    def error(self, at: yaml.Node | int, message: str) -> None:
        """`at`: the node the problem is about, or a 1-based line number."""
        line = at if isinstance(at, int) else at.start_mark.line + 1
        self.problems.append((line, message))

    def messages(self) -> list[str]:
        """`path:line: message`, by line (stable: problems on one line keep the order they were found in)."""
        return [f"{self.path}:{line}: {message}" for line, message in sorted(self.problems, key=lambda p: p[0])]

    def entries(self, node: yaml.MappingNode, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) in file order; duplicate and non-string keys are reported and dropped."""
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: dict[str, int] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _NULL_TAG:
                self.error(key_node, f"{what}: keys must be plain names")
                continue
            key = str(key_node.value)
            if key in seen:
                self.error(key_node, f"duplicate {what} {key!r} (first at line {seen[key]})")
                continue
            seen[key] = key_node.start_mark.line + 1
            out.append((key, key_node, value))
        return out

    def fields(
        self, node: yaml.Node, what: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, yaml.Node] | None:
        """A mapping with a fixed set of keys: unknown keys and missing required ones are errors."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        out: dict[str, yaml.Node] = {}
        for key, key_node, value in self.entries(node, f"key in {what}"):
            if key in required or key in optional:
                out[key] = value
            else:
                self.error(key_node, f"unknown key {key!r} in {what} (allowed: {', '.join((*required, *optional))})")
        for key in required:
            if key not in out:
                self.error(node, f"{what}: missing required field {key!r}")
        return out

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if isinstance(node, yaml.MappingNode):
            return self.entries(node, what)
        self.error(node, f"{what} must be a mapping")
        return []

    def items(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        self.error(node, f"{what} must be a list")
        return []

    def text(self, node: yaml.Node, what: str) -> str | None:
        """A non-empty scalar, as written (so `yes`, `12:30` or `007` keep their spelling)."""
        if isinstance(node, yaml.ScalarNode) and node.tag != _NULL_TAG and str(node.value).strip():
            return str(node.value)
        self.error(node, f"{what} must be a non-empty string")
        return None

    def name(self, node: yaml.Node, what: str, pattern: re.Pattern[str] = _NAME) -> str | None:
        value = self.text(node, what)
        if value is not None and not pattern.match(value):
            self.error(node, f"{what} {value!r} is not a valid id ({_ID_RULES[pattern]})")
            return None
        return value

    def count(self, node: yaml.Node, what: str) -> int | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG:
            value = int(_SCALARS.construct_yaml_int(node))
            if value >= 0:
                return value
            self.error(node, f"{what} must not be negative (got {value})")
            return None
        self.error(node, f"{what} must be a whole number")
        return None

    def choice(self, node: yaml.Node, enum: type[E], what: str) -> E | None:
        value = self.text(node, what)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            self.error(node, f"unknown {what} {value!r} (expected one of: {', '.join(e.value for e in enum)})")
            return None

    def regex(self, node: yaml.Node, language: str) -> str | None:
        pattern = self.text(node, "pattern")
        if pattern is None:
            return None
        try:
            compile_pattern(pattern, language)
        except re.error as e:
            self.error(node, f"invalid regex {pattern!r}: {e}")
            return None
        return pattern


def _compose(path: Path, chk: _Checker) -> yaml.Node | None:
    """The file's node graph, or None with the reason (encoding, YAML syntax, empty file) recorded."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        chk.error(data.count(b"\n", 0, e.start) + 1, f"not valid UTF-8 ({e.reason})")
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = "; ".join(str(part) for part in (e.context, e.problem) if part)
        chk.error(mark.line + 1 if mark else 1, f"YAML syntax error: {what}")
        return None
    except yaml.YAMLError as e:
        chk.error(1, f"YAML error: {e}")
        return None
    if root is None:
        chk.error(1, "the file is empty")
    return root


def _parse_intents(node: yaml.Node, language: str, chk: _Checker) -> dict[str, Intent]:
    """`name: {patterns: [...], examples: [...]}` entries; `language` decides how patterns compile."""
    out: dict[str, Intent] = {}
    for _, key_node, value in chk.mapping(node, "intent"):
        name = chk.name(key_node, "intent name")
        spec = chk.fields(value, f"intent {key_node.value!r}", (), ("patterns", "examples"))
        if name is None or spec is None:
            continue
        pattern_nodes = chk.items(spec["patterns"], "patterns") if "patterns" in spec else []
        example_nodes = chk.items(spec["examples"], "examples") if "examples" in spec else []
        patterns = [p for n in pattern_nodes if (p := chk.regex(n, language))]
        examples = [x for n in example_nodes if (x := chk.text(n, "example"))]
        if not pattern_nodes and not example_nodes:
            chk.error(key_node, f"intent {name!r} has neither patterns nor examples")
        out[name] = Intent(name, tuple(patterns), tuple(examples))
    return out


def load_intents(language: str, path: str | Path | None = None) -> dict[str, Intent]:
    """The built-in intents of a language (`data/intents/<language>.yaml`, or the file at `path`), by name.

    The file must define exactly the shared vocabulary `BUILTIN_INTENTS`. Raises ScriptError listing every
    problem, ValueError for a language other than en/zh. The shipped files are read once per process.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (expected one of: {', '.join(LANGUAGES)})")
    if path is None:
        return dict(_shipped_intents(language))
    return _read_intents(Path(path), language)


@functools.cache
def _shipped_intents(language: str) -> dict[str, Intent]:
    return _read_intents(DATA_DIR / "intents" / f"{language}.yaml", language)


def _read_intents(path: Path, language: str) -> dict[str, Intent]:
    chk = _Checker(str(path))
    root = _compose(path, chk)
    intents = _intents_file(root, language, chk) if root is not None else {}
    if chk.problems:
        raise ScriptError(chk.messages())
    return intents


def _intents_file(root: yaml.Node, language: str, chk: _Checker) -> dict[str, Intent]:
    """`{language, intents}`: the language must be the file's; the intents exactly BUILTIN_INTENTS."""
    spec = chk.fields(root, "intents file", ("language", "intents"))
    if spec is None:
        return {}
    if "language" in spec and chk.text(spec["language"], "language") not in (None, language):
        chk.error(spec["language"], f"language must be {language!r} in this file")
    if "intents" not in spec:
        return {}
    intents = _parse_intents(spec["intents"], language, chk)
    at = _key_node(root, "intents")
    for name in sorted(set(BUILTIN_INTENTS) - intents.keys()):
        chk.error(at, f"built-in intent {name!r} is missing")
    for name in sorted(intents.keys() - set(BUILTIN_INTENTS)):
        chk.error(at, f"intent {name!r} is not in BUILTIN_INTENTS (scripts add their own)")
    return intents


def _key_node(mapping: yaml.Node, key: str) -> yaml.Node:
    """The node of `key` in a mapping (errors about a whole section point at its key, not its first entry)."""
    if isinstance(mapping, yaml.MappingNode):
        for key_node, _ in mapping.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node
    return mapping


def _placeholder_problem(text: str) -> str | None:
    """Why `text`'s `{placeholders}` are malformed (unbalanced braces, empty or odd names), or None."""
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        return f"unbalanced or malformed {{placeholder}} in {text!r} (names are letters, digits and _)"
    return None


@dataclass(slots=True)
class _Target:
    """A reference to a node id (`start`, `on`, `next`), checked once every node is known."""

    node_id: str
    at: yaml.Node
    what: str


@dataclass(slots=True)
class _ScriptReader:
    """Builds a Script from the composed root of one file, recording every problem in `chk`."""

    chk: _Checker
    intents: dict[str, Intent] | None = None  # None: the language is unknown, so intent names go unchecked
    variant_lines: dict[str, int] = field(default_factory=dict)
    targets: list[_Target] = field(default_factory=list)

    def script(self, root: yaml.Node) -> Script | None:
        spec = self.chk.fields(root, "script", _SCRIPT_FIELDS, ("intents", "faq"))
        if spec is None:
            return None
        head = {k: self.chk.text(spec[k], k) for k in _SCRIPT_TEXT_FIELDS if k in spec}
        if head.get("id") is not None:
            self.chk.name(spec["id"], "script id", _SCRIPT_ID)
        language = head.get("language")
        if language is not None and language not in LANGUAGES:
            self.chk.error(spec["language"], f"language must be one of {', '.join(LANGUAGES)} (got {language!r})")
        self.intents = self.merged_intents(spec.get("intents"), language)
        nodes = self.nodes(spec["nodes"]) if "nodes" in spec else {}
        faq = self.faq(spec["faq"], nodes) if "faq" in spec else []
        if head.get("start") is not None:
            self.targets.append(_Target(str(head["start"]), spec["start"], "start"))
        self.check_targets(nodes)
        if "nodes" in spec:
            self.check_required(nodes, _key_node(root, "nodes"))
        if self.chk.problems:  # every missing or empty head field has been reported
            return None
        h = {k: str(v) for k, v in head.items()}
        return Script(
            id=h["id"],
            industry=h["industry"],
            language=h["language"],
            title=h["title"],
            company=h["company"],
            product=h["product"],
            start=h["start"],
            nodes=nodes,
            intents=self.intents or {},
            faq=faq,
        )

    def merged_intents(self, node: yaml.Node | None, language: str | None) -> dict[str, Intent] | None:
        """Built-in intents of the language, overridden and extended by the script's own."""
        own = _parse_intents(node, language or "zh", self.chk) if node is not None else {}
        if language not in LANGUAGES:
            return None
        return {**load_intents(str(language)), **own}

    def nodes(self, mapping: yaml.Node) -> dict[str, Node]:
        out: dict[str, Node] = {}
        for node_id, key_node, value in self.chk.mapping(mapping, "node id"):
            if self.chk.name(key_node, "node id") is not None and (node := self.node(node_id, key_node, value)):
                out[node_id] = node
        return out

    def node(self, node_id: str, key_node: yaml.Node, value: yaml.Node) -> Node | None:
        spec = self.chk.fields(value, f"node {node_id!r}", _NODE_FIELDS, _NODE_OPTIONAL)
        if spec is None:
            return None
        kind = self.chk.choice(spec["kind"], NodeKind, "kind") if "kind" in spec else None
        expect = self.chk.choice(spec["expect"], Expect, "expect") if "expect" in spec else Expect.NOTHING
        signal = self.chk.choice(spec["signal"], Signal, "signal") if "signal" in spec else None
        intent = self.chk.text(spec["intent"], "intent") if "intent" in spec else None
        variants = self.variants(spec["variants"], node_id, "v") if "variants" in spec else []
        reprompts = self.variants(spec["reprompts"], node_id, "r") if "reprompts" in spec else []
        on = self.on(spec["on"], node_id) if "on" in spec else {}
        nxt = self.chk.text(spec["next"], "next") if "next" in spec else None
        if nxt is not None:
            self.targets.append(_Target(nxt, spec["next"], f"node {node_id!r}: next"))
        if isinstance(spec.get("variants"), yaml.SequenceNode) and not spec["variants"].value:
            self.chk.error(spec["variants"], f"node {node_id!r} has no variants")
        if kind is None or expect is None:
            return None
        self.check_node(node_id, key_node, kind, expect, spec, intent)
        return Node(node_id, kind, variants, expect, signal, intent, on, nxt, reprompts, key_node.start_mark.line + 1)

    def check_node(
        self,
        node_id: str,
        at: yaml.Node,
        kind: NodeKind,
        expect: Expect,
        spec: dict[str, yaml.Node],
        intent: str | None,
    ) -> None:
        """Fields that only make sense together: signal ⇔ qualify, intent ⇔ objection, branching ⇒ an answer."""
        if kind == NodeKind.QUALIFY and "signal" not in spec:
            self.chk.error(at, f"qualify node {node_id!r} needs a signal ({', '.join(s.value for s in Signal)})")
        if kind != NodeKind.QUALIFY and "signal" in spec:
            self.chk.error(spec["signal"], f"node {node_id!r}: only qualify nodes have a signal")
        if kind == NodeKind.OBJECTION and "intent" not in spec:
            self.chk.error(at, f"objection node {node_id!r} needs the intent it answers")
        if kind != NodeKind.OBJECTION and "intent" in spec:
            self.chk.error(spec["intent"], f"node {node_id!r}: only objection nodes have an intent")
        if intent is not None and self.intents is not None and intent not in self.intents:
            self.chk.error(spec["intent"], f"node {node_id!r}: unknown intent {intent!r}")
        if expect == Expect.NOTHING and "on" in spec:
            self.chk.error(spec["on"], f"node {node_id!r} branches on the answer but expects nothing (set expect)")
        if expect == Expect.NOTHING and kind == NodeKind.QUALIFY:
            self.chk.error(at, f"qualify node {node_id!r} must wait for an answer (set expect)")

    def on(self, mapping: yaml.Node, node_id: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for intent, key_node, value in self.chk.mapping(mapping, f"intent in node {node_id!r}: on"):
            if self.intents is not None and intent not in self.intents:
                self.chk.error(key_node, f"node {node_id!r}: on: unknown intent {intent!r}")
            target = self.chk.text(value, f"on.{intent}")
            if target is not None:
                out[intent] = target
                self.targets.append(_Target(target, value, f"node {node_id!r}: on.{intent}"))
        return out

    def variants(self, seq: yaml.Node, owner: str, letter: str) -> list[Variant]:
        """Variants of a node (default ids `<node>.v<n>`), its reprompts (`.r<n>`) or FAQ answers (`.a<n>`)."""
        out: list[Variant] = []
        for n, item in enumerate(self.chk.items(seq, f"{owner}: variants"), start=1):
            if variant := self.variant(item, f"{owner}.{letter}{n}"):
                out.append(variant)
        return out

    def variant(self, item: yaml.Node, default_id: str) -> Variant | None:
        """A mapping `{text, id?, uses?, conversions?, author?}`, or just the text."""
        spec: dict[str, yaml.Node] | None = {"text": item}
        if not isinstance(item, yaml.ScalarNode):
            spec = self.chk.fields(item, f"variant {default_id!r}", ("text",), _VARIANT_OPTIONAL)
        if spec is None or "text" not in spec:
            return None
        text = self.chk.text(spec["text"], "text")
        vid = self.chk.name(spec["id"], "variant id", _VARIANT_ID) if "id" in spec else default_id
        uses = self.chk.count(spec["uses"], "uses") if "uses" in spec else 0
        conversions = self.chk.count(spec["conversions"], "conversions") if "conversions" in spec else 0
        author = self.chk.text(spec["author"], "author") if "author" in spec else ""
        if text is not None and (problem := _placeholder_problem(text)):
            self.chk.error(spec["text"], problem)
        if uses is not None and conversions is not None and conversions > uses:
            self.chk.error(spec["conversions"], f"conversions ({conversions}) cannot exceed uses ({uses})")
        if vid is not None:
            self.claim_variant_id(vid, item)
        if text is None or vid is None or uses is None or conversions is None or author is None:
            return None
        return Variant(vid, text, VariantStats(uses, conversions), author, item.start_mark.line + 1)

    def claim_variant_id(self, vid: str, at: yaml.Node) -> None:
        if vid in self.variant_lines:
            self.chk.error(at, f"duplicate variant id {vid!r} (first at line {self.variant_lines[vid]})")
        else:
            self.variant_lines[vid] = at.start_mark.line + 1

    def faq(self, seq: yaml.Node, nodes: dict[str, Node]) -> list[FaqEntry]:
        out: list[FaqEntry] = []
        lines: dict[str, int] = {}
        for item in self.chk.items(seq, "faq"):
            if (entry := self.faq_entry(item)) is None:
                continue
            if entry.id in lines:
                self.chk.error(item, f"duplicate faq id {entry.id!r} (first at line {lines[entry.id]})")
            elif entry.id in nodes:
                self.chk.error(item, f"faq id {entry.id!r} is also a node id (recommendations name both)")
            lines.setdefault(entry.id, entry.source_line)
            out.append(entry)
        return out

    def faq_entry(self, item: yaml.Node) -> FaqEntry | None:
        spec = self.chk.fields(item, "faq entry", _FAQ_FIELDS)
        if spec is None or spec.keys() != set(_FAQ_FIELDS):
            return None
        fid = self.chk.name(spec["id"], "faq id")
        question = self.chk.text(spec["question"], "question")
        similar = [self.chk.text(s, "similar question") for s in self.chk.items(spec["similar"], "similar")]
        answers = self.variants(spec["answers"], fid or "faq", "a")
        if isinstance(spec["similar"], yaml.SequenceNode) and not spec["similar"].value:
            self.chk.error(spec["similar"], f"faq {fid!r} has no similar questions")
        if isinstance(spec["answers"], yaml.SequenceNode) and len(spec["answers"].value) < 2:
            self.chk.error(spec["answers"], f"faq {fid!r} needs at least 2 answers (has {len(spec['answers'].value)})")
        if fid is None or question is None:
            return None
        return FaqEntry(fid, question, [s for s in similar if s], answers, item.start_mark.line + 1)

    def check_targets(self, nodes: dict[str, Node]) -> None:
        for t in self.targets:
            if t.node_id not in nodes:
                self.chk.error(t.at, f"{t.what}: no node {t.node_id!r}")

    def check_required(self, nodes: dict[str, Node], at: yaml.Node) -> None:
        """Every REQUIRED_KINDS kind present; exactly one objection node per REQUIRED_OBJECTIONS intent."""
        kinds = {n.kind for n in nodes.values()}
        for kind in REQUIRED_KINDS:
            if kind not in kinds:
                self.chk.error(at, f"no {kind.value!r} node (every script needs one)")
        answered: dict[str, str] = {}
        for n in nodes.values():
            if n.kind == NodeKind.OBJECTION and n.intent is not None:
                if n.intent in answered:
                    self.chk.error(
                        n.source_line, f"node {n.id!r}: {n.intent!r} is already answered by {answered[n.intent]!r}"
                    )
                answered.setdefault(n.intent, n.id)
        for intent in REQUIRED_OBJECTIONS:
            if intent not in answered:
                self.chk.error(at, f"no objection node for the required intent {intent!r}")


def load_script(path: str | Path) -> Script:
    """Load and validate one script file; the built-in intents of its language are merged in (the script wins).

    Raises ScriptError listing every problem found (`path:line: message`), OSError if the file cannot be read.
    """
    chk = _Checker(str(path))
    root = _compose(Path(path), chk)
    script = _ScriptReader(chk).script(root) if root is not None else None
    if script is None or chk.problems:
        raise ScriptError(chk.messages() or [f"{path}:1: not a script"])
    script.path = str(path)
    return script
