"""The robot's brain: a pure, synchronous dialogue engine per call, fed events, returning actions.

    classifier = IntentClassifier(script.intents, script.language, default_encoder(script.language))  # per script
    engine = DialogueEngine(script, CampaignPolicy(...), classifier, now=lead_local_now, seed=call_id)  # per call
    actions = engine.start()                       # on answer: the opening
    actions = engine.handle(CustomerText(text, confidence, t_s))

See docs/dialogue.md for the flow, the scoring table and the measurements behind the defaults.
"""

from dialogue.actions import (
    Action,
    Book,
    EndCall,
    Listen,
    MarkDoNotCall,
    Outcome,
    RequestHuman,
    Say,
    SayKind,
    ScheduleCallback,
    ScoreUpdate,
    StopSpeaking,
)
from dialogue.engine import DialogueEngine, EngineState
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
    SpeechDone,
    Takeover,
)
from dialogue.policy import CampaignPolicy
from dialogue.scoring import Category, Evidence, Grade, LeadScorer, Score, ScoreSignal
from dialogue.slots import Amount, TimeSlot, parse_amount, parse_time, parse_yes_no
from dialogue.understand import FaqMatcher, IntentClassifier, QuestionMatcher, Slots, Understanding, default_encoder

__all__ = [
    "Action",
    "AgentText",
    "Amount",
    "BargeIn",
    "Book",
    "CallAnswered",
    "CampaignPolicy",
    "Category",
    "CustomerText",
    "DialogueEngine",
    "Dtmf",
    "EndCall",
    "EngineState",
    "Event",
    "Evidence",
    "FaqMatcher",
    "Grade",
    "HandBack",
    "HandoffTimeout",
    "IllegalEvent",
    "IntentClassifier",
    "LeadScorer",
    "Listen",
    "MachineDetected",
    "MarkDoNotCall",
    "Outcome",
    "Phase",
    "QuestionMatcher",
    "RequestHuman",
    "Say",
    "SayKind",
    "ScheduleCallback",
    "Score",
    "ScoreSignal",
    "ScoreUpdate",
    "Silence",
    "Slots",
    "SpeechDone",
    "StopSpeaking",
    "Takeover",
    "TimeSlot",
    "Understanding",
    "default_encoder",
    "parse_amount",
    "parse_time",
    "parse_yes_no",
]
