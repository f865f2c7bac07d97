"""The intent classifier with the real all-MiniLM-L6-v2: English paraphrases that no shipped pattern catches."""

from __future__ import annotations

import pytest

from dialogue.actions import EndCall, ScheduleCallback
from dialogue.engine import DialogueEngine
from dialogue.events import CustomerText
from dialogue.policy import CampaignPolicy
from dialogue.understand import IntentClassifier, default_encoder
from scripts_library.catalog import load_catalog
from scripts_library.embeddings import MiniLmEncoder
from scripts_library.loader import load_intents, load_script
from tests.unit.dialogue_fixtures import NOW

pytestmark = pytest.mark.models

PARAPHRASES = [
    ("I'd love to hear the details", "interested"),
    ("give me a ring some other day", "call_me_later"),
]


@pytest.fixture(scope="module")
def minilm() -> IntentClassifier:
    encoder = default_encoder("en")
    assert isinstance(encoder, MiniLmEncoder)
    return IntentClassifier(load_intents("en"), "en", encoder)


@pytest.mark.parametrize(("text", "intent"), PARAPHRASES)
def test_minilm_reads_a_paraphrase_no_pattern_catches(minilm: IntentClassifier, text: str, intent: str) -> None:
    assert IntentClassifier(load_intents("en"), "en", None).classify(text)[0] is None
    got, score, source = minilm.classify(text)
    assert (got, source) == (intent, "embedding")
    assert score >= minilm.threshold


@pytest.mark.parametrize("text", ["we run a small bakery downtown", "the kids are at school right now"])
def test_minilm_leaves_off_topic_talk_unclassified(minilm: IntentClassifier, text: str) -> None:
    assert minilm.classify(text)[0] is None


def test_the_engine_acts_on_a_paraphrase_through_minilm(minilm: IntentClassifier) -> None:
    script = load_script(load_catalog()["insurance-en"].path)
    policy = CampaignPolicy(lead={"first_name": "Dana"}, handoff_score_threshold=101)
    engine = DialogueEngine(script, policy, minilm, NOW, seed=1)
    engine.start(0.0)
    engine.handle(CustomerText("yes", 0.9, 4.0))
    actions = engine.handle(CustomerText("give me a ring some other day", 0.9, 8.0))
    callbacks = [a for a in actions if isinstance(a, ScheduleCallback)]
    assert [c.reason for c in callbacks] == ["call_me_later"]
    assert EndCall("callback") in actions
