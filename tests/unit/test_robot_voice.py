"""The robot speaks a campaign's agent voice: `session.robot.load_voice` builds it from the agent's profile, with
the robot's own stock engine behind the recordings, and prerenders the scripts' fixed lines in it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scripts_library.catalog import load_catalog
from session.robot import Language, RobotConfig, load_voice
from tts import CachedEngine, PhraseCache
from tts.engine import ClauseEngine
from tts.enroll import enroll
from tts.match import render

from .test_tts_enroll import speechlike, write

pytestmark = pytest.mark.unit


class StockSynth:
    native_rate_hz = 8000
    engine = "stock"
    voice = "joe"

    def __init__(self) -> None:
        self.clauses: list[str] = []

    def synthesize(self, clause: str) -> np.ndarray:
        self.clauses.append(clause)
        return np.full(800, 0.1, dtype=np.float32)


def test_an_agent_voice_speaks_recordings_first_and_the_robot_stock_voice_otherwise(tmp_path: Path) -> None:
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    write(wavs / "one-moment-please.wav", speechlike())
    (wavs / "script.yaml").write_text('lines:\n  hold: "One moment, please."\n', encoding="utf-8")
    enroll("dana", wavs, tmp_path / "voices", require_all=False)
    synth = StockSynth()
    stock = ClauseEngine(synth)  # type: ignore[arg-type]
    languages = {"en": Language(asr=None, engine=stock, tts=CachedEngine(stock, PhraseCache(None), "v"))}
    config = RobotConfig(voices=("dana",), voices_dir=tmp_path / "voices", phrase_dir=None)
    script = load_catalog()["insurance-en"]
    try:
        voice = asyncio.run(load_voice("dana", config, languages, [script]))
        assert synth.clauses, "the script's fixed lines were prerendered with the stock voice behind the recordings"
        said = len(synth.clauses)
        _, info = asyncio.run(render(voice, "One moment, please.", 8000))
        assert (info.source, info.voice) == ("recording", "dana")
        _, info = asyncio.run(render(voice, "Something never recorded.", 8000))
        assert info.source == "stock" and len(synth.clauses) > said
        with pytest.raises(ValueError, match="expected a loaded script in its language"):
            asyncio.run(load_voice("dana", config, {}, [script]))
    finally:
        stock.close()


def test_an_unknown_agent_voice_fails_at_load(tmp_path: Path) -> None:
    config: Any = RobotConfig(voices=("nobody",), voices_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="voice profile manifest"):
        asyncio.run(load_voice("nobody", config, {}, []))
