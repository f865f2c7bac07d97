"""The coqui engine at its process seam, with a fake model behind the real server loop: framing, cancel, errors.

The fake server imports `tts/servers/coqui_server.py` from that folder (as the coqui venv runs it) and serves
a 440 Hz tone of 10 ms per character at 22.05 kHz; its behaviour per clause is picked by the text ("fail",
"die", "slow", "hang"), at start-up by FAKE_MODE. The real server's path checks run here too: they fail
before torch or TTS would be imported, so the main venv's python is enough.
"""

import asyncio
import io
import json
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tts.coqui_engine import (
    SERVER_SCRIPT,
    CoquiEngine,
    CoquiModelError,
    CoquiOptions,
    CoquiSynthesizer,
    CoquiUnavailable,
    load_coqui_engine,
)
from tts.engine import TtsStream
from tts.servers import coqui_server, wire

pytestmark = pytest.mark.unit

FAKE_RATE_HZ = 22050
FAKE_SERVER = f"""
import os, sys, time
sys.path.insert(0, {str(SERVER_SCRIPT.parent)!r})
import numpy as np
import coqui_server, wire
mode = os.environ.get("FAKE_MODE", "")
if mode == "crash":
    sys.stderr.write("fake: cannot load\\n")
    sys.exit(3)
if mode == "hang":
    time.sleep(30)
out = wire.take_stdout()

def synthesize(request):
    text = request["text"]
    if "fail" in text:
        raise RuntimeError("the model failed")
    if "die" in text:
        os._exit(3)
    if "slow" in text:
        time.sleep(0.5)
    if "hang" in text:
        time.sleep(30)
    t = np.arange(len(text) * {FAKE_RATE_HZ} // 100) / {FAKE_RATE_HZ}
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)

wire.write_json(out, {{"ready": True, "sample_rate_hz": {FAKE_RATE_HZ}, "model": "Fake"}})
coqui_server.serve(synthesize, {FAKE_RATE_HZ}, sys.stdin.buffer, out)
"""


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 20.0))


async def drain(stream: TtsStream) -> list[Any]:
    return [frame async for frame in stream]


@pytest.fixture
def model_files(tmp_path: Path) -> tuple[Path, Path]:
    model, config = tmp_path / "voice" / "model.pth", tmp_path / "voice" / "config.json"
    model.parent.mkdir()
    model.write_bytes(b"not a real checkpoint")
    config.write_text(json.dumps({"model": "vits"}))
    return model, config


@pytest.fixture
def fake_options(tmp_path: Path, model_files: tuple[Path, Path]) -> CoquiOptions:
    script = tmp_path / "fake_coqui_server.py"
    script.write_text(FAKE_SERVER)
    return CoquiOptions(*model_files, python=Path(sys.executable), server_script=script, stop_timeout_s=2.0)


@pytest.fixture
def engine(fake_options: CoquiOptions) -> Iterator[CoquiEngine]:
    loaded = load_coqui_engine(fake_options)
    yield loaded
    loaded.close()


@pytest.mark.parametrize(("rate_hz", "frame_bytes"), [(8000, 320), (16000, 640)])
def test_streams_resampled_20ms_frames(engine: CoquiEngine, rate_hz: int, frame_bytes: int) -> None:
    text = "Hi, this is Sarah. Would Tuesday work for you?"
    stream = engine.stream(text, rate_hz)
    frames = run(lambda: drain(stream))
    assert {len(f.pcm) for f in frames} == {frame_bytes}
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
    expected_s = sum(len(clause) for clause in ("Hi, this is Sarah.", "Would Tuesday work for you?")) / 100
    assert abs(len(frames) * 0.020 - expected_s) < 0.06  # resampling keeps the length; one padded frame
    pcm = np.concatenate([f.samples for f in frames]).astype(np.float64) / 32768
    assert 0.3 < np.sqrt(np.mean(pcm[: rate_hz // 2] ** 2)) < 0.4  # the 0.5-amplitude tone, not silence
    assert stream.info.engine == "coqui" and stream.info.voice == "voice"
    assert engine.synth.native_rate_hz == FAKE_RATE_HZ and engine.synth.model == "Fake"


def test_cancel_stops_within_one_frame_and_keeps_the_pipe_in_step(engine: CoquiEngine) -> None:
    async def scenario() -> None:
        stream = engine.stream("One two three. This clause is slow to render. Never heard.", 8000)
        for _ in range(5):
            await stream.__anext__()
        started = time.monotonic()
        stream.cancel()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        assert time.monotonic() - started < 0.020
        await asyncio.wait_for(stream.aclose(), 5.0)  # waits for the clause being rendered
        assert stream.frames_out == 5
        frames = await drain(engine.stream("Next utterance.", 8000))
        assert len(frames) == 8  # 150 ms -> 7.5 frames, padded

    run(scenario)


def test_a_failed_clause_raises_and_the_server_serves_on(engine: CoquiEngine) -> None:
    with pytest.raises(RuntimeError, match="could not render a clause: RuntimeError: the model failed"):
        run(lambda: drain(engine.stream("This will fail.", 8000)))
    assert engine.synth.running
    assert len(run(lambda: drain(engine.stream("Fine again.", 8000)))) == 6


def test_a_dead_server_raises_with_its_exit_code(engine: CoquiEngine) -> None:
    with pytest.raises(RuntimeError, match=r"coqui server failed: .*exit code 3"):
        run(lambda: drain(engine.stream("Now die.", 8000)))
    assert not engine.synth.running


def test_a_hung_clause_times_out_and_the_server_is_stopped(fake_options: CoquiOptions) -> None:
    synth = CoquiSynthesizer.start(replace(fake_options, clause_timeout_s=0.3, stop_timeout_s=0.3))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="got a timeout"):
        synth.synthesize("hang")
    assert time.monotonic() - started < 3.0 and not synth.running


def test_missing_python_is_a_clear_error(fake_options: CoquiOptions, tmp_path: Path) -> None:
    with pytest.raises(CoquiUnavailable, match=r"coqui-tts virtual environment not found: .*nope/bin/python"):
        CoquiSynthesizer.start(replace(fake_options, python=tmp_path / "nope" / "bin" / "python"))


def test_missing_model_path_is_a_clear_error(fake_options: CoquiOptions, tmp_path: Path) -> None:
    with pytest.raises(CoquiModelError, match=r"coqui model_path not found: .*missing\.pth"):
        CoquiSynthesizer.start(replace(fake_options, model_path=tmp_path / "missing.pth"))


@pytest.mark.parametrize(("config", "message"), [("{not json", "not valid JSON"), ("[]", 'no "model" name')])
def test_the_real_server_rejects_an_invalid_config(model_files: tuple[Path, Path], config: str, message: str) -> None:
    model, config_path = model_files
    config_path.write_text(config)
    options = CoquiOptions(model, config_path, python=Path(sys.executable))
    with pytest.raises(CoquiModelError, match=message):
        CoquiSynthesizer.start(options)


def test_the_real_server_wants_a_checkpoint_file_for_vits(model_files: tuple[Path, Path]) -> None:
    model, config_path = model_files
    options = CoquiOptions(model.parent, config_path, python=Path(sys.executable))
    with pytest.raises(CoquiModelError, match="must be a checkpoint file for vits"):
        CoquiSynthesizer.start(options)


@pytest.mark.parametrize(("mode", "message"), [("crash", r"exit code 3\): fake: cannot load"), ("hang", "timeout")])
def test_a_server_that_does_not_start_is_a_clear_error(fake_options: CoquiOptions, mode: str, message: str) -> None:
    options = replace(fake_options, env={"FAKE_MODE": mode}, load_timeout_s=0.5, stop_timeout_s=0.2)
    with pytest.raises(CoquiModelError, match=message):
        CoquiSynthesizer.start(options)


def test_options_build_the_command_environment_and_request(model_files: tuple[Path, Path]) -> None:
    options = CoquiOptions(*model_files, python=Path("/py"), speaker="p1", command_prefix=("unshare", "-n"), threads=2)
    command = options.command()
    assert command[:5] == ["unshare", "-n", "/py", "-I", str(SERVER_SCRIPT)]
    assert command[-2:] == ["--threads", "2"]
    env = options.environment()
    assert env["HF_HUB_OFFLINE"] == "1" and env["OMP_NUM_THREADS"] == "2"
    assert options.request_extras() == {"speaker": "p1"}


def test_server_loop_answers_in_order_and_never_echoes_the_text(caplog: pytest.LogCaptureFixture) -> None:
    def synthesize(request: dict[str, Any]) -> np.ndarray:
        if request["text"] == "secret card number":
            raise ValueError("bad input")
        return np.full(3, 0.25, dtype=np.float32)

    inp = io.BytesIO()
    for request in ({"id": 1, "text": "hello"}, {"id": 2, "text": "secret card number"}, {"id": 3}):
        wire.write_json(inp, request)
    inp.seek(0)
    out = io.BytesIO()
    coqui_server.serve(synthesize, 16000, inp, out)
    out.seek(0)
    assert json.loads(wire.read_message(out) or b"") == {"id": 1, "sample_rate_hz": 16000, "samples": 3}
    assert np.frombuffer(wire.read_message(out) or b"", "<f4").tolist() == [0.25] * 3
    assert json.loads(wire.read_message(out) or b"") == {"id": 2, "error": "ValueError: bad input"}
    assert "string" in json.loads(wire.read_message(out) or b"")["error"]
    assert wire.read_message(out) is None
    assert "secret" not in caplog.text
