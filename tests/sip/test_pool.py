"""The worker pool against SIPp on 127.0.0.1: supervision, DTMF, recording, resource leaks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from telephony import AudioFrame, CallEnded, Disposition, PoolConfig, SipWorkerPool, split_frames
from tests.ports import free_port

pytestmark = pytest.mark.sip
SCENARIOS = Path(__file__).parent / "scenarios"
RATE = 8000


def sipp_echo(tmp_path: Path, scenario: str) -> Iterator[str]:
    port, media = free_port(), free_port(span=4)
    proc = subprocess.Popen(
        ["sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
         "-mi", "127.0.0.1", "-mp", str(media), "-rtp_echo", "-nostdin", "-trace_err"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.3)
    assert proc.poll() is None, "sipp failed to start"
    yield f"sip:echo@127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def echo_uri(tmp_path: Path) -> Iterator[str]:
    """SIPp answering any number of calls with PCMU + telephone-event, echoing all RTP back."""
    yield from sipp_echo(tmp_path, "echo_dtmf.xml")


@pytest.fixture
def early_media_uri(tmp_path: Path) -> Iterator[str]:
    """SIPp sending 183 with SDP, 1.5 s of (echoed) early media, then 200 OK."""
    yield from sipp_echo(tmp_path, "early_media.xml")


def pool_config(max_calls: int = 4, **kw: object) -> PoolConfig:
    return PoolConfig(max_calls=max_calls, sample_rate_hz=RATE, sip_port=0, rtp_port=free_port(span=200), **kw)  # type: ignore[arg-type]


def tone(freq_hz: float, seconds: float, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * RATE / len(x))


def test_killing_a_worker_ends_its_calls_within_a_second_and_the_pool_recovers(echo_uri: str) -> None:
    async def scenario() -> None:
        async with SipWorkerPool(pool_config(max_calls=8)) as pool:
            calls = [await pool.place_call(echo_uri) for _ in range(6)]  # 4 on worker 0, 2 on worker 1
            assert all(await asyncio.gather(*(c.wait_answered() for c in calls)))
            assert len(pool.worker_pids()) == 2
            victim = pool.workers[0]
            doomed = list(victim.calls.values())
            survivors = [c for c in calls if c not in doomed]
            killed_at = time.monotonic()
            os.kill(victim.pid, signal.SIGKILL)
            results = await asyncio.gather(*(c.wait_ended(timeout_s=1.0) for c in doomed))
            assert time.monotonic() - killed_at < 1.0
            assert {r.disposition for r in results} == {Disposition.MEDIA_WORKER_FAILED}
            assert all(r.hangup_by == "system" for r in results)
            for c in doomed:
                with pytest.raises(CallEnded):
                    await asyncio.wait_for(drain(c), 2.0)
            assert all(c.result is None for c in survivors), "calls on the other worker must live on"
            await pool.wait_workers(2, timeout_s=10.0)
            assert victim.pid not in pool.worker_pids()
            fresh = await pool.place_call(echo_uri)
            assert await fresh.wait_answered()
            assert (await fresh.hangup()).disposition == Disposition.ANSWERED
            assert pool.failures == 1

    asyncio.run(scenario())


async def drain(call: object) -> None:
    while True:
        await call.recv()  # type: ignore[attr-defined]


def test_dtmf_goes_out_as_rfc4733_and_comes_back_as_events(echo_uri: str) -> None:
    async def scenario() -> None:
        async with SipWorkerPool(pool_config()) as pool:
            call = await pool.place_call(echo_uri, headers={"X-Lead": "42"})
            assert await call.wait_answered()
            call.send_dtmf("1#9")
            digits = []
            async with asyncio.timeout(10):
                async for event in call.events():
                    if event.kind == "dtmf":
                        digits.append(event.digit)
                        if len(digits) == 3:
                            break
            assert digits == ["1", "#", "9"]
            assert (await call.hangup()).codec == "PCMU/8000", "the far end offered only PCMU"

    asyncio.run(scenario())


def test_stereo_recording_holds_the_far_end_left_and_our_audio_right(echo_uri: str, tmp_path: Path) -> None:
    """Through an echo both channels carry our tone; the left one late by the round trip."""
    path = tmp_path / "call.wav"

    async def scenario() -> None:
        async with SipWorkerPool(pool_config()) as pool:
            call = await pool.place_call(echo_uri, record_path=path)
            assert await call.wait_answered()
            call.discard_received()
            for frame in split_frames(tone(700, 1.0), RATE):
                await call.wait_writable()
                call.send(frame)
            await call.wait_played()
            await asyncio.sleep(0.3)
            result = await call.hangup()
            assert result.disposition == Disposition.ANSWERED and result.hangup_by == "local"

    asyncio.run(scenario())
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, RATE)
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    left, right = x[:, 0], x[:, 1]
    ours = np.flatnonzero(np.abs(right) > 2000)
    theirs = np.flatnonzero(np.abs(left) > 2000)
    assert abs(peak_hz(right[ours[0] : ours[-1]]) - 700) < 5
    assert abs(peak_hz(left[theirs[0] : theirs[-1]]) - 700) < 5
    assert 0.98 <= (ours[-1] - ours[0]) / RATE <= 1.0, "every frame we sent was played exactly once"
    round_trip_s = (theirs[0] - ours[0]) / RATE
    assert 0.0 < round_trip_s < 0.2


def test_the_pool_places_no_more_than_max_calls(echo_uri: str) -> None:
    from telephony import PoolFull

    async def scenario() -> None:
        async with SipWorkerPool(pool_config(max_calls=2)) as pool:
            calls = [await pool.place_call(echo_uri) for _ in range(2)]
            with pytest.raises(PoolFull):
                await pool.place_call(echo_uri)
            for c in calls:
                await c.hangup()
            assert pool.active_calls() == 0
            again = await pool.place_call(echo_uri)
            await again.hangup()

    asyncio.run(scenario())


@pytest.mark.slow
def test_two_hundred_sequential_calls_leak_no_descriptors_and_little_memory(echo_uri: str) -> None:
    async def scenario() -> None:
        async with SipWorkerPool(pool_config(max_calls=1)) as pool:
            worker = psutil.Process(pool.worker_pids()[0])

            async def one_call() -> None:
                call = await pool.place_call(echo_uri)
                assert await call.wait_answered()
                for frame in split_frames(tone(500, 0.1), RATE):
                    call.send(frame)
                await call.recv()
                assert (await call.hangup()).disposition == Disposition.ANSWERED

            for _ in range(20):  # warm up: allocator pools, codec state, first-call caches
                await one_call()
            fds0, rss0 = worker.num_fds(), worker.memory_info().rss
            for _ in range(200):
                await one_call()
            fds1, rss1 = worker.num_fds(), worker.memory_info().rss
            assert pool.active_calls() == 0
            assert pool.worker_pids() == [worker.pid], "the same worker carried every call"
            assert fds1 <= fds0, f"worker descriptors grew from {fds0} to {fds1}"
            assert rss1 - rss0 < 10 * 2**20, f"worker RSS grew by {(rss1 - rss0) / 2**20:.1f} MB"

    asyncio.run(scenario())


def test_frames_arrive_every_20_ms_with_increasing_sequence_numbers(echo_uri: str) -> None:
    async def scenario() -> None:
        async with SipWorkerPool(pool_config()) as pool:
            call = await pool.place_call(echo_uri)
            assert await call.wait_answered()
            call.discard_received()
            frames: list[AudioFrame] = [await call.recv() for _ in range(100)]
            seqs = [f.seq for f in frames]
            assert seqs == list(range(seqs[0], seqs[0] + 100))
            span_s = frames[-1].timestamp_s - frames[0].timestamp_s
            assert 1.9 < span_s < 2.1, "the worker's clock delivers 50 frames a second"
            await call.hangup()

    asyncio.run(scenario())


def test_the_call_command_dials_plays_records_and_prints_json(echo_uri: str, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from callcenter_cli import app

    wav = tmp_path / "hello.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(tone(600, 0.5).tobytes())
    record = tmp_path / "rec.wav"
    args = ["call", echo_uri, "--play", str(wav), "--record", str(record), "--seconds", "1.5",
            "--sip-port", "0", "--rtp-port", str(free_port(span=40))]  # fmt: skip
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["disposition"] == "answered"
    assert [e["event"] for e in result["events"]][-2:] == ["answered", "ended"]
    with wave.open(str(record)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert abs(peak_hz(x[:, 1]) - 600) < 5


@pytest.mark.parametrize(
    ("caller_id", "lead", "sipp_ok"), [("+15551234567", "42", True), ("+15550000000", "42", False)]
)
def test_caller_id_and_extra_headers_reach_the_far_end(
    tmp_path: Path, caller_id: str, lead: str, sipp_ok: bool
) -> None:
    port, media = free_port(), free_port(span=4)
    sipp = subprocess.Popen(
        ["sipp", "-sf", str(SCENARIOS / "check_identity.xml"), "-i", "127.0.0.1", "-p", str(port),
         "-mi", "127.0.0.1", "-mp", str(media), "-m", "1", "-nostdin", "-trace_err"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    async def scenario() -> None:
        await asyncio.sleep(0.3)
        async with SipWorkerPool(pool_config()) as pool:
            call = await pool.place_call(f"sip:lead@127.0.0.1:{port}", caller_id=caller_id, headers={"X-Lead": lead})
            await asyncio.wait_for(call.wait_answered(), 5.0)
            await call.hangup()

    try:
        asyncio.run(scenario())
        code = sipp.wait(10)
    finally:
        if sipp.poll() is None:
            sipp.kill()
    assert (code == 0) == sipp_ok, f"sipp exit code {code}"


def test_early_media_flows_before_the_answer(early_media_uri: str) -> None:
    async def scenario() -> None:
        async with SipWorkerPool(pool_config()) as pool:
            call = await pool.place_call(early_media_uri)
            first = await asyncio.wait_for(call.recv(), 5.0)  # before any answer: early media
            kinds = []
            async with asyncio.timeout(5):
                async for event in call.events():
                    kinds.append(event.kind)
                    if event.kind == "answered":
                        answered_at = event.t_s
                        break
            assert kinds.index("early_media") < kinds.index("answered")
            assert first.timestamp_s < answered_at - 1.0, "frames flowed during the 1.5 s of early media"
            assert (await call.hangup()).disposition == Disposition.ANSWERED

    asyncio.run(scenario())


def test_a_uri_the_stack_rejects_ends_the_call_as_failed_without_touching_the_network() -> None:
    async def scenario() -> None:
        async with SipWorkerPool(pool_config()) as pool:
            call = await pool.place_call("sip:@@not a uri")
            result = await call.wait_ended(timeout_s=5.0)
            assert (result.disposition, result.answered) == (Disposition.FAILED, False)
            assert result.reason.startswith("error:")
            assert pool.active_calls() == 0
            assert not await call.wait_answered()

    asyncio.run(scenario())


def test_calls_placed_right_after_ended_ones_get_their_slots(echo_uri: str) -> None:
    """pjsua frees an ended call's slot only once its media is torn down, a moment after the call reported its
    end; the pool counts the slot free at the end, so the next makeCall can meet a full table (PJ_ETOOMANY). The
    worker waits for the slot instead of failing the call."""

    async def scenario() -> list[Disposition]:
        ended: list[Disposition] = []
        async with SipWorkerPool(pool_config(max_calls=4)) as pool:
            for _ in range(8):
                calls = [await pool.place_call(echo_uri) for _ in range(4)]
                await asyncio.gather(*(c.wait_answered() for c in calls))
                results = await asyncio.gather(*(c.hangup() for c in calls))
                ended += [r.disposition for r in results]
        return ended

    assert asyncio.run(scenario()) == [Disposition.ANSWERED] * 32
