"""`callcenter bench dialogue`: replay the labeled dialogues through the engine; recommendation figures.

Each dialogue of `bench/data/dialogues/` is replayed as a call would feed it: `start()` at the answer, then
its turns in order (customer text with its recognition confidence, silences, barge-ins, keypad digits, a
voicemail beep as `MachineDetected`). When the engine asks for a human, no agent comes: `HandoffTimeout` follows
the next turn. Replay stops at `EndCall`. Measured:

- `grade_accuracy`: the grade of the engine's last score against the label, with the confusion matrix;
- `intent_accuracy`: per customer turn, the engine's `last_intent` against the label (`none` = no intent);
- `outcome_accuracy`: booked / callback / handoff / do_not_call / voicemail / ended;
- `decision_ms`: wall time of each `handle()` (understanding, embeddings, scoring and the next action);
- the recommendation figures of `bench.recommend`.

Classifiers and FAQ matchers are built once per script, as a campaign would; their build time is not counted.
"""

from __future__ import annotations

import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench import recommend
from bench.dialogue_set import NO_INTENT, CustomerTurn, Dialogue, EventKind, EventTurn, load_dialogues
from dialogue import (
    BargeIn,
    CampaignPolicy,
    CustomerText,
    DialogueEngine,
    Dtmf,
    EndCall,
    Event,
    FaqMatcher,
    HandoffTimeout,
    IntentClassifier,
    MachineDetected,
    RequestHuman,
    ScoreUpdate,
    Silence,
    default_encoder,
)
from dialogue.actions import Action
from scripts_library.catalog import load_catalog
from scripts_library.embeddings import shared_minilm
from scripts_library.schema import Script

GRADES = ("A", "B", "C", "D")
# The engine's finer outcomes that the labels call "ended".
_ENDED = {"wrong_person", "not_interested", "completed", "no_response"}


@dataclass
class Replay:
    grade: str = "C"
    outcome: str = "ended"
    intents: list[tuple[str, str]] = field(default_factory=list)  # (label, understood)
    decisions_s: list[float] = field(default_factory=list)


class _Brains:
    """One classifier and FAQ matcher per script, shared by every call of that script."""

    def __init__(self) -> None:
        self._built: dict[str, tuple[IntentClassifier, FaqMatcher]] = {}

    def get(self, script: Script) -> tuple[IntentClassifier, FaqMatcher]:
        if script.id not in self._built:
            encoder = default_encoder(script.language)
            self._built[script.id] = (
                IntentClassifier(script.intents, script.language, encoder),
                FaqMatcher(script.faq, encoder),
            )
        return self._built[script.id]


def _event(turn: CustomerTurn | EventTurn, t_s: float) -> Event:
    if isinstance(turn, CustomerTurn):
        return CustomerText(turn.text, turn.confidence, t_s)
    if turn.kind == EventKind.SILENCE:
        return Silence(float(turn.seconds or 0.0), t_s)
    if turn.kind == EventKind.BARGE_IN:
        return BargeIn(t_s)
    if turn.kind == EventKind.DTMF:
        return Dtmf(str(turn.digit), t_s)
    return MachineDetected(t_s)


def replay(d: Dialogue, script: Script, brains: _Brains) -> Replay:
    classifier, faq = brains.get(script)
    policy = CampaignPolicy(
        lead={"first_name": d.lead.first_name}, lead_is_customer=d.lead.existing_customer, lead_timezone=d.lead.timezone
    )
    engine = DialogueEngine(script, policy, classifier, now=d.now, seed=zlib.crc32(d.id.encode()), faq=faq)
    out = Replay()
    waiting_for_agent = False
    t_s = 0.0

    def absorb(actions: list[Action]) -> bool:
        """Take in one decision's actions (all of them: a score update may follow the EndCall); True: call over."""
        nonlocal waiting_for_agent
        ended = False
        for a in actions:
            if isinstance(a, ScoreUpdate):
                out.grade = a.grade
            elif isinstance(a, RequestHuman):
                out.outcome, waiting_for_agent = "handoff", True
            elif isinstance(a, EndCall):
                out.outcome, ended = ("ended" if a.outcome in _ENDED else a.outcome), True
        return ended

    if absorb(engine.start(t_s)):
        return out
    for turn in d.turns:
        t_s += 4.0
        event = _event(turn, t_s)
        t0 = time.perf_counter()
        actions = engine.handle(event)
        out.decisions_s.append(time.perf_counter() - t0)
        if isinstance(turn, CustomerTurn):
            out.intents.append((turn.intent, engine.state.last_intent or NO_INTENT))
        if absorb(actions):
            break
        if waiting_for_agent:
            waiting_for_agent = False
            if absorb(engine.handle(HandoffTimeout(t_s + 1.0))):
                break
    return out


def _pct_ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2) if values else float("nan")


def run(*, with_recommend: bool = True) -> dict[str, Any]:
    catalog = load_catalog()
    dialogues = load_dialogues()
    brains = _Brains()
    for script in {d.script for d in dialogues}:  # model load and index builds happen before a campaign starts
        classifier, _ = brains.get(catalog[script])
        classifier.classify("warm up")
    results = [(d, replay(d, catalog[d.script], brains)) for d in dialogues]
    confusion = {g: Counter({p: 0 for p in GRADES}) for g in GRADES}
    for d, r in results:
        confusion[d.expect.grade][r.grade] += 1
    intents = [pair for _, r in results for pair in r.intents]
    decisions = [s for _, r in results for s in r.decisions_s]
    out: dict[str, Any] = {
        "dialogues": len(results),
        "languages": dict(Counter(d.language for d, _ in results)),
        "grade_accuracy": round(sum(d.expect.grade == r.grade for d, r in results) / len(results), 3),
        "intent_accuracy": round(sum(label == got for label, got in intents) / len(intents), 3),
        "outcome_accuracy": round(sum(d.expect.outcome == r.outcome for d, r in results) / len(results), 3),
        "decision_ms": {"p50": _pct_ms(decisions, 50), "p95": _pct_ms(decisions, 95), "max": _pct_ms(decisions, 100)},
        "grade_confusion": {label: dict(row) for label, row in confusion.items()},  # label -> predicted -> count
        "grade_misses": [f"{d.id}: {d.expect.grade}->{r.grade}" for d, r in results if d.expect.grade != r.grade],
    }
    for lang in sorted(out["languages"]):
        subset = [(d, r) for d, r in results if d.language == lang]
        out[f"grade_accuracy_{lang}"] = round(sum(d.expect.grade == r.grade for d, r in subset) / len(subset), 3)
    if with_recommend:
        out.update(recommend.run(shared_minilm()))
    return out
