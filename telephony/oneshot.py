"""Place one call from the command line: dial, play a WAV, record both sides, report the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import wave
from pathlib import Path
from typing import Any

import numpy as np

from telephony.call import Call, CallEnded
from telephony.config import PoolConfig
from telephony.frames import split_frames
from telephony.pool import SipWorkerPool


def load_wav(path: Path, sample_rate_hz: int) -> np.ndarray:
    """A mono 16-bit WAV at the line rate (convert others with `sox in.wav -r 8000 -c 1 -b 16 out.wav`)."""
    with wave.open(str(path)) as w:
        got = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        if got != (1, 2, sample_rate_hz):
            raise ValueError(f"expected a mono 16-bit {sample_rate_hz} Hz WAV, got channels/width/rate {got}")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


async def _play(call: Call, samples: np.ndarray) -> None:
    for frame in split_frames(samples, call.sample_rate_hz):
        await call.wait_writable()
        call.send(frame)
    await call.wait_played()


async def _consume(call: Call) -> None:
    with contextlib.suppress(CallEnded):
        while True:
            await call.recv()


async def place_one(
    cfg: PoolConfig,
    to: str,
    *,
    play: Path | None = None,
    record: Path | None = None,
    seconds: float = 10.0,
    caller_id: str | None = None,
) -> dict[str, Any]:
    samples = load_wav(play, cfg.sample_rate_hz) if play else None
    async with SipWorkerPool(cfg) as pool:
        if cfg.account.registrar_uri:
            await pool.wait_registered(timeout_s=15.0)
        call = await pool.place_call(to, caller_id=caller_id, record_path=record)
        events: list[dict[str, Any]] = []

        async def follow() -> None:
            async for ev in call.events():
                events.append(
                    {"event": ev.kind, "sip_status": ev.sip_status, **({"digit": ev.digit} if ev.digit else {})}
                )

        async with asyncio.TaskGroup() as tg:
            tg.create_task(follow(), name="call-events")
            tg.create_task(_consume(call), name="call-recv")
            if await call.wait_answered():
                with contextlib.suppress(TimeoutError, CallEnded):
                    async with asyncio.timeout(seconds):
                        if samples is not None:
                            await _play(call, samples)
                        await call.wait_ended()
            result = await call.hangup()
    return {
        "disposition": result.disposition.value,
        "sip_status": result.sip_status,
        "reason": result.reason,
        "hangup_by": result.hangup_by,
        "setup_s": result.setup_s,
        "duration_s": result.duration_s,
        "events": events,
        "recording": str(record) if record else None,
    }
