"""What the `callcenter voice ...` and `callcenter say` commands run; typer wiring lives in callcenter_cli.py.

Each function returns plain data for the CLI to print, and raises a clear error (EnrollmentError,
FileNotFoundError, LookupError) for it to show. Profiles live under `$CALLCENTER_VOICES_DIR`
(default `var/voices`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tts.enroll import enroll
from tts.match import PhoneBandEmbedder, example_text, voice_report
from tts.say import profile_engine, say_to_wav
from tts.voice_profile import VoiceProfile

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
    texts = [example_text(line, profile.script.first_names) for line in profile.script.lines]
    engine = profile_engine(profile, texts)
    return voice_report(profile, engine, PhoneBandEmbedder()).to_dict()


def say_cmd(voice: str, text: str, out: Path) -> dict[str, Any]:
    """`say --voice ID "text" out.wav`: 8 kHz WAV; says which source (recording / clone / stock) spoke."""
    profile = load_profile(voice)
    info, duration_s = say_to_wav(profile_engine(profile, [text]), text, Path(out))
    return {"out": str(out), "source": info.source, "engine": info.engine, "duration_s": round(duration_s, 2)}
