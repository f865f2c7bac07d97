"""Understanding one utterance: which intent, how sure, from what, and the slots (yes/no, time, amount).

Patterns first (the script's, compiled once with `compile_pattern`), then sentence embeddings of the intents'
examples (encoded once, at construction). The classifier holds no call state: build one per script and share
it across calls. `understand()` must stay within the 10 ms p95 decision budget: the encoder runs only when no
pattern fired, and MiniLM caches recent sentences.

Patterns alone misread three things, fixed here rather than in every script:
- negation: a positive intent matched right after "not", "don't", "never", 不, 没, 别 ... does not count; for
  `interested` and `yes` it counts as `not_interested` and `no` instead ("not really interested", "不太感兴趣");
- overlap: when several intents match, `PRIORITY` decides (remove_me > wrong_person > are_you_robot > ...);
  the generic answers `yes` and `no` rank last because they fire inside many other answers;
- sarcasm: a few cheap cues ("oh great, another sales call", "yeah right", 又是推销) mean `not_interested`;
- volunteered needs: cues such as "we need", "been meaning to", 一直想, 跟不上 mean `interested`, even with a
  generic "yeah" in the same breath (the labeling rule: interest wins over yes).

Mandarin uses the same machinery; its embedding path should be the character n-gram encoder (see
docs/dialogue.md for the measurement behind `default_encoder`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from dialogue.slots import Amount, TimeSlot, parse_amount, parse_time, parse_yes_no
from scripts_library.embeddings import HashedNgramEncoder, TextEncoder, Vectors, shared_minilm
from scripts_library.loader import compile_pattern
from scripts_library.schema import Expect, FaqEntry, Intent, Node, NodeKind, Script, Signal

Source = Literal["pattern", "embedding", "none"]

# Built-in intents by rank: the first that matches wins. A script's own intents rank after the objections.
PRIORITY = (
    "remove_me",
    "wrong_person",
    "are_you_robot",
    "want_human",
    "call_me_later",
    "goodbye",
    "how_got_number",
    "who_are_you",
    "busy_now",
    "already_have_one",
    "too_expensive",
    "not_interested",
    # ... a script's own intents go here
    "ask_price",
    "repeat_please",
    "ask_question",
    "unsure",
    "interested",
    "no",
    "yes",
)
_GENERIC_FROM = PRIORITY.index("ask_price")
SAFETY = ("remove_me", "wrong_person")
# Intents whose match is void after a negation cue, and what the negated form means (None: nothing).
NEGATED: dict[str, str | None] = {
    "interested": "not_interested",
    "yes": "no",
    "already_have_one": None,
    "too_expensive": None,
    "busy_now": None,
    "want_human": None,
    "call_me_later": None,
    "ask_price": None,
}
_NEGATION_CUE = {
    "en": r"(?:\b(?:not|never|hardly|without|dont|cant|wont)\b|n't|\bno\b(?! problem| worries| doubt))",
    # 不错 (not bad), 没问题 (no problem), 不好意思 (sorry), 无论 (whatever) are not negations
    "zh": r"(?:不(?!错|客气|好意思)|没(?!问题|关系|事)|别|未|无(?!论)|無)",
}
_NEGATION_ANY = {lang: re.compile(cue, re.I) for lang, cue in _NEGATION_CUE.items()}
_NEGATION_BEFORE = {
    # the cue, then at most two words, right before the match: "not really interested", "don't have one"
    "en": re.compile(_NEGATION_CUE["en"] + r"(?:\s+[\w']+){0,2}\s*$", re.I),
    # the cue, then at most two characters, no punctuation between: "不太感兴趣", "没什么兴趣"
    "zh": re.compile(_NEGATION_CUE["zh"] + r"[^，。！？,.!?\s]{0,2}$"),
}
SARCASM = {
    "en": tuple(
        re.compile(p, re.I)
        for p in (
            r"\b(?:oh|ah|wow|just)\W*\s*(?:great|wonderful|perfect|fantastic|lovely|brilliant|marvell?ous)\b.{0,40}"
            r"\b(?:another|more|again|exactly what)\b",
            r"\byeah,? right\b",
            r"\bjust what i (?:needed|wanted)\b",
            r"\b(?:yet )?another (?:sales|robo|telemarketing|marketing|spam|cold) ?calls?\b",
            r"\bsure,? because i (?:have|'ve got|got) (?:all day|nothing better)",
            r"\bas if\b",
            r"\bthanks for (?:interrupting|ruining|calling during)\b",
        )
    ),
    "zh": tuple(
        re.compile(p)
        for p in (
            r"又(?:是|来|打)[^，。！？,.!?]{0,4}(?:推销|广告|骚扰)",
            r"(?:真是|可真|真)太好了.{0,8}又",
            r"呵呵",
            r"谢谢(?:你|您)?(?:啊|呀)?.{0,4}打扰",
            r"我(?:可|真)?(?:太|好)需要了(?:呢|啊)?[。.!！]*$",
        )
    ),
}
# A need or wish volunteered ("we've been meaning to look at term life", "孩子英语一直跟不上") is interest, even
# when a generic "yeah" comes with it. Ranked after `unsure` ("not sure we need it") and the objections.
NEED_CUES = {
    "en": (
        r"(?:we|i)(?:'d| would)? (?:really |definitely |actually )?(?:need|want)(?! to (?:go|think|check|ask|talk))",
        r"looking (?:for|at|into)|(?:been )?meaning to|could (?:really )?use|(?:the )?sooner the better",
        r"(?:been )?(?:thinking|talking|wondering) about|should (?:really )?(?:get|have|sort)",
        r"sort (?:that|it|this) out|need (?:it|one|this|that|something|some)",
        r"a mess|a disaster|a nightmare|piling up|all over the place|isn'?t cutting it|get(?:s|ting)? lost",
    ),
    "zh": (
        r"(?<!想)想(?!想|一想|了想|问)|需要|打算|正在(?:找|看)|一直(?:想|在找)|有这个(?:想法|打算|需求)",
        r"跟不上|不及格|老是|头疼|担心|越快越好|(?:正好|正|一直)在(?:看|找)",
    ),
}
# An answering machine's greeting, as the recognizer writes it (the engine listens for it in the first turns).
MACHINE_CUES = {
    "en": re.compile(
        r"\b(?:voice ?mail|leave (?:a|your) (?:message|name)|after the (?:tone|beep)|you'?ve reached)\b", re.I
    ),
    "zh": re.compile(r"留言|提示音|语音信箱|您拨打的(?:电话|用户)"),
}
PATTERN_SCORE, SARCASM_SCORE = 0.95, 0.9
YES_NO_MAX_WORDS = {"en": 6, "zh": 8}  # longer replies: yes/no comes from the intent only
POLARITY = {"yes": True, "interested": True, "no": False, "not_interested": False}
# Intents a slot outranks: generic answers and questions, not objections or exits.
GENERIC = (None, "yes", "no", "interested", "unsure", "ask_price", "ask_question", "call_me_later")
APPOINTMENT_PRECISION = ("minute", "hour", "part_of_day")  # vaguer times ("next month") answer "how soon?"

# Embedding acceptance by encoder: (cosine threshold, margin over the best other intent), chosen on the shipped
# intents' examples, leave-one-out, with 25 off-topic answers per language that must stay unclassified
# (docs/dialogue.md). Hashed n-grams of unrelated sentences share many grams: the margin does the work.
THRESHOLDS: dict[str, tuple[float, float]] = {
    "MiniLmEncoder": (0.60, 0.03),
    "HashedNgramEncoder": (0.45, 0.10),
}
_DEFAULT_THRESHOLD = (0.6, 0.05)


@dataclass(frozen=True, slots=True)
class Slots:
    yes_no: bool | None = None
    time: TimeSlot | None = None
    amount: Amount | None = None


@dataclass(frozen=True, slots=True)
class Understanding:
    intent: str | None
    score: float  # 0..1: PATTERN_SCORE for a pattern, the cosine similarity for an embedding match
    source: Source
    slots: Slots = Slots()

    @property
    def polarity(self) -> bool | None:
        """Yes or no, from the yes/no slot, else from the intent ("interested" is a yes)."""
        return self.slots.yes_no if self.slots.yes_no is not None else POLARITY.get(self.intent or "")

    def answers_with_slot(self, node: Node) -> bool:
        """A time or amount where the question asks for one is the answer, whatever generic intent came with it
        ("about 50 a month" reads as ask_price, "明天下午三点" as call_me_later)."""
        if node.kind == NodeKind.OBJECTION or self.intent not in GENERIC:
            return False
        wanted = reads(node)
        return (wanted == Expect.TIME and self.slots.time is not None) or (
            wanted == Expect.AMOUNT and self.slots.amount is not None
        )

    def offers_appointment(self, node: Node) -> bool:
        """A time this precise ("Tuesday at two", "周六上午") at a question that asks for no time is a meeting
        proposed (the engine books it for a lead who showed interest); "call me at 3" asks for a callback."""
        slot = self.slots.time
        return (
            slot is not None
            and slot.precision in APPOINTMENT_PRECISION
            and self.intent in GENERIC
            and self.intent != "call_me_later"
            and node.kind != NodeKind.OBJECTION
        )

    def usable_for(self, node: Node) -> bool:
        """Whether this answers `node`'s question: open questions take anything, others an intent or their slot."""
        if node.expect in (Expect.FREE, Expect.NOTHING) or self.intent is not None:
            return True
        wanted = {Expect.YES_NO: self.slots.yes_no, Expect.TIME: self.slots.time, Expect.AMOUNT: self.slots.amount}
        return wanted[node.expect] is not None


def reads(node: Node) -> Expect:
    """Which slots to read from a reply to `node` (what counts as an answer still follows `node.expect`)."""
    if node.signal == Signal.TIMELINE or (node.kind == NodeKind.OBJECTION and node.intent == "busy_now"):
        return Expect.TIME  # "how soon?", "when would be better?"
    if node.kind == NodeKind.QUALIFY and node.expect == Expect.FREE:
        return Expect.YES_NO  # "do you decide this alone?" is often answered yes or no
    return node.expect


def route_for(node: Node, u: Understanding) -> str | None:
    """The node's own route for this reply (`on`): by intent, else by its yes/no meaning."""
    if u.intent is not None and u.intent in node.on:
        return node.on[u.intent]
    polarity = u.polarity if u.intent in (None, "yes", "no", "interested") else None
    if polarity is not None:
        return node.on.get("yes" if polarity else "no")
    return None


def next_after(node: Node, u: Understanding | None) -> str | None:
    """Where the flow goes after `node`: its route for the reply, else `next`, else its first route."""
    target = route_for(node, u) if u is not None else None
    return target or node.next or next(iter(node.on.values()), None)


def default_encoder(language: str) -> TextEncoder:
    """MiniLM for English; character n-grams for Mandarin (the English MiniLM does worse there: measured)."""
    return shared_minilm() if language == "en" else HashedNgramEncoder()


def normalise(text: str) -> str:
    """NFKC (full-width Latin and digits to ASCII), curly quotes to straight, spaces collapsed, lower case."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split()).lower()


class _ExampleIndex:
    """Encoded example sentences with their labels; `best()` is the top match per label."""

    def __init__(self, encoder: TextEncoder, labelled: Sequence[tuple[str, str]]) -> None:
        self.encoder = encoder
        self.labels = [label for label, _ in labelled]
        texts = [normalise(text) for _, text in labelled]
        self._matrix: Vectors = encoder.encode(texts) if texts else np.zeros((0, encoder.dim), np.float32)

    def ranked(self, text: str) -> list[tuple[str, float]]:
        """(label, best cosine) for every label, best first."""
        if not self.labels:
            return []
        sims = self._matrix @ self.encoder.encode([normalise(text)])[0]
        best: dict[str, float] = {}
        for label, sim in zip(self.labels, sims.tolist(), strict=True):
            if sim > best.get(label, -1.0):
                best[label] = sim
        return sorted(best.items(), key=lambda kv: -kv[1])


class IntentClassifier:
    def __init__(
        self,
        intents: Mapping[str, Intent],
        language: str,
        encoder: TextEncoder | None,
        *,
        threshold: float | None = None,
        margin: float | None = None,
    ) -> None:
        """`encoder` None: patterns only. `threshold`/`margin` default to the measured `THRESHOLDS`."""
        if language not in _NEGATION_BEFORE:
            raise ValueError(f"expected language en or zh, got {language!r}")
        self.language = language
        self.encoder = encoder
        self.intents = dict(intents)
        known = [n for n in PRIORITY if n in intents]
        custom = sorted(n for n in intents if n not in PRIORITY)
        cut = sum(1 for n in known if PRIORITY.index(n) < _GENERIC_FROM)
        order = [*known[:cut], *custom, *known[cut:]]
        compiled = [(n, [compile_pattern(p, language) for p in intents[n].patterns]) for n in order]
        self._safety = [c for c in compiled if c[0] in SAFETY]  # outrank the sarcasm cues
        self._rest = [c for c in compiled if c[0] not in SAFETY]
        if "interested" in intents:
            at = next(i for i, c in enumerate(self._rest) if c[0] == "interested")
            self._rest.insert(at, ("interested", [compile_pattern(p, language) for p in NEED_CUES[language]]))
        default = THRESHOLDS.get(type(encoder).__name__, _DEFAULT_THRESHOLD)
        self.threshold = default[0] if threshold is None else threshold
        self.margin = default[1] if margin is None else margin
        examples = [(n, e) for n in order for e in intents[n].examples]
        self._index = _ExampleIndex(encoder, examples) if encoder is not None else None

    def understand(self, text: str, expect: Expect = Expect.FREE, now: datetime | None = None) -> Understanding:
        """Intent and slots of one utterance; `now` (lead-local, tz-aware) is needed to read times."""
        norm = normalise(text)
        if not norm:
            return Understanding(None, 0.0, "none")
        intent, score, source = self.classify(norm)
        return Understanding(intent, score, source, self._slots(text, intent, expect, now))

    def classify(self, text: str) -> tuple[str | None, float, Source]:
        """Intent only, patterns then embeddings."""
        norm = normalise(text)
        hit = self._match_patterns(norm)
        return (hit[0], hit[1], "pattern") if hit is not None else self._embed(norm)

    def _embed(self, norm: str) -> tuple[str | None, float, Source]:
        if self._index is None:
            return None, 0.0, "none"
        ranked = self._index.ranked(norm)
        if not ranked:
            return None, 0.0, "none"
        (best, s1), s2 = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
        if s1 < self.threshold or s1 - s2 < self.margin:
            return None, s1, "none"
        flipped = NEGATED.get(best)
        if flipped in self.intents and _NEGATION_ANY[self.language].search(norm) is not None:
            return flipped, s1, "embedding"  # "I am not that keen on it" lands near the positive examples
        return best, s1, "embedding"

    def sounds_like_machine(self, text: str) -> bool:
        """An answering machine's greeting ("you've reached ...", "请在提示音后留言"), not a person."""
        return MACHINE_CUES[self.language].search(normalise(text)) is not None

    def _match_patterns(self, norm: str) -> tuple[str, float] | None:
        hit = _first_match(self._safety, norm, self.language, self.intents)
        if hit is not None:
            return hit, PATTERN_SCORE
        if "not_interested" in self.intents and any(p.search(norm) for p in SARCASM[self.language]):
            return "not_interested", SARCASM_SCORE
        hit = _first_match(self._rest, norm, self.language, self.intents)
        return None if hit is None else (hit, PATTERN_SCORE)

    def _slots(self, text: str, intent: str | None, expect: Expect, now: datetime | None) -> Slots:
        """Yes/no only where one was asked and the reply is short (in a long answer a "don't" somewhere is no
        answer to the question). An amount and a time always: a budget or an appointment may be volunteered at
        any question; a time read from the amount's own words ("like two grand") is dropped."""
        short = _word_count(text, self.language) <= YES_NO_MAX_WORDS[self.language]
        yes_no = parse_yes_no(text, self.language) if expect == Expect.YES_NO and short else None
        if yes_no is None and intent in ("yes", "no"):
            yes_no = intent == "yes"
        amount = parse_amount(text, self.language)
        time = parse_time(text, self.language, now) if now is not None else None
        if time is not None and amount is not None and _overlap(text, time.text, amount.text):
            time = None  # "like two grand" is an amount, not 2 pm
        return Slots(yes_no, time, amount)


def _overlap(text: str, a: str, b: str) -> bool:
    """Whether two slots were read from overlapping words of `text` (each slot keeps the words it came from)."""
    low = text.lower()
    i, j = low.find(a.lower()), low.find(b.lower())
    return i >= 0 and j >= 0 and i < j + len(b) and j < i + len(a)


def _word_count(text: str, language: str) -> int:
    """Words in English; Han characters in Mandarin (no segmenter needed for a length check)."""
    return len(text.split()) if language == "en" else sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def _first_match(
    ordered: Sequence[tuple[str, Sequence[re.Pattern[str]]]], norm: str, language: str, intents: Mapping[str, Intent]
) -> str | None:
    """The first intent in rank order with a pattern that matches and is not negated (or its negated meaning)."""
    negation = _NEGATION_BEFORE[language]
    for name, patterns in ordered:
        for p in patterns:
            m = p.search(norm)
            if m is None:
                continue
            if name in NEGATED and negation.search(norm[: m.start()]):
                flipped = NEGATED[name]
                if flipped in intents:
                    return flipped
                continue
            return name
    return None


class FaqMatcher:
    """The FAQ entry whose question or similar phrasings (相似问法) is closest to a customer question."""

    def __init__(self, faq: Sequence[FaqEntry], encoder: TextEncoder | None, threshold: float | None = None) -> None:
        """`encoder` None: character n-grams (lexical, no model)."""
        enc = encoder if encoder is not None else HashedNgramEncoder()
        self._by_id = {f.id: f for f in faq}
        self._index = _ExampleIndex(enc, [(f.id, q) for f in faq for q in (f.question, *f.similar)])
        self.threshold = THRESHOLDS.get(type(enc).__name__, _DEFAULT_THRESHOLD)[0] if threshold is None else threshold

    def match(self, text: str) -> FaqEntry | None:
        ranked = self._index.ranked(text)
        if not ranked or ranked[0][1] < self.threshold:
            return None
        return self._by_id[ranked[0][0]]


# Words an agent uses when asking one of the qualification questions (for resuming after a takeover).
_QUESTION_CUES: dict[str, dict[Signal, re.Pattern[str]]] = {
    "en": {
        Signal.BUDGET: re.compile(r"\b(?:budget|spend|afford|price range)\b", re.I),
        Signal.AUTHORITY: re.compile(r"\b(?:decision|decide|decision[- ]maker|sign off|anyone else)\b", re.I),
        Signal.TIMELINE: re.compile(r"\b(?:how soon|timeline|time ?frame|by when|when (?:are|would|do) you)\b", re.I),
        Signal.CURRENT_PROVIDER: re.compile(r"\b(?:currently|current (?:provider|insurer|supplier|vendor))\b", re.I),
    },
    "zh": {
        Signal.BUDGET: re.compile(r"预算|花多少|能接受.{0,4}(?:价|钱)"),
        Signal.AUTHORITY: re.compile(r"决定|拍板|做主|说了算"),
        Signal.TIMELINE: re.compile(r"什么时候|多久|多快|时间(?:计划|安排)"),
        Signal.CURRENT_PROVIDER: re.compile(r"(?:现在|目前)(?:在)?(?:用|有|买)"),
    },
}
_ASKING_KINDS = (NodeKind.DISCOVERY, NodeKind.QUALIFY, NodeKind.BOOKING)
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
QUESTION_MATCH_THRESHOLD = 0.55  # hashed n-gram cosine between an agent's question and a node's line


class QuestionMatcher:
    """Which of the script's questions an agent just asked, so the robot does not ask it again after HandBack.

    Keyword cues per qualification signal first, then character n-gram similarity to the nodes' lines.
    """

    def __init__(self, script: Script) -> None:
        self._language = script.language
        nodes = [n for n in script.nodes.values() if n.kind in _ASKING_KINDS]
        self._by_signal = {n.signal: n for n in reversed(nodes) if n.signal is not None}
        self._by_id = {n.id: n for n in nodes}
        lines = [(n.id, _PLACEHOLDER.sub(" ", v.text)) for n in nodes for v in n.variants]
        self._index = _ExampleIndex(HashedNgramEncoder(), lines)

    def match(self, text: str) -> Node | None:
        for signal, cue in _QUESTION_CUES[self._language].items():
            if signal in self._by_signal and cue.search(text):
                return self._by_signal[signal]
        ranked = self._index.ranked(text)
        if ranked and ranked[0][1] >= QUESTION_MATCH_THRESHOLD:
            return self._by_id[ranked[0][0]]
        return None
