"""The data model of a sales script: what the loader builds from YAML and what the dialogue engine walks.

A script belongs to one industry and one language. It is a graph of nodes (opening, discovery, qualification
questions, objections, booking, closing, goodbye, ...); every node holds several answer variants, each with
usage and conversion statistics so that mining can let the best answers rise. A FAQ holds customer questions
with similar phrasings (相似问法) and several answers each (一问多答).

Texts may contain `{placeholders}` (`{agent_name}`, `{company}`, `{first_name}`, `{time}`, ...) that the
dialogue engine fills in; the voice layer renders fixed lines (no placeholders) ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

LANGUAGES = ("en", "zh")


class NodeKind(StrEnum):
    OPENING = "opening"  # greeting + AI disclosure + recording notice, then the reason for the call
    DISCOVERY = "discovery"  # open needs question
    QUALIFY = "qualify"  # one qualification question; `signal` says which (need, budget, ...)
    OBJECTION = "objection"  # answers one objection intent, then returns to where the call was
    BOOKING = "booking"  # propose and confirm an appointment or callback time
    CLOSING = "closing"  # summary and next step
    GOODBYE = "goodbye"  # last words; the call ends after it
    # Lines the engine needs in every script, outside the main flow:
    DISCLOSURE = "disclosure"  # answer to "are you a robot?" (the campaign may override the wording)
    DO_NOT_CALL = "do_not_call"  # "remove me": confirm removal, then end politely
    WRONG_PERSON = "wrong_person"  # apologise, end
    VOICEMAIL = "voicemail"  # message left on an answering machine
    HANDOFF = "handoff"  # "let me bring in a colleague" before a human takes over
    REPROMPT = "reprompt"  # no input / no match: generic "sorry, could you say that again?"
    CLARIFY = "clarify"  # low-confidence recognition: "did you say ...?"


class Signal(StrEnum):
    """What a qualification question finds out (BANT plus the incumbent)."""

    NEED = "need"
    BUDGET = "budget"
    AUTHORITY = "authority"
    TIMELINE = "timeline"
    CURRENT_PROVIDER = "current_provider"


class Expect(StrEnum):
    """What kind of answer a node waits for; the engine picks the slot extractor from it."""

    NOTHING = "nothing"  # a statement; the engine moves on without waiting
    YES_NO = "yes_no"
    FREE = "free"  # open answer, judged by intent
    AMOUNT = "amount"
    TIME = "time"  # a date/time relative to the lead's local time


# The customer intents every language knows (scripts may add their own). `ask_question`: a question about the
# product or company, answered from the FAQ; `unsure`: "maybe", "我考虑一下".
BUILTIN_INTENTS = (
    "yes",
    "no",
    "interested",
    "not_interested",
    "busy_now",
    "already_have_one",
    "too_expensive",
    "who_are_you",
    "how_got_number",
    "remove_me",
    "are_you_robot",
    "call_me_later",
    "wrong_person",
    "want_human",
    "repeat_please",
    "ask_price",
    "ask_question",
    "unsure",
    "goodbye",
)

# The objections every script must answer (intent names shared by both languages).
REQUIRED_OBJECTIONS = (
    "busy_now",
    "not_interested",
    "already_have_one",
    "too_expensive",
    "who_are_you",
    "how_got_number",
    "remove_me",
)

# Node kinds every script must have at least one of.
REQUIRED_KINDS = (
    NodeKind.OPENING,
    NodeKind.DISCOVERY,
    NodeKind.QUALIFY,
    NodeKind.BOOKING,
    NodeKind.CLOSING,
    NodeKind.GOODBYE,
    NodeKind.DISCLOSURE,
    NodeKind.DO_NOT_CALL,
    NodeKind.WRONG_PERSON,
    NodeKind.VOICEMAIL,
    NodeKind.HANDOFF,
    NodeKind.REPROMPT,
    NodeKind.CLARIFY,
)


@dataclass(slots=True)
class VariantStats:
    """How often a variant was said and how often the call it was said in converted (mutable: mining)."""

    uses: int = 0
    conversions: int = 0


@dataclass(slots=True)
class Variant:
    """One way to say a node's line (or to answer a FAQ question), with its track record."""

    id: str  # unique within the script, e.g. "opening.v2"
    text: str
    stats: VariantStats = field(default_factory=VariantStats)
    author: str = ""  # the sales rep it was learned from ("gold seller"), if any
    source_line: int = 0  # YAML line, for error messages


@dataclass(frozen=True, slots=True)
class Intent:
    """A customer intent: regular-expression patterns (fast path) and example phrasings (embedding path)."""

    name: str
    patterns: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(slots=True)
class Node:
    id: str
    kind: NodeKind
    variants: list[Variant]
    expect: Expect = Expect.NOTHING
    signal: Signal | None = None  # QUALIFY nodes only
    intent: str | None = None  # OBJECTION nodes: the customer intent they answer
    # Where to go next: by the customer's intent ("yes", "no", "interested", ...), else `next`.
    on: dict[str, str] = field(default_factory=dict)
    next: str | None = None
    reprompts: list[Variant] = field(default_factory=list)  # node-specific "no input / no match" lines
    source_line: int = 0


@dataclass(slots=True)
class FaqEntry:
    """A customer question with its similar phrasings (相似问法) and several answers (一问多答)."""

    id: str
    question: str
    similar: list[str]
    answers: list[Variant]
    source_line: int = 0


@dataclass(slots=True)
class Script:
    id: str  # e.g. "insurance-en"
    industry: str  # e.g. "insurance"
    language: str  # "en" or "zh"
    title: str
    company: str  # default `{company}`
    product: str  # default `{product}`
    start: str  # id of the opening node
    nodes: dict[str, Node]
    intents: dict[str, Intent]  # built-in intents of the language merged with the script's own
    faq: list[FaqEntry]
    path: str = ""  # the YAML file it came from

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f"script {self.id}: no node {node_id!r}") from None

    def nodes_of(self, kind: NodeKind) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def objection_for(self, intent: str) -> Node | None:
        for n in self.nodes.values():
            if n.kind == NodeKind.OBJECTION and n.intent == intent:
                return n
        return None

    def variants(self) -> list[Variant]:
        """Every variant of every node and FAQ answer (mining and recommendation walk these)."""
        out = [v for n in self.nodes.values() for v in (*n.variants, *n.reprompts)]
        out += [a for f in self.faq for a in f.answers]
        return out
