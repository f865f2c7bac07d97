"""Speech synthesis: text in, 20 ms `AudioFrame`s at the line rate out, cancellable within one frame.

`engine.py` is the seam (`TtsEngine`, `TtsStream`, `Synthesizer`, `ClauseEngine`); the model adapters sit
beside it (`piper_engine.py`, `espeak_engine.py`) and load their models lazily, so importing `tts` stays cheap.
"""

from tts.engine import ClauseEngine, RenderInfo, Synthesizer, TtsEngine, TtsStream, VoiceSource
from tts.espeak_engine import EspeakSynthesizer, load_espeak_engine
from tts.phrase_cache import CachedEngine, PhraseCache
from tts.piper_engine import PiperSynthesizer, load_piper_engine
from tts.text import split_clauses

__all__ = [
    "CachedEngine",
    "ClauseEngine",
    "EspeakSynthesizer",
    "PhraseCache",
    "PiperSynthesizer",
    "RenderInfo",
    "Synthesizer",
    "TtsEngine",
    "TtsStream",
    "VoiceSource",
    "load_espeak_engine",
    "load_piper_engine",
    "split_clauses",
]
