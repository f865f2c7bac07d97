"""The customer simulator: a real SIP peer (baresip-python, not the robot's pjsua2) that plays personas.

Run it as its own process (`python -m telephony.simulator`, see `__main__`) or from Python with
`SimulatorProcess`. Personas are YAML (docs/simulator.md); every call leaves `timeline.json`, `heard.wav` and
`said.wav` under `<out>/<NNN>-<persona_id>/`, the ground truth for latency figures.
"""

from telephony.simulator.persona import AnswerMode, Persona, PersonaError, Turn, Utterance, Voicemail, load_personas
from telephony.simulator.process import SimulatorProcess, SimulatorStartError
from telephony.simulator.timeline import CallResult, load_results
from telephony.simulator.turns import Conversation, EnergyVad, HangupPolicy, TurnPlan, VadOptions, VoiceActivity

__all__ = [
    "AnswerMode",
    "CallResult",
    "Conversation",
    "EnergyVad",
    "HangupPolicy",
    "Persona",
    "PersonaError",
    "SimulatorProcess",
    "SimulatorStartError",
    "Turn",
    "TurnPlan",
    "Utterance",
    "VadOptions",
    "VoiceActivity",
    "Voicemail",
    "load_personas",
    "load_results",
]
