"""The clone hook: a coqui model named by the manifest or the CLI speaks unrecorded text (fake clone engine)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import tts.cli
from callcenter_cli import app
from tts.cli import VOICES_DIR_ENV, say_cmd
from tts.clone import cli_options, clone_options
from tts.coqui_engine import CoquiOptions
from tts.engine import ClauseEngine
from tts.enroll import enroll
from tts.voice_profile import MANIFEST, VoiceProfile

from .test_tts_enroll import speechlike, write

pytestmark = pytest.mark.unit


class FakeCloneSynth:
    engine = "coqui"
    voice = "tiny"
    native_rate_hz = 8000

    def synthesize(self, clause: str) -> np.ndarray:
        return np.full(800, 0.1, dtype=np.float32)


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> VoiceProfile:
    monkeypatch.setenv(VOICES_DIR_ENV, str(tmp_path / "voices"))
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    write(wavs / "one-moment-please.wav", speechlike())
    (wavs / "script.yaml").write_text('lines:\n  hold: "One moment, please."\n  bye: "Goodbye."\n', encoding="utf-8")
    return VoiceProfile.load(enroll("a1", wavs, tmp_path / "voices", require_all=False))


def configure_clone(profile: VoiceProfile, **extra: Any) -> None:
    (profile.directory / "clone").mkdir()
    for name in ("model.pth", "config.json"):
        (profile.directory / "clone" / name).write_text("{}", encoding="utf-8")
    manifest = json.loads((profile.directory / MANIFEST).read_text(encoding="utf-8"))
    manifest["clone"] = {"engine": "coqui", "model_path": "clone/model.pth", "config_path": "clone/config.json"}
    manifest["clone"].update(extra)
    (profile.directory / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture
def fake_coqui(monkeypatch: pytest.MonkeyPatch) -> list[CoquiOptions]:
    """Replaces starting the coqui server; records the options it was asked to start with."""
    started: list[CoquiOptions] = []

    def load(options: CoquiOptions) -> ClauseEngine:
        started.append(options)
        return ClauseEngine(FakeCloneSynth())

    def no_stock(*args: Any, **kwargs: Any) -> ClauseEngine:
        raise AssertionError("the stock voice must not load when a clone is configured")

    monkeypatch.setattr("tts.clone.load_coqui_engine", load)
    monkeypatch.setattr("tts.say.stock_engine", no_stock)
    return started


def test_manifest_paths_resolve_against_the_profile(profile: VoiceProfile) -> None:
    assert clone_options(profile) is None
    configure_clone(profile, language="en")
    options = clone_options(profile)
    assert options is not None
    assert options.model_path == profile.directory / "clone" / "model.pth" and options.language == "en"


def test_a_missing_clone_file_names_the_manifest(profile: VoiceProfile) -> None:
    configure_clone(profile, config_path="clone/gone.json")
    with pytest.raises(FileNotFoundError, match=r"manifest\.json: clone\.config_path not found: .*gone\.json"):
        clone_options(profile)


def test_cli_needs_both_clone_paths(tmp_path: Path) -> None:
    assert cli_options(None, None) is None
    with pytest.raises(ValueError, match="expected both --clone-model and --clone-config"):
        cli_options(tmp_path, None)


def test_the_manifest_clone_speaks_unrecorded_text_before_the_stock_voice(
    profile: VoiceProfile, fake_coqui: list[CoquiOptions], tmp_path: Path
) -> None:
    configure_clone(profile)
    result = say_cmd("a1", "Goodbye.", tmp_path / "bye.wav")
    assert (result["source"], result["engine"]) == ("clone", "coqui")
    assert [o.model_path.name for o in fake_coqui] == ["model.pth"]
    assert say_cmd("a1", "One moment, please.", tmp_path / "hold.wav")["source"] == "recording"
    assert len(fake_coqui) == 1  # recorded text starts no coqui server


def test_cli_clone_paths_win_and_prerender_prints_json(
    profile: VoiceProfile, fake_coqui: list[CoquiOptions], tmp_path: Path
) -> None:
    model, config = tmp_path / "m.pth", tmp_path / "c.json"
    model.write_bytes(b"")
    config.write_text("{}", encoding="utf-8")
    args = ["voice", "prerender", "--agent", "a1", "--clone-model", str(model), "--clone-config", str(config)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output).keys() == {"rendered", "cached", "seconds"}
    assert json.loads(first.output)["rendered"] == 2
    assert fake_coqui[0].model_path == model
    again = json.loads(CliRunner().invoke(app, args).output)
    assert (again["rendered"], again["cached"]) == (0, 2)


def test_prerender_of_an_unknown_agent_is_a_clear_error(profile: VoiceProfile) -> None:
    out = CliRunner().invoke(app, ["voice", "prerender", "--agent", "nobody"])
    assert out.exit_code == 1 and "run voice enroll" in out.output
    assert tts.cli.profiles_root() == profile.directory.parent
