"""The live call: one session per answered call, wiring telephony <-> ASR <-> dialogue <-> TTS.

    session = CallSession(call, dialogue, tts, recognizers, call_id="c42", store=JsonRecordStore(dir))
    record = await session.run()

Modules: `call_session.py` (the session and its tasks), `conversation.py` (turn-taking: recognizer events,
barge-in, dialogue actions), `bargein.py` (the pure barge-in policy), `voice.py` (the robot's voice),
`switch.py` (the one outbound swap point), `outbound.py` (the 20 ms pump to the call), `inbound.py` (the
inbound stream's clock), `jitter.py` (the agent's jitter buffer), `agent.py` (the agent's channel),
`listen.py` (listen-in fan-out and whisper), `events.py` (the per-call event stream), `record.py` (the call
record and its store), `brain.py` (the dialogue off the loop), `seams.py` (the interfaces). The WebSockets
to the console are `agent_console/media_ws.py`. docs/session.md has the formats.
Answering-machine detection plugs in through `seams.MachineDetector` (`session.amd`).
"""

from session.agent import AgentChannel, ChannelClosed
from session.bargein import BargeInConfig, BargeInPolicy, Decision, is_backchannel, resume_frame
from session.call_session import CallSession, SessionConfig, TakeoverError
from session.conversation import Timings
from session.events import (
    CallEventStream,
    EndedEvent,
    EventSubscription,
    HandoffEvent,
    RecommendationsEvent,
    ScoreEvent,
    SessionEvent,
    SpeakingEvent,
    StateEvent,
    SubscriberLagged,
    TranscriptEvent,
    event_json,
)
from session.jitter import AgentJitterBuffer, JitterConfig, JitterStats
from session.listen import ListenHub, ListenSubscription, mix
from session.record import CallRecord, JsonRecordStore, RecordBuilder, RecordStore, TranscriptLine
from session.seams import AmdResult, CallLeg, Dialogue, FrameSource, MachineDetector, Recognizer
from session.switch import OutboundSwitch, Source

__all__ = [
    "AgentChannel",
    "AgentJitterBuffer",
    "AmdResult",
    "BargeInConfig",
    "BargeInPolicy",
    "CallEventStream",
    "CallLeg",
    "CallRecord",
    "CallSession",
    "ChannelClosed",
    "Decision",
    "Dialogue",
    "EndedEvent",
    "EventSubscription",
    "FrameSource",
    "HandoffEvent",
    "JitterConfig",
    "JitterStats",
    "JsonRecordStore",
    "ListenHub",
    "ListenSubscription",
    "MachineDetector",
    "OutboundSwitch",
    "Recognizer",
    "RecommendationsEvent",
    "RecordBuilder",
    "RecordStore",
    "ScoreEvent",
    "SessionConfig",
    "SessionEvent",
    "Source",
    "SpeakingEvent",
    "StateEvent",
    "SubscriberLagged",
    "TakeoverError",
    "Timings",
    "TranscriptEvent",
    "TranscriptLine",
    "event_json",
    "is_backchannel",
    "mix",
    "resume_frame",
]
