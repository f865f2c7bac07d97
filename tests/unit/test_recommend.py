"""BM25 and the recommender, with the hashed n-gram encoder (and a blind one) standing in for MiniLM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from scripts_library.bm25 import Bm25Index, stem, tokenize
from scripts_library.embeddings import HashedNgramEncoder, Vectors
from scripts_library.mining import CallOutcome, Miner
from scripts_library.recommend import RankWeights, Recommendation, Recommender, synthetic_library
from scripts_library.schema import FaqEntry, Intent, Node, NodeKind, Script, Variant, VariantStats

pytestmark = pytest.mark.unit

# --- fixtures: small scripts built in code (the YAML library is someone else's and may change) ---


def var(vid: str, text: str, uses: int = 0, conversions: int = 0) -> Variant:
    return Variant(vid, text, VariantStats(uses, conversions))


def make_script(
    sid: str,
    industry: str,
    language: str,
    faq: list[FaqEntry],
    objections: dict[str, tuple[list[str], list[Variant]]],
    nodes: list[Node] | None = None,
) -> Script:
    all_nodes = {n.id: n for n in nodes or []}
    intents = {name: Intent(name, examples=tuple(ex)) for name, (ex, _) in objections.items()}
    for name, (_, answers) in objections.items():
        all_nodes[f"obj.{name}"] = Node(f"obj.{name}", NodeKind.OBJECTION, answers, intent=name)
    return Script(sid, industry, language, sid, "Acme", "cover", "opening", all_nodes, intents, faq)


def insurance_en() -> Script:
    faq = [
        FaqEntry(
            "price",
            "How much is the premium?",
            ["What does it cost per month?", "Is it expensive?", "What's the price?"],
            [
                var("price.a", "Plans start at twenty dollars a month."),
                var("price.b", "Most families pay about forty."),
            ],
        ),
        FaqEntry(
            "cancel",
            "Can I cancel the policy anytime?",
            ["Is there a contract?", "Am I locked in?"],
            [var("cancel.a", "Yes, cancel any month, no fee."), var("cancel.b", "Thirty days' notice is all.")],
        ),
        FaqEntry(
            "claims",
            "How do I make a claim?",
            ["How fast do you pay claims?", "What if I need to claim?"],
            [var("claims.a", "One call or the app; most claims pay in five days.")],
        ),
    ]
    objections = {
        "too_expensive": (
            ["That's too expensive", "I can't afford it"],
            [var("te.a", "I hear you; a basic plan is half the price."), var("te.b", "What budget would work?")],
        ),
        "busy_now": (["I'm busy right now", "I'm driving"], [var("busy.a", "No problem, when should I call back?")]),
        "who_are_you": (["Who are you?", "Who is calling?"], [var("who.a", "I'm calling from {company}.")]),
    }
    nodes = [
        Node("opening", NodeKind.OPENING, [var("open.a", "Hi, this is {agent_name} from {company}.")], next="budget"),
        Node(
            "budget",
            NodeKind.QUALIFY,
            [
                var("budget.a", "What monthly budget did you have in mind?"),
                var("budget.b", "Roughly how much a month?"),
            ],
            on={"too_expensive": "obj.too_expensive", "ask_price": "price"},
        ),
        Node("booking", NodeKind.BOOKING, [var("book.a", "Could an advisor call you tomorrow at ten?")]),
    ]
    return make_script("insurance-en", "insurance", "en", faq, objections, nodes)


def insurance_zh() -> Script:
    faq = [
        FaqEntry("price", "保费多少钱？", ["贵不贵？", "每个月交多少钱？"], [var("zp.a", "每月九十九元起。")]),
        FaqEntry("cancel", "可以随时退保吗？", ["要签长期合同吗？", "不想要了怎么办？"], [var("zc.a", "随时可以退。")]),
        FaqEntry(
            "claims", "怎么理赔？", ["理赔要多久？", "出险了找谁？"], [var("zl.a", "打电话或用小程序，五天到账。")]
        ),
    ]
    objections = {"busy_now": (["我现在很忙", "在开车"], [var("zb.a", "好的，您什么时候方便？")])}
    return make_script("insurance-zh", "insurance", "zh", faq, objections)


def education_en() -> Script:
    faq = [
        FaqEntry(
            "price",
            "How much is the course?",
            ["Is it expensive?", "What are the fees?"],
            [var("edu.price.a", "The course is 300 dollars, payable monthly.")],
        ),
        FaqEntry("online", "Is the course online?", ["Can I study from home?"], [var("edu.online.a", "Yes, fully.")]),
    ]
    return make_script("education-en", "education", "en", faq, {})


class BlindEncoder:
    """Every text gets the same vector: cosine cannot tell entries apart, only BM25 can."""

    dim = 8

    def encode(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out


class CountingEncoder(HashedNgramEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        return super().encode(texts)


def library() -> list[Script]:
    return [insurance_en(), insurance_zh(), education_en()]


def entries(recs: list[Recommendation]) -> list[str]:
    return list(dict.fromkeys(r.entry_id for r in recs))


# --- BM25 ---


def test_stem_meets_inflections() -> None:
    assert stem("prices") == stem("priced") == stem("pricing") == stem("price")
    assert stem("claims") == stem("claim")
    assert stem("policies") == stem("policy")
    assert stem("is") == "is" and stem("business") == "business"


def test_tokenize_english_mandarin_and_mixed() -> None:
    assert tokenize("Is it EXPENSIVE?") == ["is", "it", "expensiv"]
    assert tokenize("理赔吗") == ["理", "赔", "吗", "理赔", "赔吗"]
    mixed = tokenize("这个 plan 贵吗")
    assert {"这个", "plan", "贵", "贵吗"} <= set(mixed)
    assert "个p" not in mixed  # no bigram across a space or a script change


def test_bm25_rare_term_outranks_common_and_absent_scores_zero() -> None:
    docs = [tokenize(t) for t in ("the price of the plan", "the plan", "the claim", "cancel the plan")]
    index = Bm25Index(docs)
    scores = index.scores(tokenize("price plan"))
    assert int(np.argmax(scores)) == 0
    assert scores[2] == 0.0
    assert index.idf(stem("price")) > index.idf("plan") > index.idf("the") > 0.0
    assert index.idf("unknown") == 0.0
    assert [i for i, _ in index.top(tokenize("claim"), 3)] == [2]


def test_bm25_repeated_query_terms_count_once_and_coverage_is_bounded() -> None:
    index = Bm25Index([tokenize(t) for t in ("how much is the premium", "cancel anytime", "premium premium plan")])
    np.testing.assert_allclose(index.scores(["premium"]), index.scores(["premium", "premium"]))
    coverage = index.coverage(tokenize("how much is the premium, um"))
    assert coverage.max() <= 1.0 and coverage.min() >= 0.0
    assert coverage[0] > 0.5 > coverage[2] > coverage[1] == 0.0


def test_bm25_handles_mandarin_without_a_segmenter() -> None:
    docs = [tokenize(t) for t in ("保费多少钱", "怎么理赔", "可以随时退保吗")]
    top = Bm25Index(docs).top(tokenize("理赔要多久"), 1)
    assert top[0][0] == 1


# --- recommender ---


def test_faq_match_returns_its_answers_similar_questions_and_reasons() -> None:
    rec = Recommender(library(), HashedNgramEncoder(), explore=False)
    out = rec.recommend("how fast do you pay a claim", node_id=None, industry="insurance", language="en")
    first = [r for r in out if r.entry_id == out[0].entry_id]
    assert out[0].entry_id == "insurance-en:faq:claims" and out[0].entry_kind == "faq"
    assert first[0].question == "How do I make a claim?"
    assert first[0].similar_questions == ["How fast do you pay claims?", "What if I need to claim?"]
    assert first[0].answer.id == "claims.a"
    assert "matches 'How fast do you pay claims?'" in first[0].reason
    assert all(r.reason and r.script_id == "insurance-en" for r in out)


def test_several_answers_per_question_grouped_by_entry() -> None:
    rec = Recommender(library(), HashedNgramEncoder(), explore=False)
    out = rec.recommend("is it expensive", node_id=None, industry="insurance", language="en", k=2, answers_per_entry=2)
    ids = [r.entry_id for r in out]
    assert len(entries(out)) == 2
    assert ids == sorted(ids, key=ids.index)  # each entry's answers are contiguous
    price = [r.answer.id for r in out if r.entry_id == "insurance-en:faq:price"]
    assert sorted(price) == ["price.a", "price.b"]
    assert out[0].score >= out[-1].score


def test_filters_by_language_and_industry() -> None:
    rec = Recommender(library(), HashedNgramEncoder(), explore=False)
    zh = rec.recommend("is it expensive 贵不贵", node_id=None, industry="insurance", language="zh", k=5)
    assert zh and {r.script_id for r in zh} == {"insurance-zh"}
    edu = rec.recommend("is it expensive", node_id=None, industry="education", language="en", k=5)
    assert edu and {r.script_id for r in edu} == {"education-en"}
    any_industry = rec.recommend("is it expensive", node_id=None, industry=None, language="en", k=5)
    assert {r.script_id for r in any_industry} == {"insurance-en", "education-en"}
    assert rec.recommend("is it expensive", node_id=None, industry="travel", language="en") == []
    with pytest.raises(ValueError, match="language"):
        rec.recommend("hi", node_id=None, industry=None, language="fr")


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [("理赔一般要多久才到账", "claims"), ("这个每个月要交多少", "price"), ("我不想要了能退吗", "cancel")],
)
def test_mandarin_query_finds_its_faq_through_bm25(utterance: str, expected: str) -> None:
    rec = Recommender(library(), BlindEncoder(), explore=False)
    out = rec.recommend(utterance, node_id=None, industry="insurance", language="zh", k=1)
    assert entries(out) == [f"insurance-zh:faq:{expected}"]


def test_current_node_boosts_its_entries() -> None:
    weights = RankWeights()
    rec = Recommender(library(), HashedNgramEncoder(), weights=weights, explore=False)

    def price_hit(node_id: str | None) -> Recommendation:
        out = rec.recommend("what would it be", node_id=node_id, industry="insurance", language="en", k=10)
        return next(r for r in out if r.entry_id == "insurance-en:faq:price")

    plain, boosted = price_hit(None), price_hit("budget")
    assert boosted.score == pytest.approx(plain.score + weights.tie_boost)
    assert "current node" in boosted.reason and "current node" not in plain.reason


def test_blank_utterance_gives_the_current_nodes_lines() -> None:
    rec = Recommender(library(), HashedNgramEncoder(), explore=False)
    out = rec.recommend("  ", node_id="budget", industry="insurance", language="en", k=5)
    assert set(entries(out)) == {
        "insurance-en:node:budget",
        "insurance-en:objection:obj.too_expensive",
        "insurance-en:faq:price",
    }
    assert all("current node" in r.reason for r in out)


def test_query_is_encoded_once_and_library_only_at_build() -> None:
    encoder = CountingEncoder()
    rec = Recommender(library(), encoder)
    assert len(encoder.calls) == 1 and encoder.calls[0] > 10
    rec.recommend("is it expensive", node_id="budget", industry=None, language="en", k=3)
    assert encoder.calls[1:] == [1]


@pytest.mark.parametrize(("twin_industry", "searched"), [("insurance", "insurance"), ("health", None)])
def test_same_question_in_two_scripts_shows_once(twin_industry: str, searched: str | None) -> None:
    twin = insurance_en()
    twin.id, twin.industry = "twin-en", twin_industry
    rec = Recommender([insurance_en(), twin], HashedNgramEncoder(), explore=False)
    out = rec.recommend("how do I make a claim", node_id=None, industry=searched, language="en", k=3)
    questions = [r.question for r in out if r.entry_kind == "faq"]
    assert questions.count("How do I make a claim?") == 1
    assert len(entries(out)) == 3


def test_mining_lifts_the_converting_answer_to_first() -> None:
    script = insurance_en()
    price = script.faq[0]
    price.answers = [var("price.flop", "It's pricey, honestly."), var("price.win", "Plans start at twenty a month.")]
    rec = Recommender([script], HashedNgramEncoder(), seed=7)

    def first_answers(n: int) -> list[str]:
        return [
            rec.recommend("is it expensive", node_id=None, industry="insurance", language="en", k=1)[0].answer.id
            for _ in range(n)
        ]

    assert "price.flop" in first_answers(40)  # no track record yet: either may lead
    miner = Miner([script])
    for i in range(80):
        said = "price.win" if i % 2 else "price.flop"
        miner.record(
            CallOutcome("insurance-en", "agent-1", [said], converted=said == "price.win" and i % 4 == 1, grade="B")
        )
    assert price.answers[1].stats == VariantStats(40, 20) and price.answers[0].stats == VariantStats(40, 0)
    assert set(first_answers(40)) == {"price.win"}
    top = rec.recommend("is it expensive", node_id=None, industry="insurance", language="en", k=1)[0]
    assert "50% conversion over 40 uses" in top.reason


def test_exploration_gives_a_new_answer_a_fair_chance() -> None:
    script = insurance_en()
    script.faq[0].answers = [var("proven", "Twenty a month.", 200, 60), var("fresh", "Less than a coffee a day.")]
    rec = Recommender([script], HashedNgramEncoder(), seed=3)
    firsts = [
        rec.recommend("is it expensive", node_id=None, industry="insurance", language="en", k=1)[0].answer.id
        for _ in range(200)
    ]
    assert 10 <= firsts.count("fresh") <= 190
    fresh = next(
        r
        for r in rec.recommend("is it expensive", node_id=None, industry="insurance", language="en", k=1)
        if r.answer.id == "fresh"
    )
    assert "new answer" in fresh.reason
    assert fresh.conversion == pytest.approx(rec.script_rate("insurance-en"))


def test_a_new_answer_beats_a_proven_failure() -> None:
    script = insurance_en()
    script.faq[0].answers = [var("failure", "It is what it is.", 200, 0), var("fresh", "Less than a coffee a day.")]
    script.faq[1].answers[0].stats = VariantStats(300, 90)  # the script converts 30 % elsewhere
    rec = Recommender([script], HashedNgramEncoder(), seed=5)
    firsts = [
        rec.recommend("is it expensive", node_id=None, industry="insurance", language="en", k=1)[0].answer.id
        for _ in range(50)
    ]
    assert set(firsts) == {"fresh"}


def test_synthetic_library_has_exactly_n_entries_and_is_seeded() -> None:
    lib = synthetic_library(500, seed=1)
    assert Recommender(lib, HashedNgramEncoder(dim=64)).entry_count == 500
    assert {s.language for s in lib} == {"en", "zh"} and len({s.industry for s in lib}) > 3
    again, other = synthetic_library(500, seed=1), synthetic_library(500, seed=2)

    def stats(scripts: list[Script]) -> list[tuple[str, int, int]]:
        return [(v.text, v.stats.uses, v.stats.conversions) for s in scripts for v in s.variants()]

    assert stats(lib) == stats(again) != stats(other)


def test_synthetic_library_is_searchable() -> None:
    rec = Recommender(synthetic_library(400, seed=0), HashedNgramEncoder(), explore=False)
    en = rec.recommend("can I pay by card", node_id=None, industry=None, language="en", k=3)
    zh = rec.recommend("能用微信支付吗", node_id=None, industry=None, language="zh", k=3)
    assert en[0].question == "How do I pay?"
    assert zh[0].question == "怎么付款？"
