"""The dialogue engine: one per call, a pure synchronous state machine fed events, returning actions.

It walks the script graph (`start`, then `on[intent]`, else `next`), answers objections and FAQ questions and
comes back to the question it was on, reprompts on silence and on answers it cannot use, clarifies
low-confidence utterances, and hands the call to a human (when asked, or when the lead scores above the
campaign's threshold). While an agent holds the call it says nothing but keeps reading both sides, so that
after HandBack it does not ask again what the agent already asked.

Phases: idle -> active <-> awaiting_agent -> taken_over -> active ... -> ended. An event a phase cannot take
raises IllegalEvent ("expected X, got Y"); media events after the end (speech done, barge-in, trailing
words) are ignored. Nothing here logs customer text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from dialogue.actions import (
    Action,
    Book,
    EndCall,
    Lines,
    Listen,
    MarkDoNotCall,
    Outcome,
    RequestHuman,
    Say,
    SayKind,
    ScheduleCallback,
    ScoreUpdate,
    StopSpeaking,
    format_time,
)
from dialogue.events import (
    AgentText,
    BargeIn,
    CallAnswered,
    CustomerText,
    Dtmf,
    Event,
    HandBack,
    HandoffTimeout,
    IllegalEvent,
    MachineDetected,
    Phase,
    Silence,
    Takeover,
    expect_event,
)
from dialogue.policy import CampaignPolicy
from dialogue.scoring import Evidence, LeadScorer
from dialogue.slots import TimeSlot
from dialogue.understand import (
    GENERIC,
    POLARITY,
    FaqMatcher,
    IntentClassifier,
    QuestionMatcher,
    Slots,
    Understanding,
    next_after,
    reads,
    route_for,
)
from scripts_library.schema import Expect, Node, NodeKind, Script, Signal

# Lines the customer must hear whole: legal notices, the honest answer, removal, last words.
_NO_BARGE_IN = (NodeKind.OPENING, NodeKind.DISCLOSURE, NodeKind.DO_NOT_CALL, NodeKind.VOICEMAIL, NodeKind.GOODBYE)
# Kinds the engine says outside the flow; the first node of each kind is used.
_SPECIAL_NAMES = "goodbye disclosure do_not_call wrong_person voicemail handoff reprompt clarify"
_SPECIAL_KINDS = tuple(map(NodeKind, _SPECIAL_NAMES.split()))
_HEARD_MAX_CHARS = 40  # how much of a low-confidence utterance the clarify line quotes back
_MACHINE_TURNS = 3  # an answering machine's greeting is what a call starts with


@dataclass(frozen=True, slots=True)
class EngineState:
    """A snapshot for the call's event stream (no customer text in it)."""

    phase: Phase
    node_id: str | None  # the question being waited on (or the last line said)
    answered: frozenset[Signal]  # qualification signals answered, by robot or agent
    turns: int  # customer utterances and key presses
    last_intent: str | None  # what the last utterance or key press was understood as (None: nothing known)
    taken_over: bool
    reprompts: int  # on the current question
    outcome: Outcome | None  # set once EndCall was returned


class DialogueEngine:
    def __init__(
        self,
        script: Script,
        policy: CampaignPolicy,
        classifier: IntentClassifier,
        now: datetime,
        seed: int = 0,
        *,
        faq: FaqMatcher | None = None,
    ) -> None:
        """`now`: the lead's local time at answer (naive: in `policy.lead_timezone`). `seed`: variant choice.

        `faq` may be shared across calls; by default it is built on the first question, with the classifier's
        encoder.
        """
        if classifier.language != script.language:
            raise ValueError(f"expected a {script.language} classifier, got {classifier.language}")
        self.script, self.policy, self.classifier = script, policy, classifier
        self._now = now if now.tzinfo is not None else now.replace(tzinfo=ZoneInfo(policy.lead_timezone))
        self._listen = Listen(policy.silence_reprompt_s)  # frozen: one instance serves every question
        self._lines = Lines(policy.placeholders(script.language, script.company, script.product), seed)
        self._special = {n.kind: n for n in reversed(list(script.nodes.values()))}  # first node of each kind
        missing = [k.value for k in _SPECIAL_KINDS if k not in self._special]
        if missing:
            raise ValueError(f"script {script.id}: expected nodes of kinds {', '.join(missing)}, got none")
        self._faq = faq
        self._scorer = LeadScorer(lead_is_customer=policy.lead_is_customer)
        self._reported = self._scorer.score
        self._phase: Phase = "idle"
        self._t0_s = 0.0
        self._node: Node | None = None  # the question being waited on
        self._return_to: str | None = None  # main-flow node to go back to after an objection
        self._resume: str | None = None  # main-flow node to resume at after a handoff or takeover
        self._agent_node: Node | None = None  # the script question the agent asked last
        self._answered: set[Signal] = set()
        self._answered_nodes: set[str] = set()
        self._last_ask: Say | None = None
        self._pending: tuple[Understanding, str] | None = None  # (what we think they said, text): clarifying
        self._objections: Counter[str] = Counter()
        self._turns = self._reprompts = 0
        self._last_intent: str | None = None
        self._spoke = self._moved_on_silent = self._handoff_requested = False
        self._booked = self._callback_agreed = False
        self._outcome: Outcome | None = None

    # -- public surface ---------------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return EngineState(
            phase=self._phase,
            node_id=self._node.id if self._node else None,
            answered=frozenset(self._answered),
            turns=self._turns,
            last_intent=self._last_intent,
            taken_over=self._phase == "taken_over",
            reprompts=self._reprompts,
            outcome=self._outcome,
        )

    def start(self, t_s: float = 0.0) -> list[Action]:
        """The call was answered: the opening (and what follows it up to the first question)."""
        expect_event(self._phase, CallAnswered(t_s))
        self._t0_s, self._phase = t_s, "active"
        return self._enter(self.script.start)

    def handle(self, event: Event) -> list[Action]:
        """The actions for one event, in order; a ScoreUpdate last whenever the score changed."""
        if isinstance(event, CallAnswered):
            return self.start(event.t_s)
        expect_event(self._phase, event)
        if self._phase == "ended":
            return []
        actions = self._dispatch(event)
        score = self._scorer.score
        if score != self._reported:
            self._reported = score
            actions.append(ScoreUpdate(score.score, score.grade, score.category, score.signals))
        return actions

    # -- dispatch -------------------------------------------------------------------------------------

    def _dispatch(self, event: Event) -> list[Action]:
        if isinstance(event, CustomerText):
            return self._on_customer_text(event)
        if isinstance(event, Silence):
            return self._on_silence(event)
        if isinstance(event, BargeIn):
            return [StopSpeaking(), self._listen] if self._phase in ("active", "awaiting_agent") else []
        if isinstance(event, Dtmf):
            return self._on_dtmf(event)
        if isinstance(event, MachineDetected):
            return self._on_machine()
        if isinstance(event, Takeover):
            return self._on_takeover()
        if isinstance(event, HandBack):
            return self._on_hand_back()
        if isinstance(event, AgentText):
            self._agent_node = self._question_matcher.match(event.text)
            return []
        if isinstance(event, HandoffTimeout):
            return self._on_handoff_timeout()
        return []  # SpeechDone: the voice layer starts the Listen timer itself

    def _on_customer_text(self, ev: CustomerText) -> list[Action]:
        self._turns += 1
        self._reached()
        if self._phase == "taken_over":
            return self._observe_under_agent(ev)
        if self._turns <= _MACHINE_TURNS and self.classifier.sounds_like_machine(ev.text):
            return self._on_machine()
        node = self._current()
        expect = Expect.YES_NO if self._pending is not None else reads(node)
        u = self.classifier.understand(ev.text, expect, self._at(ev.t_s))
        self._last_intent = u.intent
        if self._phase == "awaiting_agent":
            return self._while_waiting(u)
        if self._pending is not None:
            return self._on_clarify_reply(u, ev)
        low = ev.confidence < self.policy.min_confidence
        if low and u.intent is not None and self._reprompts < self.policy.max_reprompts:
            return self._clarify(u, ev.text)
        return self._act_on(u, ev.text, ev.t_s)

    def _on_dtmf(self, ev: Dtmf) -> list[Action]:
        intent = self.policy.dtmf.get(ev.digit)
        if intent is None or self._phase == "taken_over":
            return []
        self._turns += 1
        self._reached()
        u = Understanding(intent, 1.0, "pattern", Slots(yes_no=POLARITY.get(intent)))
        self._last_intent = intent
        if self._phase == "awaiting_agent":
            return self._while_waiting(u)
        self._pending = None
        return self._act_on(u, "", ev.t_s)

    def _on_silence(self, ev: Silence) -> list[Action]:
        if self._phase != "active" or ev.seconds < self.policy.silence_reprompt_s:
            return []
        self._pending = None
        return self._reprompt(silent=True)

    # -- understanding -> routing ---------------------------------------------------------------------

    def _act_on(self, u: Understanding, text: str, t_s: float) -> list[Action]:
        node = self._current()
        if u.slots.amount is not None and u.intent == "ask_price":
            u = replace(u, intent=None)  # "maybe fifty a month?" states a budget, it does not ask the price
        self._scorer.observe(self._evidence(u, t_s, node))
        if u.slots.amount is not None and u.intent in GENERIC and node.signal != Signal.BUDGET:
            self._answered.add(Signal.BUDGET)  # volunteered: the budget question is skipped later
            self._scorer.observe(Evidence(signal=Signal.BUDGET, amount_stated=True))
        intent = u.intent
        if intent in ("remove_me", "wrong_person"):
            return self._leave_call(intent)
        if intent == "are_you_robot":
            return [self._disclosure(), *self._reask()]
        slot, answers = u.slots.time, u.answers_with_slot(node)
        if slot is not None and (
            (answers and node.kind == NodeKind.BOOKING)
            or (u.offers_appointment(node) and self._scorer.has("interested"))
        ):
            return self._book(node, slot, u)
        if answers:
            return self._leave(node, next_after(node, u))
        target = route_for(node, u)
        if target is not None:
            return self._leave(node, target)
        return self._route_intent(node, u, text)

    def _route_intent(self, node: Node, u: Understanding, text: str) -> list[Action]:
        intent = u.intent
        if intent == "want_human":
            return self._handoff("customer_asked", self._flow_node_id())
        if intent == "call_me_later":  # also the answer to the busy objection's "when is better?"
            return self._callback(u.slots.time, "busy_now" if node.intent == "busy_now" else "call_me_later")
        if intent == "goodbye":
            return self._goodbye(self._default_outcome())
        if intent == "repeat_please":
            return self._repeat()
        if intent in ("ask_question", "ask_price"):
            return self._answer_question(u, text)
        objection = self.script.objection_for(intent) if intent else None
        if objection is not None:
            return self._objection(objection, intent or "")
        if node.kind == NodeKind.OBJECTION:
            return self._after_objection(node, u)
        return self._answer(node, u)

    def _answer(self, node: Node, u: Understanding) -> list[Action]:
        if node.kind == NodeKind.OPENING and u.intent is None and u.slots.yes_no is None:
            return self._leave(node, next_after(node, replace(u, intent="yes")))  # "hello?", "this is Dan": go on
        if node.kind == NodeKind.BOOKING:
            if u.polarity is False:
                return self._goodbye(self._default_outcome())
            return self._reprompt(silent=False)  # agreed, but named no time: ask for one
        if not u.usable_for(node):
            return self._reprompt(silent=False)
        return self._leave(node, next_after(node, u))

    def _leave(self, node: Node, target: str | None) -> list[Action]:
        """The question at `node` is answered: on to `target` (or a handoff first, if the lead is hot). A route
        to an objection is a detour: the question stays open and is asked again after it."""
        if target is not None and (detour := self.script.node(target)).kind == NodeKind.OBJECTION:
            return self._objection(detour, detour.intent or "")
        self._mark_answered(node)
        if target is None:
            return self._goodbye(self._default_outcome())
        if node.kind == NodeKind.OBJECTION and target == self._return_to:
            return self._reask()
        self._return_to = None
        if self._handoff_due(self.script.node(target)):
            return self._handoff("score", target)
        return self._enter(target)

    def _objection(self, objection: Node, intent: str) -> list[Action]:
        self._objections[intent] += 1
        if intent == "not_interested" and self._objections[intent] > 1:
            return self._goodbye("not_interested")  # a second "no" is firm: do not push
        self._return_to = self._flow_node_id()
        self._reprompts = 0
        say = self._say(objection, "ask" if objection.expect != Expect.NOTHING else "say")
        if objection.expect != Expect.NOTHING:
            self._node = objection
            return [say, self._listen]
        if objection.next is not None:
            return [say, *self._leave(objection, objection.next)]
        return [say, *self._reask()]

    def _after_objection(self, objection: Node, u: Understanding) -> list[Action]:
        """The reply to an objection's own question ("when is a better time?", "can I take two minutes?")."""
        polarity = u.polarity
        if objection.intent == "busy_now" and (u.slots.time is not None or polarity is True):
            return self._callback(u.slots.time, "busy_now")
        if objection.intent == "not_interested" and polarity is False:
            return self._goodbye("not_interested")
        if u.intent is None and not u.usable_for(objection):
            return self._reprompt(silent=False)
        return self._reask()

    def _answer_question(self, u: Understanding, text: str) -> list[Action]:
        entry = self._faq_matcher.match(text) if text else None
        if entry is not None and entry.answers:
            say = self._lines.say(f"faq:{entry.id}", entry.answers, "say", barge_in=True, avoid_last=True)
            return [say, *self._reask()]
        objection = self.script.objection_for(u.intent or "")
        if objection is not None:
            return self._objection(objection, u.intent or "")
        return self._reprompt(silent=False)

    def _book(self, node: Node, slot: TimeSlot, u: Understanding) -> list[Action]:
        """Book, then on from the booking question (also when the time came early, at another question)."""
        self._booked = True
        self._lines.values["time"] = format_time(slot, self.script.language)
        self._scorer.observe(Evidence(event="booked"))
        self._mark_answered(node)
        booking = node if node.kind == NodeKind.BOOKING else self._special.get(NodeKind.BOOKING, node)
        return [Book(slot), *self._leave(booking, next_after(booking, u))]

    def _callback(self, slot: TimeSlot | None, reason: str) -> list[Action]:
        self._callback_agreed = True
        if slot is not None:
            self._lines.values["time"] = format_time(slot, self.script.language)
        self._scorer.observe(Evidence(event="callback"))
        return [ScheduleCallback(slot.start if slot else None, reason), *self._goodbye("callback")]

    # -- reprompts, clarify, repeat -------------------------------------------------------------------

    def _reprompt(self, *, silent: bool) -> list[Action]:
        """No input or no usable answer: reprompt up to max_reprompts, then move on (or give up)."""
        node = self._current()
        self._scorer.observe(Evidence(event="no_answer"))
        if self._reprompts < self.policy.max_reprompts:
            self._reprompts += 1
            if node.reprompts:
                return [self._say(node, "repeat", reprompt=True), self._listen]
            generic = self._say(self._special[NodeKind.REPROMPT], "say", again=True)
            return [generic, self._say(node, "repeat"), self._listen]
        if silent and (not self._spoke or self._moved_on_silent):
            return self._goodbye("no_response")
        self._moved_on_silent = silent
        if node.kind == NodeKind.OBJECTION:
            return self._reask()
        if node.kind == NodeKind.BOOKING:
            return [ScheduleCallback(None, "booking_unresolved"), *self._goodbye(self._default_outcome())]
        return self._leave(node, next_after(node, None))

    def _clarify(self, u: Understanding, text: str) -> list[Action]:
        self._pending = u, text
        self._reprompts += 1
        heard = " ".join(text.split())[:_HEARD_MAX_CHARS]
        return [self._say(self._special[NodeKind.CLARIFY], "clarify", heard=heard), self._listen]

    def _on_clarify_reply(self, u: Understanding, ev: CustomerText) -> list[Action]:
        assert self._pending is not None
        (pending, pending_text), self._pending = self._pending, None
        polarity = u.polarity
        if polarity is True and u.intent in ("yes", None):
            return self._act_on(pending, pending_text, ev.t_s)
        if polarity is False and u.intent in ("no", None):
            return self._repeat()
        return self._act_on(u, ev.text, ev.t_s)  # they said something new instead

    def _repeat(self) -> list[Action]:
        if self._last_ask is None:
            return self._reask()
        return [replace(self._last_ask, kind="repeat"), self._listen]

    def _reask(self) -> list[Action]:
        """Back to the main-flow question after a detour, said again in (if possible) other words."""
        node = self.script.node(self._flow_node_id())
        self._return_to = None
        if node.expect == Expect.NOTHING:
            return self._enter(node.id)
        self._node = node
        return [self._say(node, "repeat", again=True), self._listen]

    # -- handoff and takeover -------------------------------------------------------------------------

    def _handoff_due(self, target: Node) -> bool:
        return (
            not self._handoff_requested
            and self._scorer.score.score >= self.policy.handoff_score_threshold
            and target.kind not in (NodeKind.CLOSING, NodeKind.GOODBYE)
        )

    def _handoff(self, reason: str, resume: str) -> list[Action]:
        self._handoff_requested = True
        if reason == "customer_asked":  # a person to go on with, agreed; a handoff for the score is no evidence
            self._scorer.observe(Evidence(event="handoff"))
        self._resume, self._return_to = resume, None
        self._phase = "awaiting_agent"
        say = self._say(self._special[NodeKind.HANDOFF], "say")
        return [say, RequestHuman(reason, self.policy.handoff_wait_s)]

    def _while_waiting(self, u: Understanding) -> list[Action]:
        """Waiting for an agent: keep scoring; only leaving the call (remove me, wrong person, bye) is acted on."""
        self._scorer.observe(Evidence(intent=u.intent))
        if u.intent in ("remove_me", "wrong_person"):
            return self._leave_call(u.intent)
        if u.intent == "goodbye":
            return self._goodbye("handoff")
        return []

    def _on_handoff_timeout(self) -> list[Action]:
        if self._phase == "taken_over":
            return []  # the timer fired as the agent picked up: stale
        self._phase = "active"
        apology = self.policy.handoff_apology(self.script.language)
        say = Say(apology, "campaign:handoff_apology", "campaign", "say", True, True)
        resume = self._resume or self.script.start
        return [say, ScheduleCallback(None, "handoff_timeout"), *self._enter(resume)]

    def _on_takeover(self) -> list[Action]:
        if self._phase == "active":
            self._resume = self._flow_node_id()
        self._phase, self._agent_node, self._pending, self._return_to = "taken_over", None, None, None
        return [StopSpeaking()]

    def _observe_under_agent(self, ev: CustomerText) -> list[Action]:
        """Score what the customer says to the agent; an answer to a script question marks it answered."""
        asked = self._agent_node
        expect = reads(asked) if asked is not None else Expect.FREE
        u = self.classifier.understand(ev.text, expect, self._at(ev.t_s))
        self._last_intent = u.intent
        self._scorer.observe(self._evidence(u, ev.t_s, asked))
        if asked is not None and u.usable_for(asked):
            self._mark_answered(asked)
            self._agent_node = None
        return []

    def _on_hand_back(self) -> list[Action]:
        self._phase = "active"
        self._agent_node = None
        self._reprompts = 0
        return self._enter(self._resume or self.script.start)

    def _on_machine(self) -> list[Action]:
        self._scorer.observe(Evidence(event="voicemail"))
        actions: list[Action] = [] if self._phase == "idle" else [StopSpeaking()]
        if self.policy.voicemail == "leave_message":
            actions.append(self._say(self._special[NodeKind.VOICEMAIL], "say"))
        return self._end(actions, "voicemail")

    # -- walking the graph ----------------------------------------------------------------------------

    def _enter(self, node_id: str) -> list[Action]:
        """Say `node_id`'s line and the statements after it, up to the next question (or the end)."""
        actions: list[Action] = []
        seen: set[str] = set()
        current: str | None = node_id
        while current is not None:
            if current in seen:
                raise ValueError(f"script {self.script.id}: expected a question or goodbye, got a loop at {current}")
            seen.add(current)
            node = self.script.node(current)
            if self._is_answered(node):
                current = next_after(node, None)
                continue
            self._reprompts = 0
            if node.kind == NodeKind.GOODBYE:
                return actions + self._goodbye(self._default_outcome(), node)
            if node.kind in (NodeKind.DO_NOT_CALL, NodeKind.WRONG_PERSON):
                return actions + self._leave_call("remove_me" if node.kind == NodeKind.DO_NOT_CALL else "wrong_person")
            asks = node.expect != Expect.NOTHING
            actions.append(self._say(node, "ask" if asks else "say"))
            self._node = node
            if asks:
                return [*actions, self._listen]
            current = node.next
        return actions + self._goodbye(self._default_outcome())

    def _leave_call(self, intent: str) -> list[Action]:
        """Remove me (the number goes on the list first, then the script's apology and confirmation) or wrong
        person: the call ends whatever the script's routes say."""
        if intent == "wrong_person":
            return self._end_with(self._special[NodeKind.WRONG_PERSON], "wrong_person")
        objection = self.script.objection_for("remove_me")
        apology = [self._say(objection, "say")] if objection is not None else []
        confirm = self._end_with(self._special[NodeKind.DO_NOT_CALL], "do_not_call")
        return [MarkDoNotCall(), *apology, *confirm]

    def _goodbye(self, outcome: Outcome, node: Node | None = None) -> list[Action]:
        return self._end_with(node or self._special[NodeKind.GOODBYE], outcome)

    def _end_with(self, node: Node, outcome: Outcome) -> list[Action]:
        return self._end([self._say(node, "say")], outcome)

    def _end(self, actions: list[Action], outcome: Outcome) -> list[Action]:
        self._phase, self._outcome = "ended", outcome
        return [*actions, EndCall(outcome)]

    def _default_outcome(self) -> Outcome:
        if self._booked:
            return "booked"
        if self._callback_agreed:
            return "callback"
        return "handoff" if self._handoff_requested else "completed"

    def _current(self) -> Node:
        if self._node is None:
            raise IllegalEvent(f"expected a question in progress (phase {self._phase}), got none")
        return self._node

    def _flow_node_id(self) -> str:
        """The main-flow question: the one an objection interrupted, else the current one."""
        return self._return_to or self._current().id

    def _is_answered(self, node: Node) -> bool:
        if node.kind == NodeKind.QUALIFY and node.signal in self._answered:
            return True
        return node.id in self._answered_nodes

    def _mark_answered(self, node: Node) -> None:
        if node.kind in (NodeKind.DISCOVERY, NodeKind.QUALIFY, NodeKind.BOOKING):
            self._answered_nodes.add(node.id)
            if node.signal is not None:
                self._answered.add(node.signal)

    # -- lines ----------------------------------------------------------------------------------------

    def _say(self, node: Node, kind: SayKind, *, reprompt: bool = False, again: bool = False, **extra: str) -> Say:
        """A line of `node` (`reprompt`: one of its reprompt lines); `again`: not the variant said last time."""
        key = f"{node.id}:reprompt" if reprompt else node.id
        variants = node.reprompts if reprompt else node.variants
        barge_in = node.kind not in _NO_BARGE_IN
        say = self._lines.say(
            node.id, variants, kind, barge_in=barge_in, avoid_last=again or reprompt, key=key, extra=extra
        )
        if kind in ("ask", "repeat"):
            self._last_ask = say
        return say

    def _disclosure(self) -> Say:
        if self.policy.robot_answer_text:
            return Say(self.policy.robot_answer_text, "campaign:disclosure", "campaign", "say", False, True)
        return self._say(self._special[NodeKind.DISCLOSURE], "say")

    # -- scoring --------------------------------------------------------------------------------------

    def _reached(self) -> None:
        if not self._spoke:
            self._spoke = True
            self._scorer.observe(Evidence(event="reached"))
        self._moved_on_silent = False

    def _evidence(self, u: Understanding, t_s: float, node: Node | None) -> Evidence:
        slot = u.slots.time
        return Evidence.of_reply(u, node, (slot.start - self._at(t_s)).total_seconds() / 86400 if slot else None)

    def _at(self, t_s: float) -> datetime:
        return self._now + timedelta(seconds=max(0.0, t_s - self._t0_s))

    @cached_property
    def _faq_matcher(self) -> FaqMatcher:
        return self._faq or FaqMatcher(self.script.faq, self.classifier.encoder)

    @cached_property
    def _question_matcher(self) -> QuestionMatcher:
        return QuestionMatcher(self.script)
