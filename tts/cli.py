"""What the `callcenter voice ...` and `callcenter say` commands run; typer wiring lives in callcenter_cli.py.

Each function returns plain data for the CLI to print, and raises a clear error (EnrollmentError,
FileNotFoundError, LookupError) for it to show. Profiles live under `$CALLCENTER_VOICES_DIR`
(default `var/voices`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tts.clone import cli_options, load_clone
from tts.enroll import enroll
from tts.match import PhoneBandEmbedder, example_text, voice_report
from tts.profile_cache import close_engines, prerender_profile
from tts.say import profile_engine, say_to_wav
from tts.voice_profile import VoiceProfile, VoiceProfileEngine

VOICES_DIR_ENV = "CALLCENTER_VOICES_DIR"


def profiles_root() -> Path:
    return Path(os.environ.get(VOICES_DIR_ENV, "var/voices"))


def load_profile(agent: str) -> VoiceProfile:
    return VoiceProfile.load(profiles_root() / agent)


def enroll_cmd(agent: str, dir: Path) -> dict[str, Any]:  # `dir`: the CLI option is --dir
    """`voice enroll --agent ID --dir WAVS`: validate and store; raises EnrollmentError listing every file."""
    target = enroll(agent, Path(dir), profiles_root())
    profile = VoiceProfile.load(target)
    return {
        "agent": agent, "profile": str(target), "recordings": len(profile.recordings),
        "references": len(profile.references), "median_f0_hz": profile.median_f0_hz,
    }  # fmt: skip


def report_cmd(agent: str) -> dict[str, Any]:
    """`voice report --agent ID`: coverage, per-line source and match score, lines on the stock voice."""
    profile = load_profile(agent)
    texts = [example_text(line, profile.script.first_names, profile.script.language) for line in profile.script.lines]
    engine = agent_engine(profile, texts)
    try:
        return voice_report(profile, engine, PhoneBandEmbedder()).to_dict()
    finally:
        close_engines(engine)


def say_cmd(
    voice: str, text: str, out: Path, clone_model: Path | None = None, clone_config: Path | None = None
) -> dict[str, Any]:
    """`say --voice ID "text" out.wav`: 8 kHz WAV; says which source (recording / clone / stock) spoke.
    The clone is the coqui model given on the command line, else the one the profile's manifest names."""
    profile = load_profile(voice)
    engine = agent_engine(profile, [text], clone_model, clone_config)
    try:
        info, duration_s = say_to_wav(engine, text, Path(out))
    finally:
        close_engines(engine)
    return {"out": str(out), "source": info.source, "engine": info.engine, "duration_s": round(duration_s, 2)}


def prerender_cmd(
    agent: str, rate_hz: int = 8000, clone_model: Path | None = None, clone_config: Path | None = None
) -> dict[str, Any]:
    """`voice prerender --agent ID`: every fixed script line into the profile's phrase cache (idempotent)."""
    profile = load_profile(agent)

    def factory(profile: VoiceProfile, texts: Sequence[str]) -> VoiceProfileEngine:
        return agent_engine(profile, texts, clone_model, clone_config)

    return asyncio.run(prerender_profile(profile, factory, rates_hz=(rate_hz,))).to_dict()


def agent_engine(
    profile: VoiceProfile, texts: Sequence[str], clone_model: Path | None = None, clone_config: Path | None = None
) -> VoiceProfileEngine:
    """Recordings, then the clone (command line, else manifest; started only when some text needs it),
    then the stock voice. Blocking: it may start the coqui server or load Piper."""
    override = cli_options(clone_model, clone_config)
    needs_model = any(profile.plan(text) is None for text in texts)
    clone = load_clone(profile, override) if needs_model else None
    return profile_engine(profile, texts, clone=clone)
