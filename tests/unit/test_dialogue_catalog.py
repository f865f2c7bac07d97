"""The engine on every shipped script: a qualified lead books, every required objection is answered, the
lines outside the flow are there, and no line is said with a placeholder left in it.

Unit tier: the embedding path uses hashed character n-grams (no model); the shipped patterns do most of the work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from dialogue.actions import Action, Book, EndCall, MarkDoNotCall, RequestHuman, Say
from dialogue.engine import DialogueEngine
from dialogue.events import CustomerText, MachineDetected, Silence
from dialogue.policy import CampaignPolicy
from dialogue.understand import IntentClassifier
from scripts_library.catalog import load_catalog
from scripts_library.embeddings import HashedNgramEncoder
from scripts_library.loader import load_script
from scripts_library.schema import REQUIRED_OBJECTIONS, Expect, NodeKind, Script
from tests.unit.dialogue_fixtures import NOW

pytestmark = pytest.mark.unit

SHIPPED = ("insurance-en", "education-en", "b2b-software-en", "insurance-zh", "education-zh")
# A lead who answers every question the way a qualified, willing customer would.
WILLING = {
    "en": {
        Expect.YES_NO: "yes",
        Expect.FREE: "we have two kids and want to plan ahead properly",
        Expect.AMOUNT: "about 50 dollars a month",
        Expect.TIME: "tomorrow at 3 pm",
    },
    "zh": {
        Expect.YES_NO: "是的",
        Expect.FREE: "家里两个孩子，想提前规划一下",
        Expect.AMOUNT: "一个月五百块左右",
        Expect.TIME: "明天下午三点",
    },
}
POLICY = CampaignPolicy(
    agent_name="Sam",
    lead={"first_name": "Dana", "child_name": "Leo"},
    callback_number="555-0100",
    handoff_score_threshold=101,
    lead_timezone="America/New_York",
)


def fresh(script_id: str) -> Script:
    """Its own copy: the catalog's Script objects are shared and the engine must not see others' mutations."""
    return load_script(load_catalog()[script_id].path)


class Driver:
    def __init__(self, script_id: str) -> None:
        self.script = fresh(script_id)
        self.language = self.script.language
        clf = IntentClassifier(self.script.intents, self.language, HashedNgramEncoder())
        self.engine = DialogueEngine(self.script, POLICY, clf, NOW, seed=1)
        self.t_s = 0.0
        self.said: list[Say] = []

    def keep(self, actions: list[Action]) -> list[Action]:
        self.said += [a for a in actions if isinstance(a, Say)]
        return actions

    def start(self) -> list[Action]:
        return self.keep(self.engine.start(0.0))

    def say(self, text: str) -> list[Action]:
        self.t_s += 4.0
        return self.keep(self.engine.handle(CustomerText(text, 0.9, self.t_s)))

    def willing_reply(self) -> str:
        node = self.script.node(self.engine.state.node_id or self.script.start)
        expect = Expect.YES_NO if node.kind == NodeKind.QUALIFY and node.expect == Expect.FREE else node.expect
        if node.signal is not None and node.signal.value == "timeline":
            expect = Expect.TIME
        return WILLING[self.language][expect]

    def to_first_qualify(self) -> None:
        self.start()
        for _ in range(4):
            node = self.script.node(self.engine.state.node_id or "")
            if node.kind == NodeKind.QUALIFY:
                return
            self.say(self.willing_reply())
        raise AssertionError(f"{self.script.id}: no qualification question within 4 turns")


def an_example_of(script: Script, intent: str, clf: IntentClassifier) -> Iterator[str]:
    """The intent's own examples that the script's classifier reads as that intent."""
    return (e for e in script.intents[intent].examples if clf.classify(e)[0] == intent)


def test_the_shipped_library_is_what_the_engine_is_tested_on() -> None:
    assert set(SHIPPED) <= set(load_catalog())


@pytest.mark.parametrize("script_id", SHIPPED)
def test_a_willing_lead_is_qualified_and_booked(script_id: str) -> None:
    d = Driver(script_id)
    actions = d.start()
    for _ in range(20):
        if any(isinstance(a, EndCall) for a in actions):
            break
        actions = d.say(d.willing_reply())
    ends = [a for a in actions if isinstance(a, EndCall)]
    assert ends == [EndCall("booked")], [s.node_id for s in d.said]
    assert any(isinstance(a, Book) for a in actions)
    kinds = {d.script.node(s.node_id).kind for s in d.said if not s.node_id.startswith(("faq:", "campaign:"))}
    assert {NodeKind.OPENING, NodeKind.DISCOVERY, NodeKind.QUALIFY, NodeKind.CLOSING, NodeKind.GOODBYE} <= kinds
    assert len(d.engine.state.answered) >= 3


@pytest.mark.parametrize("script_id", SHIPPED)
@pytest.mark.parametrize("objection", REQUIRED_OBJECTIONS)
def test_every_required_objection_is_answered(script_id: str, objection: str) -> None:
    d = Driver(script_id)
    d.to_first_qualify()
    question = d.engine.state.node_id
    example = next(an_example_of(d.script, objection, d.engine.classifier), None)
    assert example is not None, f"{script_id}: no example of {objection} is read as {objection}"
    actions = d.say(example)
    lines = [a.node_id for a in actions if isinstance(a, Say)]
    node = d.script.objection_for(objection)
    assert node is not None
    if objection == "remove_me":
        assert isinstance(actions[0], MarkDoNotCall)
        assert lines == [node.id, d.script.nodes_of(NodeKind.DO_NOT_CALL)[0].id]
        return
    routed = d.script.node(question or "").on.get(objection)
    if routed is not None and d.script.node(routed).kind != NodeKind.OBJECTION:
        assert lines[0] == routed  # the question's own route for this objection
        return
    assert lines[0] == node.id
    if node.expect == Expect.NOTHING and node.next is None:
        assert lines[1:] == [question]  # answered, then back to the question


@pytest.mark.parametrize("script_id", SHIPPED)
def test_the_lines_outside_the_flow_are_said(script_id: str) -> None:
    d = Driver(script_id)
    d.to_first_qualify()
    question = d.engine.state.node_id
    clf = d.engine.classifier
    robot = next(an_example_of(d.script, "are_you_robot", clf))
    assert [a.node_id for a in d.say(robot) if isinstance(a, Say)] == [
        d.script.nodes_of(NodeKind.DISCLOSURE)[0].id,
        question,
    ]
    silence = d.keep(d.engine.handle(Silence(9.0, 60.0)))
    assert any(isinstance(a, Say) and a.kind == "repeat" for a in silence)
    human = d.say(next(an_example_of(d.script, "want_human", clf)))
    assert any(isinstance(a, RequestHuman) for a in human)
    machine = Driver(script_id)
    machine.start()
    end = machine.keep(machine.engine.handle(MachineDetected(2.0)))
    assert [a.node_id for a in end if isinstance(a, Say)] == [machine.script.nodes_of(NodeKind.VOICEMAIL)[0].id]
    wrong = Driver(script_id)
    wrong.start()
    assert EndCall("wrong_person") in wrong.say(next(an_example_of(wrong.script, "wrong_person", clf)))
    for line in d.said + machine.said + wrong.said:
        assert not re.search(r"\{\w+\}", line.text), line
