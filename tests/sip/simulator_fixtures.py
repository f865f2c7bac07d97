"""Fixtures and a baresip-python caller for the customer simulator's SIP tests.

Kept out of conftest.py on purpose (other suites own that file): import the fixtures by name in the test module.
The caller is a second, independent baresip-python stack in the test process; it stands in for the robot.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.ports import free_port
from tests.sip import peers
from tests.sip.peers import make_speech_wav

FRAME_S = 0.020
LEAD_FRAMES = 2
SIMULATOR_SAYS = "Hello? Yes, this is John speaking. Who is calling, please?"
CALLER_SAYS = "Good morning. I am calling about your electricity contract renewal."


@dataclass(frozen=True)
class SpeechWavs:
    simulator_8k: Path  # what the answering persona says
    caller_8k: Path  # what the caller (the robot's stand-in) says


@pytest.fixture(scope="session")
def speech_wavs(tmp_path_factory: pytest.TempPathFactory) -> SpeechWavs:
    """Real speech, 8 kHz mono s16, rendered once per session with espeak-ng + sox."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required for the simulator SIP tests (make deps-debian)")
    folder = tmp_path_factory.mktemp("speech")
    wavs = SpeechWavs(folder / "simulator_8k.wav", folder / "caller_8k.wav")
    make_speech_wav(wavs.simulator_8k, SIMULATOR_SAYS)
    make_speech_wav(wavs.caller_8k, CALLER_SAYS)
    return wavs


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    return peers.read_wav(path)[0]


def trim(samples: npt.NDArray[np.int16], level: int = 33) -> npt.NDArray[np.int16]:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= level)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


@dataclass
class CallerLeg:
    """What one outgoing call of the caller saw."""

    received: bytearray = field(default_factory=bytearray)
    media_start_s: float = 0.0  # monotonic time of slot 0 of what we sent
    speech_slot: int | None = None  # first slot of our utterance
    closed_by_remote: bool = False
    restarts: int = 0
    rate_hz: int = 0
    dtmf_task: asyncio.Task[None] | None = None

    def samples(self) -> npt.NDArray[np.int16]:
        return np.frombuffer(bytes(self.received), dtype="<i2").astype(np.int16)


class Caller:
    """A baresip-python user agent in the test process (one Runtime per process at a time)."""

    def __init__(self, runtime: Any, ua: Any) -> None:
        self.runtime = runtime
        self.ua = ua

    async def dial(self, uri: str, timeout_s: float = 10.0) -> Any:
        """Dial and wait for the answer; a refusal raises `baresip.CallFailed` (or a subclass).

        baresip-python 0.5.2a3 builds the `Call` (which subscribes to stack events) only when the task
        awaiting the dial command resumes; a CALL_CLOSED dispatched before that (the simulator answers 404
        to an unknown persona within half a millisecond) reaches no listener, the call stays OUTGOING and
        `wait_established` ends in CallTimeout. Listening on the runtime from before the dial catches it.
        """
        import baresip

        closed: dict[int, str] = {}

        def listener(event: Any) -> None:
            if event.event is baresip.Event.CALL_CLOSED:
                closed[event.call] = event.text or ""

        self.runtime.subscribe(listener)
        try:
            call = await self.ua.dial(uri)
        finally:
            self.runtime.unsubscribe(listener)
        if call.handle in closed and call.state is baresip.CallState.OUTGOING:
            raise baresip.CallFailed.from_close_reason(closed[call.handle])
        await call.wait_established(timeout_s)
        return call

    async def talk(
        self,
        call: Any,
        say: npt.NDArray[np.int16] | None,
        say_at_s: float,
        max_s: float,
        dtmf: tuple[float, str] | None = None,
    ) -> CallerLeg:
        """Send `say` at `say_at_s` after media start (and `dtmf` digits at their time), record what arrives,
        until the far end hangs up or `max_s` (then hang up)."""
        import baresip

        leg, closed = CallerLeg(), asyncio.Event()
        call.on(lambda ev: closed.set() if ev.event is baresip.Event.CALL_CLOSED else None)
        await _wait_media(call)
        if dtmf is not None:
            leg.dtmf_task = asyncio.get_running_loop().create_task(_send_dtmf_at(call, *dtmf))
        pump = _CallerPump(call, leg, say, say_at_s)
        t0 = leg.media_start_s = time.monotonic()
        while not closed.is_set() and time.monotonic() - t0 < max_s:
            elapsed = int((time.monotonic() - t0) / FRAME_S)
            pump.tick(elapsed)
            await asyncio.sleep(max(0.0, t0 + (elapsed + 1) * FRAME_S - time.monotonic()))
        leg.closed_by_remote = closed.is_set()
        if leg.dtmf_task is not None:
            await leg.dtmf_task
        if not closed.is_set():
            with contextlib.suppress(baresip.BaresipError):
                await call.hangup()
        return leg


class _CallerPump:
    """Absolute-clock sender/recorder for one caller leg, kept `LEAD_FRAMES` ahead."""

    def __init__(self, call: Any, leg: CallerLeg, say: npt.NDArray[np.int16] | None, say_at_s: float) -> None:
        self._call, self._leg = call, leg
        leg.rate_hz = call.audio.info().rx_sample_rate
        frame_samples = call.audio.info().tx_sample_rate // 50
        self._silence = bytes(2 * frame_samples)
        self._frames = _frames(say, frame_samples) if say is not None else []
        leg.speech_slot = round(say_at_s / FRAME_S) if self._frames else None
        self._written = 0

    def tick(self, elapsed: int) -> None:
        import baresip

        try:
            self._leg.received += self._call.audio.read(16000)
            while self._written < elapsed + 1 + LEAD_FRAMES:
                k = self._written - (self._leg.speech_slot or 0)
                speaking = self._leg.speech_slot is not None and 0 <= k < len(self._frames)
                self._call.audio.write(self._frames[k] if speaking else self._silence)
                self._written += 1
        except baresip.AudioRestarted:
            self._leg.restarts += 1
        except baresip.AudioNotActive:
            pass  # the call is closing: the CALL_CLOSED event ends the loop


async def _send_dtmf_at(call: Any, at_s: float, digits: str) -> None:
    await asyncio.sleep(at_s)
    await call.send_dtmf(digits)


def _frames(samples: npt.NDArray[np.int16], frame_samples: int) -> list[bytes]:
    pad = (-len(samples)) % frame_samples
    data = np.concatenate([samples, np.zeros(pad, dtype=np.int16)]).astype("<i2").tobytes()
    return [data[i : i + 2 * frame_samples] for i in range(0, len(data), 2 * frame_samples)]


async def _wait_media(call: Any, timeout_s: float = 5.0) -> None:
    import baresip

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(baresip.AudioNotActive):
            info = call.audio.info()
            if info.tx_ready and info.rx_ready:
                return
        await asyncio.sleep(FRAME_S)
    raise TimeoutError("caller media did not come up")


@contextlib.asynccontextmanager
async def caller_stack(codecs: tuple[str, ...] = ("PCMU",)) -> AsyncIterator[Caller]:
    """Runtime + user agent on free loopback ports; closed on exit."""
    import baresip

    sip_port, rtp_low = free_port(), free_port(span=64)
    runtime = baresip.Runtime(native_log_level="error")
    extra = f"sip_listen 127.0.0.1:{sip_port}\nrtp_ports {rtp_low}-{rtp_low + 63}\naudio_jitter_buffer_ms 20-60\n"
    await runtime.start(baresip.Config(net_interface="127.0.0.1", max_concurrent_calls=None, extra_config_text=extra))
    try:
        account = baresip.Account(
            user="robot", domain=f"127.0.0.1:{sip_port}", password="", reg_interval=0, audio_codecs=codecs
        )
        yield Caller(runtime, await baresip.UserAgent.create(runtime, account))
    finally:
        await runtime.close()
