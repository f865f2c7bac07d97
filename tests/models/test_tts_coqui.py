"""coqui-tts for real, in its own venv: a tiny random-weight VITS built here, loaded offline from local files.

The model is built by `coqui_tiny.py` with the coqui venv's python. The server runs with no network: in a
fresh network namespace (`unshare -n`, as root) where possible, else with every proxy pointed at a closed
port, so any download attempt would fail the load. Random weights speak noise, so the checks are on framing
and level, not on words. Skipped when `.venv-coqui` is not built.
"""

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.models.tts_checks import assert_cancel_stops_the_stream, assert_whole_frames, voiced_share
from tts.coqui_engine import (
    CoquiEngine,
    CoquiModelError,
    CoquiOptions,
    coqui_available,
    default_python,
    load_coqui_engine,
)

pytestmark = pytest.mark.models


@pytest.fixture(autouse=True)
def _coqui_venv() -> None:
    """`make test` builds .venv-coqui; without it these tests fail rather than pass by skipping."""
    if not coqui_available():
        pytest.fail("the coqui venv is missing: run `make speech-venvs` (see docs/tts.md)")


SENTENCE = "Hi, this is Sarah from Acme Solar. Would Tuesday at three work for you?"
CLOSED_PORT_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens, so every request fails at once


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 120.0))


def no_network_options() -> dict[str, Any]:
    """`unshare -n` when this user may create a network namespace; proxies to a closed port otherwise."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return {"command_prefix": (unshare, "-n")}
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    return {"env": dict.fromkeys(proxies, CLOSED_PORT_PROXY) | {"NO_PROXY": "", "no_proxy": ""}}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> CoquiOptions:
    out_dir = tmp_path_factory.mktemp("coqui") / "tiny-vits"
    builder = Path(__file__).with_name("coqui_tiny.py")
    done = subprocess.run(
        [str(default_python()), str(builder), str(out_dir)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    paths = json.loads(done.stdout.strip().splitlines()[-1])
    assert os.path.getsize(paths["model_path"]) < 5_000_000  # tiny: a few MB at most
    return CoquiOptions(Path(paths["model_path"]), Path(paths["config_path"]), **no_network_options())


@pytest.fixture(scope="module")
def engine(tiny_model: CoquiOptions) -> Iterator[CoquiEngine]:
    loaded = load_coqui_engine(tiny_model)
    run(loaded.warm_up)
    yield loaded
    loaded.close()


@pytest.mark.parametrize("rate_hz", [8000, 16000])
def test_tiny_vits_renders_non_silent_20ms_frames_offline(engine: CoquiEngine, rate_hz: int) -> None:
    stream = engine.stream(SENTENCE, rate_hz)
    frames = run(lambda: _drain(stream))
    assert_whole_frames(frames, rate_hz)
    assert len(frames) > 25  # more than half a second for 13 words, even from random weights
    assert voiced_share(frames) > 0.5  # noise from random weights, but not silence
    assert stream.info.engine == "coqui" and engine.synth.model == "Vits"
    assert engine.synth.native_rate_hz == 22050


def test_cancel_mid_utterance_stops_the_stream(engine: CoquiEngine) -> None:
    assert_cancel_stops_the_stream(engine, SENTENCE + " " + SENTENCE, close_timeout_s=30.0, timeout_s=120.0)


def test_spoken_text_never_reaches_the_server_log(engine: CoquiEngine) -> None:
    run(lambda: _drain(engine.stream("Zebra quartz vocabulary.", 8000)))
    assert engine.synth.running
    assert "zebra" not in engine.synth._diagnostics().lower()


def test_a_file_that_is_no_checkpoint_is_a_clear_error(tiny_model: CoquiOptions) -> None:
    with pytest.raises(CoquiModelError, match=r"coqui model failed to load from .*config\.json"):
        load_coqui_engine(replace(tiny_model, model_path=tiny_model.config_path))


def test_a_missing_model_path_is_a_clear_error(tiny_model: CoquiOptions, tmp_path: Path) -> None:
    with pytest.raises(CoquiModelError, match="coqui model_path not found"):
        load_coqui_engine(replace(tiny_model, model_path=tmp_path / "gone.pth"))


async def _drain(stream: Any) -> list[Any]:
    return [frame async for frame in stream]
