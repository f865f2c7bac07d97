"""Build an agent's speaking engine and render one utterance to a WAV file (what `callcenter say` runs)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from tts.audio import write_wav
from tts.engine import ClauseEngine, RenderInfo, TtsEngine
from tts.fallback import FallbackEngine
from tts.match import render
from tts.psola import PsolaParams, PsolaSynthesizer, long_term_spectrum, psola_available
from tts.voice_profile import VoiceProfile, VoiceProfileEngine


def stock_engine(profile: VoiceProfile, *, psola: bool = True) -> TtsEngine:
    """Piper joe, PSOLA-shifted toward the agent when praat-parselmouth is installed (blocks ≈2 s); espeak-ng
    speaks instead if Piper cannot load or fails before its first frame."""
    from tts.espeak_engine import load_espeak_engine

    return FallbackEngine.load([("piper", lambda: _piper(profile, psola)), ("espeak-ng", load_espeak_engine)])


def _piper(profile: VoiceProfile, psola: bool) -> ClauseEngine:
    from tts.piper_engine import PiperSynthesizer

    piper = PiperSynthesizer.load()
    if not (psola and psola_available()):
        return ClauseEngine(piper)
    params = PsolaParams(pitch_median_hz=profile.median_f0_hz or PsolaParams().pitch_median_hz)
    target = long_term_spectrum(profile.reference_audio(8000), 8000)
    return ClauseEngine(PsolaSynthesizer(piper, params, target))


def profile_engine(
    profile: VoiceProfile, texts: Iterable[str], *, clone: TtsEngine | None = None, psola: bool = True
) -> VoiceProfileEngine:
    """Recordings first, then `clone`, then the stock voice, which is loaded only when one of `texts`
    cannot be spoken from the recordings (loading Piper costs ≈2 s)."""
    engine = VoiceProfileEngine(profile, clone=clone)
    if clone is None and any(profile.plan(text) is None for text in texts):
        engine.stock = stock_engine(profile, psola=psola)
    return engine


def say_to_wav(engine: TtsEngine, text: str, out: Path, rate_hz: int = 8000) -> tuple[RenderInfo, float]:
    """Render `text` into `out` (16-bit mono at `rate_hz`); returns how it was rendered and its duration (s)."""
    pcm, info = asyncio.run(render(engine, text, rate_hz))
    write_wav(out, pcm, rate_hz)
    return info, len(pcm) / rate_hz
