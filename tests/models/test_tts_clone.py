"""The clone hook for real: a profile whose manifest names the tiny local VITS speaks unrecorded lines with it.

The model is built by `coqui_tiny.py` (random weights: noise, so the checks are on source, framing and
level) and the server runs with no network, as in test_tts_coqui.py.
"""

import asyncio
import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tts.clone import clone_options
from tts.coqui_engine import CoquiEngine, CoquiOptions, load_coqui_engine
from tts.enroll import enroll
from tts.match import render
from tts.phrase_cache import PhraseCache
from tts.profile_cache import CachedProfileEngine, prerender_profile
from tts.say import profile_engine
from tts.voice_profile import MANIFEST, VoiceProfile, VoiceProfileEngine

from ..unit.test_tts_enroll import speechlike, write
from .test_tts_coqui import _coqui_venv, no_network_options, tiny_model

pytestmark = pytest.mark.models
__all__ = ["_coqui_venv", "tiny_model"]  # fixtures shared with test_tts_coqui.py

UNRECORDED = "Thank you for your time, goodbye."


@pytest.fixture
def profile(tmp_path: Path, tiny_model: CoquiOptions) -> VoiceProfile:
    """A partial profile whose manifest names the tiny VITS (copied into the profile, paths relative)."""
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    write(wavs / "one-moment-please.wav", speechlike())
    (wavs / "script.yaml").write_text(f'lines:\n  hold: "One moment, please."\n  bye: "{UNRECORDED}"\n')
    folder = enroll("a1", wavs, tmp_path / "voices", require_all=False)
    shutil.copytree(tiny_model.model_path.parent, folder / "clone")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["clone"] = {
        "engine": "coqui",
        "model_path": f"clone/{tiny_model.model_path.name}",
        "config_path": f"clone/{tiny_model.config_path.name}",
    }
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return VoiceProfile.load(folder)


@pytest.fixture
def clone(profile: VoiceProfile) -> Iterator[CoquiEngine]:
    options = clone_options(profile)
    assert options is not None and options.model_path.is_relative_to(profile.directory)
    engine = load_coqui_engine(replace(options, **no_network_options()))
    yield engine
    engine.close()


def test_unrecorded_line_is_spoken_by_the_manifest_clone(profile: VoiceProfile, clone: CoquiEngine) -> None:
    engine = profile_engine(profile, [UNRECORDED], clone=clone)
    assert engine.stock is None  # the clone comes before the stock voice, which never loads
    pcm, info = asyncio.run(asyncio.wait_for(render(engine, UNRECORDED, 8000), 120.0))
    assert (info.source, info.engine) == ("clone", "coqui")
    assert len(pcm) % 160 == 0 and len(pcm) > 8000 // 2
    assert np.sqrt(np.mean((pcm.astype(np.float64) / 32768) ** 2)) > 0.01  # noise, not silence
    recorded = asyncio.run(render(engine, "One moment, please.", 8000))[1]
    assert recorded.source == "recording"


def test_clone_lines_prerender_and_replay_from_the_cache(
    profile: VoiceProfile, clone: CoquiEngine, tmp_path: Path
) -> None:
    def factory(profile: VoiceProfile, texts: Sequence[str]) -> VoiceProfileEngine:
        return VoiceProfileEngine(profile, clone=clone)

    async def scenario() -> None:
        first = await prerender_profile(profile, factory, tmp_path / "cache")
        assert (first.rendered, first.cached) == (2, 0)
        engine = CachedProfileEngine(factory(profile, []), PhraseCache(tmp_path / "cache"))
        assert await engine.prerender([UNRECORDED], 8000) == 0
        stream = engine.stream(UNRECORDED, 8000)
        await stream.__anext__()
        assert stream.info.cached and (stream.info.source, stream.info.engine) == ("clone", "coqui")
        await stream.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 120.0))
