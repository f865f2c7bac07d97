"""The console in a real browser behind a REAL simulated call: the robot runtime (`session.robot.Robot`: pjsua2
workers, tiny.en, MiniLM, Piper) calls a customer of the simulator (baresip) over SIP on loopback; the call is
on the console's board; a supervisor opens it, listens, takes it over with the fake microphone, hands it back
and hangs up. The simulator's recording of what the customer heard must contain the fake microphone's voice.

Heavy (models, SIP peers, Chromium on one machine): marked browser, sip and models."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from agent_console.summary import CallMeta
from tests.browser.audio_match import windowed_correlations
from tests.browser.served import ServedConsole, read_wav
from tests.browser.ui import log_in, row

pytestmark = [pytest.mark.browser, pytest.mark.sip, pytest.mark.models]

CALL_ID = "sim-1"
LINE_RATE_HZ = 8000
# The customer answers, asks for a person, then stays quiet long enough for the agent to talk.
PERSONA = {
    "id": "browser-cust",
    "language": "en",
    "ring_s": 0.3,
    "seed": 7,
    "turns": [
        {"text": "Yes I have a couple of minutes.", "gap_ms": [400, 600]},
        {"text": "Sorry can I talk to a real person please?", "gap_ms": [400, 600]},
        {"text": "Okay thanks goodbye.", "gap_ms": [25000, 25000]},
    ],
    "hangup_after_s": 5,
    "max_call_s": 90,
}
MIN_CORRELATION = 0.6
MIN_MATCHING_S = 3.0  # of the 8 s the agent speaks, heard by the customer (measured: 5.5 s at 0.98-0.99)


class RealCall:
    """The robot, the simulator and the call, all on the console server's loop."""

    def __init__(self, served: ServedConsole, tmp: Path) -> None:
        self.served, self.tmp = served, tmp
        self.stack = contextlib.AsyncExitStack()
        self.robot: Any = None
        self.sim: Any = None
        self.session: Any = None

    async def start(self) -> None:
        from bench.call import PHRASES, render_personas
        from session.robot import Robot, RobotConfig
        from telephony.ports import free_port
        from telephony.simulator import SimulatorProcess

        config = RobotConfig(
            max_calls=1,
            rtp_port=free_port(span=40),
            phrase_dir=PHRASES,
            records_dir=self.tmp / "records",
        )
        self.robot = await Robot.load(config)
        self.stack.push_async_callback(self.robot.close)
        personas = await render_personas({"personas": [dict(PERSONA)]}, self.robot.languages["en"].engine, self.tmp)
        low = free_port(span=20)
        simulator = SimulatorProcess(personas, self.tmp / "sim", port=free_port(), rtp_ports=(low, low + 19))
        self.sim = await self.stack.enter_async_context(simulator)

    async def call(self) -> Any:
        from dialogue import CampaignPolicy

        console = self.served.console
        meta = CallMeta(
            CALL_ID,
            campaign_id=self.served.ids["Home insurance"],
            campaign_name="Home insurance",
            team_id=self.served.ids["blue"],
            lead_phone="+14155550123",
            lead_name="Dana Smith",
            script_id="insurance-en",
            industry="insurance",
        )

        def on_session(session: Any) -> None:
            self.session = session
            console.live.add(meta, session)  # the console's registry is its own: the robot registers in its own
            asyncio.get_running_loop().call_later(80, session.end)  # a bound on the call, whatever happens

        # the handoff comes from the customer's request only
        policy = CampaignPolicy(recording_notice=False, handoff_score_threshold=101)
        try:
            return await self.robot.call(
                self.sim.uri(PERSONA["id"]),
                call_id=CALL_ID,
                script_id="insurance-en",
                lead={"first_name": "Dana"},
                policy=policy,
                on_session=on_session,
            )
        finally:
            console.live.remove(CALL_ID)

    async def heard(self) -> np.ndarray:
        (result,) = await self.sim.wait_for_results(1, timeout_s=30)
        return read_wav(result.heard_wav)[0]

    async def close(self) -> None:
        await self.stack.aclose()


def downsample_to_line(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """16 kHz → 8 kHz: an FFT brick-wall low-pass at 3.7 kHz (the line's band), then every other sample."""
    assert rate_hz == 2 * LINE_RATE_HZ
    spectrum = np.fft.rfft(samples.astype(np.float64))
    spectrum[int(3700 / rate_hz * len(samples)) :] = 0
    return np.fft.irfft(spectrum, len(samples))[::2]


def test_a_supervisor_takes_over_a_real_simulated_call_and_the_customer_hears_the_microphone(
    served: ServedConsole, page: Any, mic_wav: Path, tmp_path: Path
) -> None:
    real = RealCall(served, tmp_path / "real")
    served.wait_on_loop(real.start(), timeout_s=240)
    try:
        call = served.spawn_on_loop(real.call())
        log_in(page, served, "sup")
        expect(row(page, CALL_ID)).to_contain_text("Dana Smith", timeout=30000)
        row(page, CALL_ID).locator("a").click()
        expect(page.locator(".transcript .speaker-robot").first).to_be_visible(timeout=30000)  # the greeting, live

        page.click("#btn-listen")
        page.wait_for_function("() => window.__callcenter.levels.hearPeakRms > 0.01", timeout=20000)
        expect(page.locator("#call-state")).to_have_text("Wants a human", timeout=40000)  # the customer asked

        page.click("#btn-takeover")
        expect(page.locator("#hears")).to_have_text("you", timeout=10000)
        page.wait_for_function("() => window.__callcenter.levels.sendFrames >= 400", timeout=30000)  # 8 s spoken
        page.click("#btn-handback")
        expect(page.locator("#btn-takeover")).to_be_enabled(timeout=10000)
        expect(page.locator("#hears")).not_to_have_text("you", timeout=10000)
        page.wait_for_timeout(1000)
        page.click("#btn-hangup")
        page.click("#btn-hangup")
        expect(page.locator("#call-message")).to_contain_text("The call has ended", timeout=20000)
        call.result(60)
        heard = served.wait_on_loop(real.heard(), timeout_s=40)
    finally:
        served.wait_on_loop(real.close(), timeout_s=60)

    voice, rate = read_wav(mic_wav)
    reference = downsample_to_line(voice, rate)
    correlations = np.array(windowed_correlations(heard, reference, LINE_RATE_HZ))
    matching_s = 0.5 * int(np.sum(correlations >= MIN_CORRELATION))
    assert matching_s >= MIN_MATCHING_S, f"the customer heard the microphone in {matching_s} s: {correlations.round(3)}"
