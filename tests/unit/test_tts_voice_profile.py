"""Source selection (recording > clone > stock) with fakes, and the profile's frames at 8 and 16 kHz."""

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from telephony.frames import frame_bytes
from tts.engine import ClauseEngine, RenderInfo
from tts.enroll import enroll
from tts.match import example_text, render
from tts.voice_profile import MANIFEST, Script, VoiceProfile, VoiceProfileEngine

from .test_tts_enroll import speechlike, write

pytestmark = pytest.mark.unit


class FakeSynth:
    native_rate_hz = 8000

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.voice = "fake"

    def synthesize(self, clause: str) -> np.ndarray:
        return np.full(800, 0.1, dtype=np.float32)


@pytest.fixture
def profile(tmp_path: Path) -> VoiceProfile:
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    for key in ["one-moment-please", "your-appointment-is-on", "at", "tuesday", "3", "p-m"]:
        write(wavs / f"{key}.wav", speechlike())
    (wavs / "script.yaml").write_text(
        'lines:\n  hold: "One moment, please."\n  appt: "Your appointment is on {day} at {time}."\n'
        '  bye: "Thank you, goodbye."\n',
        encoding="utf-8",
    )
    return VoiceProfile.load(enroll("a1", wavs, tmp_path / "voices", require_all=False))


def source_of(engine: VoiceProfileEngine, text: str, rate_hz: int = 8000) -> RenderInfo:
    return asyncio.run(render(engine, text, rate_hz))[1]


def test_recordings_win_over_clone_and_stock(profile: VoiceProfile) -> None:
    engine = VoiceProfileEngine(profile, clone=ClauseEngine(FakeSynth("clone")), stock=ClauseEngine(FakeSynth("s")))
    assert engine.select("One moment, please.") == ("recording", ["one-moment-please"])
    info = source_of(engine, "Your appointment is on Tuesday at 3 pm.")
    assert (info.source, info.engine, info.voice) == ("recording", "recordings", "a1")


def test_clone_then_stock_for_what_was_not_recorded(profile: VoiceProfile) -> None:
    stock = ClauseEngine(FakeSynth("piper"))
    both = VoiceProfileEngine(profile, clone=ClauseEngine(FakeSynth("coqui")), stock=stock)
    info = source_of(both, "Thank you, goodbye.")
    assert (info.source, info.engine) == ("clone", "coqui")
    info = source_of(VoiceProfileEngine(profile, stock=stock), "Your appointment is on Friday at 3 pm.")
    assert (info.source, info.engine) == ("stock", "piper")


def test_no_voice_for_unrecorded_text_raises(profile: VoiceProfile) -> None:
    with pytest.raises(LookupError, match="expected a recording, clone or stock voice"):
        VoiceProfileEngine(profile).stream("Thank you, goodbye.", 8000)


@pytest.mark.parametrize("rate_hz", [8000, 16000])
def test_recorded_utterance_comes_as_20ms_frames(profile: VoiceProfile, rate_hz: int) -> None:
    engine = VoiceProfileEngine(profile)

    async def frames() -> list[bytes]:
        return [f.pcm async for f in engine.stream("Your appointment is on Tuesday at 3 pm", rate_hz)]

    pcm = asyncio.run(frames())
    assert {len(p) for p in pcm} == {frame_bytes(rate_hz)}
    assert 5 * 0.6 < len(pcm) * 0.020 < 5 * 1.0 + 0.5  # five pieces of ≈0.6-1 s each plus gaps


def test_a_manifest_without_a_language_is_english(profile: VoiceProfile) -> None:
    manifest = profile.directory / MANIFEST
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["script"].pop("language") == "en"  # written by enrollment now, absent from older manifests
    manifest.write_text(json.dumps(data), encoding="utf-8")
    older = VoiceProfile.load(profile.directory)
    assert older.script.language == "en"
    assert older.plan("Your appointment is on Tuesday at 3 pm.") == ["your-appointment-is-on", "tuesday", "at",
                                                                      "3", "p-m"]  # fmt: skip


def test_example_text_fills_slots() -> None:
    script = Script.from_dict({"lines": {"a": "On {day} at {time}, {first_name}."}, "first_names": ["Ana"]})
    assert example_text(script.lines[0], script.first_names) == "On Tuesday at 3 pm, Ana."
