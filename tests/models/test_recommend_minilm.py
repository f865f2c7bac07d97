"""The recommender with the real all-MiniLM-L6-v2: paraphrases that share no content word still find their FAQ."""

from __future__ import annotations

import pytest

from scripts_library.embeddings import shared_minilm
from scripts_library.recommend import Recommender
from scripts_library.schema import FaqEntry, Intent, Node, NodeKind, Script, Variant

pytestmark = pytest.mark.models

FAQ_EN = {
    "price": ("Is it expensive?", ["How much is the premium?", "What's the monthly price?"]),
    "cancel": ("Can I cancel anytime?", ["Am I locked in?", "Is there a minimum term?"]),
    "claims": ("How do I make a claim?", ["What if I need to claim?", "How fast are claims paid?"]),
    "cover": ("What does the policy cover?", ["Which illnesses are included?", "Is dental included?"]),
    "age": ("Is there an age limit?", ["I'm 70, can I still join?"]),
    "family": ("Can I add my kids?", ["Does it cover my whole family?"]),
    "medical": ("Do I need a medical exam?", ["Will you check my health first?"]),
    "payment": ("How do I pay?", ["Can I pay by card?", "Do you take direct debit?"]),
    "trial": ("Is there a cooling-off period?", ["Can I change my mind after signing?"]),
    "data": ("Is my data safe?", ["Do you sell my details?"]),
}
OBJECTIONS_EN = {
    "busy_now": ["I'm busy right now", "I'm driving"],
    "not_interested": ["I'm not interested", "No thanks"],
    "already_have_one": ["I already have insurance", "I'm covered through work"],
    "who_are_you": ["Who are you?", "Who is calling?"],
    "remove_me": ["Take me off your list", "Stop calling me"],
}
FAQ_ZH = {
    "price": ("保费多少钱？", ["贵不贵？", "每个月交多少钱？"]),
    "cancel": ("可以随时退保吗？", ["要签长期合同吗？", "不想要了怎么办？"]),
    "claims": ("怎么理赔？", ["理赔要多久？", "出险了找谁？"]),
    "cover": ("保障范围是什么？", ["哪些病能报销？", "牙科包括吗？"]),
    "age": ("有年龄限制吗？", ["七十岁还能买吗？"]),
}


def build(sid: str, language: str, faq: dict[str, tuple[str, list[str]]], objections: dict[str, list[str]]) -> Script:
    entries = [FaqEntry(fid, q, sim, [Variant(f"{fid}.a", f"answer to {fid}")]) for fid, (q, sim) in faq.items()]
    nodes = {
        f"obj.{name}": Node(f"obj.{name}", NodeKind.OBJECTION, [Variant(f"obj.{name}.a", "Sure.")], intent=name)
        for name in objections
    }
    intents = {name: Intent(name, examples=tuple(ex)) for name, ex in objections.items()}
    return Script(sid, "insurance", language, sid, "Acme", "cover", "", nodes, intents, entries)


@pytest.fixture(scope="module")
def recommender() -> Recommender:
    scripts = [build("insurance-en", "en", FAQ_EN, OBJECTIONS_EN), build("insurance-zh", "zh", FAQ_ZH, {})]
    return Recommender(scripts, shared_minilm(), explore=False)


def top3(rec: Recommender, utterance: str, language: str) -> list[str]:
    out = rec.recommend(utterance, node_id=None, industry="insurance", language=language, k=3, answers_per_entry=1)
    return [r.entry_id.rsplit(":", 1)[-1] for r in out]


@pytest.mark.parametrize(
    ("utterance", "faq_id"),
    [
        ("does it cost a lot", "price"),
        ("will my children be insured too", "family"),
        ("how do I get reimbursed after a hospital visit", "claims"),
        ("do you pass my information to other companies", "data"),
    ],
)
def test_english_paraphrase_finds_its_faq(recommender: Recommender, utterance: str, faq_id: str) -> None:
    assert faq_id in top3(recommender, utterance, "en")


def test_cost_paraphrase_ranks_the_price_question_first(recommender: Recommender) -> None:
    out = recommender.recommend("does it cost a lot", node_id=None, industry="insurance", language="en", k=1)
    assert out[0].question == "Is it expensive?"
    assert out[0].reason.startswith("matches 'Is it expensive?'")


@pytest.mark.parametrize(("utterance", "faq_id"), [("这个保险贵吗", "price"), ("住院了钱怎么赔给我", "claims")])
def test_mandarin_query_finds_its_faq_with_fused_ranking(recommender: Recommender, utterance: str, faq_id: str) -> None:
    assert faq_id in top3(recommender, utterance, "zh")
