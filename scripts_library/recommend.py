"""Recommendation: what the best reps answer to what the customer just said (gold-seller answers, 一问多答).

The library is cut into entries, each a "question side" (texts the customer's words are matched against)
and its answers (live `Variant`s, whose stats mining updates in place):

- faq: a FAQ question and its similar phrasings (相似问法) → that FAQ's answers;
- objection: an OBJECTION node's intent examples plus its own lines → its variants;
- node: any other node's lines → its variants ("what do the best reps say at this node").

Ranking an entry: relevance = w·cosine + (1 - w)·BM25 coverage (w is lower for Mandarin, which the English
MiniLM model reads poorly), best over the entry's texts; plus a small boost for entries tied to the current
node (the node itself and the targets of its `on` map, FAQ ids included); minus a small penalty for node
entries (their texts are the rep's words, not the customer's). Within an entry answers are ranked by a Beta
posterior of their conversion rate whose prior is the script's mean rate, drawn by Thompson sampling with a
seeded generator (a new variant gets a fair chance), or by the posterior mean when `explore=False`.

Entry texts are embedded once at build time, per (industry, language) shard; a query encodes the utterance
once and scores each shard with one matrix-vector product and one sparse BM25 pass.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from scripts_library.bm25 import Bm25Index, Scores, tokenize
from scripts_library.embeddings import TextEncoder, Vectors
from scripts_library.schema import LANGUAGES, FaqEntry, Intent, Node, NodeKind, Script, Variant, VariantStats

__all__ = ["EntryKind", "RankWeights", "Recommendation", "Recommender", "synthetic_library"]

EntryKind = Literal["faq", "objection", "node"]
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One answer of one matched entry. Answers of one entry come together, best entry first.

    `score` is the entry's ranking score (relevance plus boosts, the same for its answers); `conversion` is
    this answer's smoothed (posterior mean) conversion rate.
    """

    answer: Variant
    entry_id: str
    entry_kind: EntryKind
    question: str  # the entry's canonical question (a node entry: the node id)
    similar_questions: list[str]
    score: float
    reason: str
    script_id: str = ""
    conversion: float = 0.0


@dataclass(frozen=True, slots=True)
class RankWeights:
    # Share of cosine in relevance; the rest is BM25 coverage. Tuned on a small hand-made paraphrase set with
    # MiniLM: English paraphrases need the model (BM25 breaks ties, catches exact product terms); for Mandarin
    # the English model adds little over character n-gram BM25.
    cosine_en: float = 0.85
    cosine_zh: float = 0.3
    tie_boost: float = 0.1  # entries tied to the current node
    node_penalty: float = 0.05  # node entries match the rep's words, not the customer's
    prior_strength: float = 10.0  # pseudo-uses of the script's mean rate in each answer's Beta prior


@dataclass(frozen=True, slots=True)
class _Entry:
    entry_id: str
    kind: EntryKind
    script: Script
    source_id: str  # the FAQ or node id within the script
    question: str
    similar: tuple[str, ...]
    answers: tuple[Variant, ...]
    texts: tuple[str, ...]  # the question side, placeholders filled


@dataclass(frozen=True, slots=True)
class _Hit:
    entry: _Entry
    score: float
    relevance: float
    matched: str  # "" when there was no utterance to match
    tied: bool


def _plain(text: str, script: Script) -> str:
    """Fill the placeholders the script knows; drop the rest (they are per-call values)."""
    known = {"company": script.company, "product": script.product}
    return " ".join(_PLACEHOLDER.sub(lambda m: known.get(m.group(1), ""), text).split())


def _texts(script: Script, texts: Sequence[str]) -> tuple[str, ...]:
    return tuple(p for p in (_plain(t, script) for t in texts) if p)


def _faq_entry(script: Script, faq: FaqEntry) -> _Entry:
    texts = _texts(script, (faq.question, *faq.similar))
    return _Entry(
        f"{script.id}:faq:{faq.id}", "faq", script, faq.id, faq.question, tuple(faq.similar), tuple(faq.answers), texts
    )


def _objection_entry(script: Script, node: Node) -> _Entry:
    intent = script.intents.get(node.intent or "", Intent(node.intent or node.id))
    examples = [e for e in intent.examples if e.strip()]
    question = examples[0] if examples else intent.name.replace("_", " ")
    texts = _texts(script, (*examples, *(v.text for v in node.variants)))
    eid = f"{script.id}:objection:{node.id}"
    return _Entry(eid, "objection", script, node.id, question, tuple(examples[1:]), tuple(node.variants), texts)


def _node_entry(script: Script, node: Node) -> _Entry:
    texts = _texts(script, [v.text for v in node.variants])
    return _Entry(f"{script.id}:node:{node.id}", "node", script, node.id, node.id, (), tuple(node.variants), texts)


def _entries_of(script: Script) -> list[_Entry]:
    """Every entry of a script that has both texts to match and answers to give."""
    out = [_faq_entry(script, f) for f in script.faq]
    for node in script.nodes.values():
        if node.kind == NodeKind.OBJECTION:
            out.append(_objection_entry(script, node))
        else:
            out.append(_node_entry(script, node))
    return [e for e in out if e.texts and e.answers]


class _Shard:
    """The entries of one (industry, language): their text embeddings, BM25 index and node ties."""

    def __init__(self, entries: list[_Entry], vectors: Vectors, weights: RankWeights) -> None:
        self.entries = entries
        self.language = entries[0].script.language
        self.texts = [t for e in entries for t in e.texts]
        self.starts = np.cumsum([0, *(len(e.texts) for e in entries[:-1])]).astype(np.intp)
        self.vectors = vectors
        self.bm25 = Bm25Index([tokenize(t) for t in self.texts])
        self.adjust = np.array([-weights.node_penalty if e.kind == "node" else 0.0 for e in entries], np.float32)
        self.tied = _ties(entries)
        question_ids: dict[tuple[str, str], int] = {}
        self.keys = np.array([question_ids.setdefault(_question_key(e), len(question_ids)) for e in entries])
        self.cosine_share = weights.cosine_zh if self.language == "zh" else weights.cosine_en

    def rank(self, query: Vectors | None, tokens: list[str], node_id: str | None, k: int, boost: float) -> list[_Hit]:
        rows = self._relevance(query, tokens)
        relevance = np.maximum.reduceat(rows, self.starts)
        score = relevance + self.adjust
        tied = self.tied.get(node_id or "")
        if tied is not None:
            score[tied] += boost
        top = self._top_distinct(score, k)
        return [self._hit(int(i), rows, float(score[i]), float(relevance[i]), tied, query is not None) for i in top]

    def _top_distinct(self, score: Scores, k: int) -> npt.NDArray[np.intp]:
        """Indices of the k best entries with distinct questions (several scripts may ask the same one)."""
        m = min(4 * k, len(score))
        order = np.argpartition(-score, m - 1)[:m]
        order = order[np.argsort(-score[order], kind="stable")]
        if m < len(score) and len(np.unique(self.keys[order])) < k:
            order = np.argsort(-score, kind="stable")  # rare: many copies of one question rank on top
        _, first = np.unique(self.keys[order], return_index=True)
        picked: npt.NDArray[np.intp] = order[np.sort(first)[:k]]
        return picked

    def _relevance(self, query: Vectors | None, tokens: list[str]) -> Scores:
        if query is None:
            return np.zeros(len(self.texts), dtype=np.float32)
        cosine: Scores = self.vectors @ query
        lexical = self.bm25.coverage(tokens)
        out: Scores = self.cosine_share * cosine + (1.0 - self.cosine_share) * lexical
        return out

    def _hit(
        self, i: int, rows: Scores, score: float, relevance: float, tied: npt.NDArray[np.intp] | None, matched: bool
    ) -> _Hit:
        start = int(self.starts[i])
        best = start + int(np.argmax(rows[start : start + len(self.entries[i].texts)]))
        is_tied = tied is not None and bool(np.any(tied == i))
        return _Hit(self.entries[i], score, relevance, self.texts[best] if matched else "", is_tied)


def _ties(entries: list[_Entry]) -> dict[str, npt.NDArray[np.intp]]:
    """node id → indices of the entries tied to it: the node's own entry and its `on` targets (FAQ ids too)."""
    index = {(e.script.id, e.source_id): i for i, e in enumerate(entries)}
    ties: dict[str, set[int]] = {}
    for script in {id(e.script): e.script for e in entries}.values():
        for node in script.nodes.values():
            for target in (node.id, *node.on.values()):
                i = index.get((script.id, target))
                if i is not None:
                    ties.setdefault(node.id, set()).add(i)
    return {n: np.array(sorted(ix), dtype=np.intp) for n, ix in ties.items()}


class Recommender:
    """Built once from the scripts (encodes every entry text: MiniLM ≈ 2 to 8 ms per text on one core).

    Rebuild after scripts are reloaded; stats changes need no rebuild (answers are the live variants).
    `recommend` is thread-safe but CPU-bound: call it from an executor, never on the event loop.
    """

    def __init__(
        self,
        scripts: Sequence[Script],
        encoder: TextEncoder,
        *,
        weights: RankWeights | None = None,
        seed: int = 0,
        explore: bool = True,
    ) -> None:
        self._encoder = encoder
        self._weights = weights or RankWeights()
        if self._weights.prior_strength <= 0:
            raise ValueError(f"prior_strength: expected > 0, got {self._weights.prior_strength}")
        self._explore = explore
        self._rng = np.random.default_rng(seed)
        self._rng_lock = threading.Lock()
        self._variants = {s.id: tuple(s.variants()) for s in scripts}
        groups: dict[tuple[str, str], list[_Entry]] = {}
        for script in scripts:
            if script.language not in LANGUAGES:
                raise ValueError(f"script {script.id}: language: expected one of {LANGUAGES}, got {script.language!r}")
            groups.setdefault((script.industry, script.language), []).extend(_entries_of(script))
        groups = {key: entries for key, entries in groups.items() if entries}
        vectors = _encode_unique(encoder, [t for es in groups.values() for e in es for t in e.texts])
        self._shards: dict[tuple[str, str], _Shard] = {}
        for key, entries in groups.items():
            rows = np.stack([vectors[t] for e in entries for t in e.texts]).astype(np.float32)
            self._shards[key] = _Shard(entries, rows, self._weights)

    @property
    def entry_count(self) -> int:
        return sum(len(s.entries) for s in self._shards.values())

    def recommend(
        self,
        utterance: str,
        *,
        node_id: str | None,
        industry: str | None,
        language: str,
        k: int = 3,
        answers_per_entry: int = 3,
    ) -> list[Recommendation]:
        """Up to `k` distinct questions, each with up to `answers_per_entry` answers, grouped, best first.

        `industry=None` searches every industry of the language. A blank utterance returns only the entries
        tied to `node_id` (the node's own lines, its `on` targets).
        """
        if language not in LANGUAGES:
            raise ValueError(f"language: expected one of {LANGUAGES}, got {language!r}")
        shards = [s for (ind, lang), s in self._shards.items() if lang == language and industry in (None, ind)]
        if not shards or k <= 0:
            return []
        text = utterance.strip()
        query = self._encoder.encode([text])[0] if text else None
        tokens = tokenize(text)
        # The same question asked by several scripts (or industries) shows once, with its best entry's answers.
        hits = [h for s in shards for h in s.rank(query, tokens, node_id, k, self._weights.tie_boost)]
        if query is None:
            hits = [h for h in hits if h.tied]  # nothing to match: only what belongs to this node
        rates: dict[str, float] = {}
        return [rec for hit in _distinct(hits, k) for rec in self._answers(hit, answers_per_entry, rates)]

    def script_rate(self, script_id: str) -> float:
        """The script's conversion rate over all its variants' uses, Laplace-smoothed (0.5 with no data)."""
        variants = self._variants[script_id]
        uses = sum(v.stats.uses for v in variants)
        return (sum(v.stats.conversions for v in variants) + 1) / (uses + 2)

    def _answers(self, hit: _Hit, n: int, rates: dict[str, float]) -> list[Recommendation]:
        entry = hit.entry
        sid = entry.script.id
        if sid not in rates:
            rates[sid] = self.script_rate(sid)
        ranked = self._rank_answers(entry.answers, rates[sid])[: max(n, 0)]
        return [
            Recommendation(
                answer=v,
                entry_id=entry.entry_id,
                entry_kind=entry.kind,
                question=entry.question,
                similar_questions=list(entry.similar),
                score=hit.score,
                reason=_reason(hit, v.stats, mean),
                script_id=sid,
                conversion=mean,
            )
            for v, mean in ranked
        ]

    def _rank_answers(self, answers: Sequence[Variant], prior_rate: float) -> list[tuple[Variant, float]]:
        s = self._weights.prior_strength
        alpha = np.array([prior_rate * s + v.stats.conversions for v in answers], dtype=np.float64)
        beta = np.array([(1 - prior_rate) * s + max(v.stats.uses - v.stats.conversions, 0) for v in answers])
        mean = alpha / (alpha + beta)
        if self._explore:
            with self._rng_lock:
                key = self._rng.beta(alpha, beta)
        else:
            key = mean
        order = sorted(range(len(answers)), key=lambda i: (-float(key[i]), i))
        return [(answers[i], float(mean[i])) for i in order]


def _question_key(entry: _Entry) -> tuple[str, str]:
    return entry.kind, " ".join(entry.question.casefold().split())


def _distinct(hits: list[_Hit], k: int) -> list[_Hit]:
    """The k best hits, keeping only the best of those that ask the same question (same kind, same words)."""
    seen: set[tuple[str, str]] = set()
    out: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (-h.score, h.entry.entry_id)):
        key = _question_key(hit.entry)
        if key not in seen:
            seen.add(key)
            out.append(hit)
            if len(out) == k:
                break
    return out


def _encode_unique(encoder: TextEncoder, texts: list[str]) -> dict[str, Vectors]:
    unique = list(dict.fromkeys(texts))
    if not unique:
        return {}
    matrix = encoder.encode(unique)
    return {t: matrix[i] for i, t in enumerate(unique)}


def _reason(hit: _Hit, stats: VariantStats, mean: float) -> str:
    """E.g. "matches 'is it expensive?' (0.82) · current node · 31% conversion over 240 uses"."""
    matched = hit.matched if len(hit.matched) <= 60 else hit.matched[:57] + "..."
    parts = [f"matches '{matched}' ({hit.relevance:.2f})"] if hit.matched else []
    if hit.tied:
        parts.append("current node")
    if stats.uses:
        plural = "use" if stats.uses == 1 else "uses"
        parts.append(f"{stats.conversions / stats.uses:.0%} conversion over {stats.uses} {plural}")
    else:
        parts.append(f"new answer, not used yet (expected {mean:.0%})")
    return " · ".join(parts)


# --- A synthetic library for the benchmark: realistic entries, cloned across fake industries and products. ---

_INDUSTRIES = (
    ("solar", "solar panels", "太阳能板"),
    ("fitness", "gym membership", "健身卡"),
    ("dental", "dental plan", "牙科保险"),
    ("broadband", "broadband plan", "宽带套餐"),
    ("car-leasing", "car lease", "汽车租赁"),
    ("travel", "travel package", "旅游套餐"),
    ("language-school", "language course", "语言课程"),
    ("home-security", "alarm system", "安防系统"),
    ("pet-insurance", "pet insurance", "宠物保险"),
    ("accounting", "accounting software", "财务软件"),
    ("water", "water purifier", "净水器"),
    ("wealth", "savings plan", "理财计划"),
)
_MODIFIERS = (("", ""), ("basic ", "基础"), ("premium ", "高级"), ("family ", "家庭"), ("business ", "企业"))
_FAQ = {
    "en": (
        (
            "How much does the {p} cost?",
            "What's the price of the {p}?|Is the {p} expensive?|How much per month?",
            "Plans for the {p} start at twenty dollars a month.|Most people pay twenty to forty a month."
            "|It depends on what you need; I can quote you in two minutes.",
        ),
        (
            "Can I cancel the {p} anytime?",
            "Is there a contract?|What if I want to stop?|Am I locked in?",
            "Yes, you can cancel any month with no fee.|There is no long contract, just thirty days' notice.",
        ),
        (
            "Is there a free trial?",
            "Can I try the {p} first?|Do you offer a trial period?|Can I test it before paying?",
            "Yes, the first two weeks are free.|You can try it for fourteen days and cancel with one call.",
        ),
        (
            "What does the {p} include?",
            "What do I get?|What's covered?|What are the features?",
            "It includes setup, support and all updates.|Everything you need to start, and support whenever you call.",
        ),
        (
            "How soon can I start?",
            "When can you set it up?|How long does setup take?|How fast can I get the {p}?",
            "Most customers start within a week.|We can book the setup for this Thursday.",
        ),
        (
            "Do you have any discounts?",
            "Is there a promotion right now?|Any special offers?|Can I get a better deal?",
            "This month the first three months are half price.|If you sign up today I can add a loyalty discount.",
        ),
        (
            "How do I pay?",
            "Which payment methods do you take?|Can I pay by card?|Do you accept bank transfer?",
            "Card or direct debit, monthly or yearly.|Whatever suits you; yearly saves ten percent.",
        ),
        (
            "Is my data safe with you?",
            "Do you share my information?|How do you protect my details?|Is this secure?",
            "We never sell your data and everything is encrypted.|Your details stay with us and you can delete them.",
        ),
        (
            "Who is the {p} for?",
            "Is the {p} right for me?|Who usually buys this?|Is it suitable for families?",
            "Mostly families and small businesses like yours.|Anyone who wants to save time; happy to check your case.",
        ),
        (
            "What support do you offer?",
            "Can I call someone if there is a problem?|Do you have customer service?|What if something goes wrong?",
            "A real person answers seven days a week.|You get a named advisor.",
        ),
    ),
    "zh": (
        (
            "{p}多少钱？",
            "{p}贵不贵？|价格是多少？|每个月要交多少？",
            "{p}每月只要九十九元起。|大部分客户每月两三百元，看您的需求。",
        ),
        (
            "可以随时取消吗？",
            "要签合同吗？|不想用了怎么办？|有没有违约金？",
            "可以随时取消，没有手续费。|没有长期合同，提前一个月说就行。",
        ),
        (
            "有免费试用吗？",
            "能先试一下吗？|有体验期吗？|付钱之前可以试用{p}吗？",
            "前两周免费试用。|您可以先体验十四天，不满意随时退。",
        ),
        (
            "{p}包括什么？",
            "都有哪些服务？|保障范围是什么？|有什么功能？",
            "包括安装、售后和全部升级。|开始需要的都有，随时有人服务。",
        ),
        (
            "多久能开始？",
            "什么时候能安装？|开通要多长时间？|多快能用上{p}？",
            "一般一周内就能开通。|这周四就可以给您安排。",
        ),
        ("有优惠吗？", "最近有活动吗？|能便宜点吗？|有没有折扣？", "这个月前三个月半价。|今天办理可以再加老客户优惠。"),
        (
            "怎么付款？",
            "可以刷卡吗？|支持微信支付宝吗？|能按年付吗？",
            "微信、支付宝、银行卡都可以。|按年付能省百分之十。",
        ),
        (
            "我的信息安全吗？",
            "你们会泄露我的信息吗？|个人资料怎么保护？|安全吗？",
            "我们绝不出售您的信息，全程加密。|您的资料可以随时要求删除。",
        ),
        (
            "{p}适合谁？",
            "我适合用{p}吗？|一般什么人买？|适合家庭吗？",
            "主要是家庭和小企业客户。|想省心的人都适合，我帮您看看。",
        ),
        ("售后怎么样？", "出了问题找谁？|有客服吗？|坏了怎么办？", "每周七天都有真人客服。|会给您安排专属顾问。"),
    ),
}
_OBJECTIONS = {
    "en": (
        ("busy_now", "I'm busy right now|I can't talk now|I'm driving", "No problem, when is a better time to call?"),
        ("not_interested", "I'm not interested|No thanks|We don't need that", "I understand. May I ask one question?"),
        ("already_have_one", "I already have one|We have a provider|I'm covered", "Great, many clients compared us."),
        (
            "too_expensive",
            "That's too expensive|I can't afford it|It's too much",
            "I hear you; let's find a cheaper plan.",
        ),
        ("who_are_you", "Who are you?|Who is calling?|What company is this?", "I'm calling from {company} about {p}."),
        ("how_got_number", "How did you get my number?|Where did you get my details?", "You left it on our website."),
        ("remove_me", "Remove me from your list|Don't call me again|Stop calling", "Of course, I'll remove you now."),
    ),
    "zh": (
        ("busy_now", "我现在很忙|现在不方便|我在开车", "好的，您什么时候方便我再打给您？"),
        ("not_interested", "不感兴趣|不需要|不用了谢谢", "理解，能问您一个问题吗？"),
        ("already_have_one", "我已经有了|已经买过了|我们有合作的了", "很好，很多客户也是对比之后选了我们。"),
        ("too_expensive", "太贵了|买不起|价格太高", "理解，我们也有更实惠的{p}。"),
        ("who_are_you", "你是谁？|哪里打来的？|你们是什么公司？", "我是{company}的顾问，想跟您介绍{p}。"),
        ("how_got_number", "你怎么有我的电话？|我的号码哪来的？", "您之前在我们网站留过电话。"),
        ("remove_me", "别再给我打电话了|把我号码删掉|不要再打了", "好的，我马上把您的号码移除。"),
    ),
}
_NODES = {
    "en": (
        ("opening", NodeKind.OPENING, "Hi, this is an automated assistant from {company}; this call is recorded."),
        ("discovery", NodeKind.DISCOVERY, "What matters most to you when choosing a {p}?|How do you handle it today?"),
        ("budget", NodeKind.QUALIFY, "Roughly what monthly budget did you have in mind?"),
        ("booking", NodeKind.BOOKING, "Could an advisor call you tomorrow at ten?|Would Thursday afternoon work?"),
        ("closing", NodeKind.CLOSING, "Great, I'll send the details by text today."),
    ),
    "zh": (
        ("opening", NodeKind.OPENING, "您好，我是{company}的智能助理，本次通话会录音。"),
        ("discovery", NodeKind.DISCOVERY, "您选{p}最看重什么？|您现在是怎么解决的？"),
        ("budget", NodeKind.QUALIFY, "您大概每个月的预算是多少？"),
        ("booking", NodeKind.BOOKING, "明天上午十点让顾问给您回个电话可以吗？|周四下午方便吗？"),
        ("closing", NodeKind.CLOSING, "好的，我今天把资料短信发给您。"),
    ),
}


def synthetic_library(n_entries: int, seed: int = 0, *, n_industries: int = 10) -> list[Script]:
    """Scripts holding exactly `n_entries` recommender entries, alternating en/zh over `n_industries` fake
    industries (names repeat with a suffix past the 12 built in), products varied per script, seeded stats."""
    rng = random.Random(seed)
    scripts: list[Script] = []
    left, i = n_entries, 0
    while left > 0:
        script = _synthetic_script(i, rng, n_industries, left)
        left -= len(_entries_of(script))
        scripts.append(script)
        i += 1
    return scripts


def _synthetic_script(i: int, rng: random.Random, n_industries: int, limit: int) -> Script:
    language = LANGUAGES[i % 2]
    n = (i // 2) % n_industries
    cycle, (name, noun_en, noun_zh) = n // len(_INDUSTRIES), _INDUSTRIES[n % len(_INDUSTRIES)]
    mod = _MODIFIERS[(i // (2 * n_industries)) % len(_MODIFIERS)]
    product = mod[0] + noun_en if language == "en" else mod[1] + noun_zh
    vary = _Varier({"p": product, "company": "{company}"}, rng)
    intents = {it: Intent(it, examples=tuple(ex.split("|"))) for it, ex, _ in _OBJECTIONS[language]}
    nodes = {
        f"obj.{it}": Node(f"obj.{it}", NodeKind.OBJECTION, vary(f"obj.{it}", answers), intent=it)
        for it, _, answers in _OBJECTIONS[language]
    }
    nodes |= {node_id: Node(node_id, kind, vary(node_id, texts)) for node_id, kind, texts in _NODES[language]}
    faq = [
        FaqEntry(f"faq{j}", vary.fill(q), [vary.fill(t) for t in sim.split("|")], vary(f"faq{j}", answers))
        for j, (q, sim, answers) in enumerate(_FAQ[language])
    ]
    keep = list(nodes)[:limit]
    industry = name if cycle == 0 else f"{name}-{cycle}"
    return Script(
        id=f"synthetic-{i}-{industry}-{language}",
        industry=industry,
        language=language,
        title=f"{product} ({language})",
        company="Acme" if language == "en" else "安心公司",
        product=product,
        start="opening",
        nodes={k: nodes[k] for k in keep},
        intents=intents,
        faq=faq[: max(limit - len(keep), 0)],
    )


class _Varier:
    """Fills a template's `{p}` and makes seeded variants with plausible stats (0 to 300 uses, 2 to 40 %)."""

    def __init__(self, values: dict[str, str], rng: random.Random) -> None:
        self._values, self._rng = values, rng

    def fill(self, template: str) -> str:
        return template.format_map(self._values)

    def __call__(self, prefix: str, texts: str) -> list[Variant]:
        out = [Variant(f"{prefix}.v{j}", self.fill(t)) for j, t in enumerate(texts.split("|"))]
        for v in out:
            v.stats.uses = self._rng.randint(0, 300)
            v.stats.conversions = int(v.stats.uses * self._rng.uniform(0.02, 0.4))
        return out
