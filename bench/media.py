"""`callcenter bench media`: N call legs through the worker pool against SIPp's RTP echo on loopback.

Every leg sends a 20 ms frame on an absolute clock: silence with a 100 ms 1 kHz burst once a second. SIPp
echoes the RTP back, so each burst returns through our whole stack twice (main → worker → RTP → SIPp →
RTP → worker → main). Mouth-to-ear latency added by our stack in one direction is half that round trip.

Measured in the main process, where the audio loop consumes frames:
- `late_frame_pct`: received frames that arrived more than 30 ms after the previous one on the same leg;
- `max_gap_ms`: the largest such gap;
- `worker_late_frame_pct`: the same on the worker's clock-thread timestamps (pjmedia's own jitter);
- `cpu_pct_per_leg`: worker CPU (user + system, % of one core) per leg; `main_cpu_pct` for the main process;
- `rss_mb_per_worker`: mean resident memory of a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from telephony import AudioFrame, Call, CallEnded, PoolConfig, SipWorkerPool, frame_samples

LATE_GAP_S = 0.030
BURST_PERIOD_FRAMES = 50  # one burst a second
BURST_FRAMES = 5  # 100 ms
RATE_HZ = 8000


@dataclass
class LegStats:
    arrivals: list[float] = field(default_factory=list)  # main-process arrival times
    worker_times: list[float] = field(default_factory=list)  # worker clock-thread timestamps
    burst_sent_at: dict[int, float] = field(default_factory=dict)  # burst index -> send time
    round_trips_s: list[float] = field(default_factory=list)
    in_burst: bool = False


def _free_udp_port(start: int) -> int:
    for port in range(start, start + 2000, 2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port")


@contextlib.contextmanager
def sipp_echo(legs: int) -> Iterator[tuple[str, psutil.Process]]:
    """SIPp's built-in UAS answering `legs` calls and echoing every RTP packet back to its sender."""
    port, media_port = _free_udp_port(25060), _free_udp_port(26000)
    with tempfile.TemporaryDirectory(prefix="bench-sipp-") as tmp:
        proc = subprocess.Popen(
            ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media_port),
             "-rtp_echo", "-m", str(legs), "-nostdin", "-trace_err"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(0.3)
            if proc.poll() is not None:
                raise RuntimeError(f"sipp exited at start with code {proc.returncode}")
            yield f"sip:echo@127.0.0.1:{port}", psutil.Process(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _frames() -> tuple[AudioFrame, list[AudioFrame]]:
    n = frame_samples(RATE_HZ)
    t = np.arange(n * BURST_FRAMES) / RATE_HZ
    burst = (12000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    return AudioFrame.silence(RATE_HZ), [
        AudioFrame.from_samples(burst[i * n : (i + 1) * n], RATE_HZ) for i in range(BURST_FRAMES)
    ]


async def _send(calls: list[Call], stats: list[LegStats], seconds: float) -> None:
    """One task paces every leg: sleep until start + k * 20 ms, never sleep(0.02) in a loop."""
    silence, burst = _frames()
    start = time.monotonic()
    for k in range(int(seconds * 50)):
        await asyncio.sleep(max(0.0, start + k * 0.020 - time.monotonic()))
        phase = k % BURST_PERIOD_FRAMES
        for call, st in zip(calls, stats, strict=True):
            if phase == 0:
                st.burst_sent_at[k // BURST_PERIOD_FRAMES] = time.monotonic()
            with contextlib.suppress(CallEnded):
                call.send(burst[phase] if phase < BURST_FRAMES else silence)


def _onset_offset(samples: npt.NDArray[np.int16]) -> int | None:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 3000)
    return int(loud[0]) if len(loud) else None


async def _receive(call: Call, st: LegStats, deadline: float) -> None:
    frame_s = 0.020
    while time.monotonic() < deadline:
        try:
            frame = await call.recv()
        except CallEnded:
            return
        now = time.monotonic()
        st.arrivals.append(now)
        st.worker_times.append(frame.timestamp_s)
        onset = _onset_offset(frame.samples)
        if onset is not None and not st.in_burst and st.burst_sent_at:
            # the frame arrived whole: the onset was heard (frame length - offset) before its arrival
            heard_at = now - (frame_s - onset / RATE_HZ)
            sent_at = st.burst_sent_at[max(st.burst_sent_at)]
            if 0 < heard_at - sent_at < 0.5:
                st.round_trips_s.append(heard_at - sent_at)
        st.in_burst = onset is not None


def _gap_stats(times: list[float]) -> tuple[int, int, float]:
    gaps = np.diff(np.asarray(times)) if len(times) > 1 else np.zeros(0)
    return int((gaps > LATE_GAP_S).sum()), len(gaps), float(gaps.max() if len(gaps) else 0.0)


def _gap_totals(per_leg: list[list[float]]) -> tuple[int, int, float]:
    """Late gaps, all gaps and the largest gap, over every leg."""
    each = [_gap_stats(times) for times in per_leg]
    return sum(e[0] for e in each), sum(e[1] for e in each), max((e[2] for e in each), default=0.0)


def _cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)) * 1000, 1) if xs else math.nan


async def run(legs: int, seconds: float, warmup_s: float = 2.0) -> dict[str, Any]:
    cfg = PoolConfig(max_calls=legs, sample_rate_hz=RATE_HZ, sip_port=0, rtp_port=_free_udp_port(30000))
    with sipp_echo(legs) as (uri, sipp):
        async with SipWorkerPool(cfg) as pool:
            calls = []
            for _ in range(legs):
                calls.append(await pool.place_call(uri))
                await asyncio.sleep(0.02)  # 50 calls/s: SIPp and the workers are not a load test of setup
            answered = await asyncio.gather(*(c.wait_answered() for c in calls))
            stats = [LegStats() for _ in calls]
            workers = [psutil.Process(pid) for pid in pool.worker_pids()]
            me = psutil.Process(os.getpid())
            await asyncio.sleep(warmup_s)
            for c in calls:  # measure from a clean slate
                c.discard_received()
            cpu0, main0, peer0, t0 = _cpu_s(workers), _cpu_s([me]), _cpu_s([sipp]), time.monotonic()
            deadline = t0 + seconds
            await asyncio.gather(
                _send(calls, stats, seconds), *(_receive(c, s, deadline) for c, s in zip(calls, stats, strict=True))
            )
            elapsed = time.monotonic() - t0
            cpu1, main1, peer1 = _cpu_s(workers), _cpu_s([me]), _cpu_s([sipp])
            rss = [p.memory_info().rss / 2**20 for p in workers if p.is_running()]
            ended = [await c.hangup() for c in calls]
    late, total, max_gap = _gap_totals([s.arrivals for s in stats])
    w_late, w_total, w_max = _gap_totals([s.worker_times for s in stats])
    rtts = [r for s in stats for r in s.round_trips_s]
    return {
        "legs": legs,
        "seconds": seconds,
        "answered": sum(answered),
        "workers": len(workers),
        "frames_received": total + len(stats),
        "late_frame_pct": round(100 * late / max(total, 1), 3),
        "max_gap_ms": round(max_gap * 1000, 1),
        "worker_late_frame_pct": round(100 * w_late / max(w_total, 1), 3),
        "worker_max_gap_ms": round(w_max * 1000, 1),
        "cpu_pct_per_leg": round(100 * (cpu1 - cpu0) / elapsed / legs, 2),
        "workers_cpu_pct": round(100 * (cpu1 - cpu0) / elapsed, 1),
        "main_cpu_pct": round(100 * (main1 - main0) / elapsed, 1),
        "peer_cpu_pct": round(100 * (peer1 - peer0) / elapsed, 1),
        "rss_mb_per_worker": round(float(np.mean(rss)), 1) if rss else math.nan,
        "round_trip_ms": {"p50": _pct(rtts, 50), "p95": _pct(rtts, 95), "n": len(rtts)},
        "added_latency_ms": round(_pct(rtts, 50) / 2, 1),
        "ended": {d: sum(1 for r in ended if r.disposition == d) for d in {r.disposition.value for r in ended}},
    }
