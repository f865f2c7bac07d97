"""Fixtures for the browser tier: Debian's Chromium driven by Playwright, with a fake microphone that plays a real
speech WAV, against the real console app served by uvicorn (`served.ServedConsole`).

Chromium is the system's (`apt-get install chromium`), never a Playwright download (`playwright install` needs
the internet): `executable_path` points at it. `make test` installs both; without them the tier fails (set
CALLCENTER_NO_BROWSER=1 to skip it on purpose, e.g. on a machine without a browser).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.browser.served import ServedConsole, read_wav, write_wav

CHROMIUM = Path(os.environ.get("CALLCENTER_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 1280, "height": 800}
MIC_SOURCE = "beckett.wav"  # moonshine-voice's asset: 10 s of read English speech, 16 kHz mono s16


@pytest.fixture(scope="package")
def mic_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake microphone's audio: a real voice, as a 16-bit WAV (Chromium loops it)."""
    spec = importlib.util.find_spec("moonshine_voice")  # a dev dependency; its package ships the WAVs
    assert spec is not None and spec.origin is not None, "expected the moonshine-voice package (pip install -e .[dev])"
    source = Path(spec.origin).parent / "assets" / MIC_SOURCE
    samples, rate = read_wav(source)
    path = tmp_path_factory.mktemp("mic") / "agent-voice.wav"
    write_wav(path, samples, rate)
    return path


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread while it is
# alive, and every later test that calls asyncio.run() would fail ("cannot be called from a running event loop").
@pytest.fixture(scope="package")
def chromium(mic_wav: Path) -> Iterator[Any]:
    """One headless Chromium for the session; each test gets a fresh context (cookies, storage)."""
    if os.environ.get("CALLCENTER_NO_BROWSER") == "1":
        pytest.skip("CALLCENTER_NO_BROWSER=1: the browser tier is switched off")
    if importlib.util.find_spec("playwright") is None:
        pytest.fail("the browser tier needs `pip install playwright` (make test installs it)")
    if not CHROMIUM.exists() and shutil.which(str(CHROMIUM)) is None:
        pytest.fail(f"the browser tier needs Debian's chromium at {CHROMIUM} (make test apt-installs it)")
    from playwright import sync_api

    args = [
        "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic_wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedConsole]:
    console = ServedConsole(tmp_path).start()
    try:
        yield console
    finally:
        console.stop()


class PageProblems(list[str]):
    """Uncaught errors and CSP violations seen by the page: any of them fails the test."""


@pytest.fixture
def page(chromium: Any, served: ServedConsole) -> Iterator[Any]:
    context = chromium.new_context(viewport=VIEWPORT, base_url=served.url)
    page = context.new_page()
    problems = PageProblems()
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: problems.append(f"csp: {message.text}") if "Content Security Policy" in message.text else None,
    )
    try:
        yield page
    finally:
        context.close()
    assert not problems, problems


def tone_bursts(
    freqs_hz: tuple[float, ...], rate_hz: int = 8000, burst_s: float = 0.4, gap_s: float = 0.15
) -> np.ndarray:
    """Speech-like test audio: tone bursts at -14 dBFS with gaps, one per frequency."""
    parts = []
    for freq in freqs_hz:
        t = np.arange(int(burst_s * rate_hz)) / rate_hz
        ramp = np.minimum(1.0, np.minimum(t, burst_s - t) / 0.01)
        parts.append(0.2 * np.sin(2 * np.pi * freq * t) * ramp)
        parts.append(np.zeros(int(gap_s * rate_hz)))
    return (np.concatenate(parts) * 32767).astype(np.int16)


@pytest.fixture(scope="package")
def customer_audio() -> np.ndarray:
    return tone_bursts((220.0, 330.0, 262.0, 392.0))


@pytest.fixture(scope="package")
def robot_audio() -> np.ndarray:
    return tone_bursts((523.0, 659.0, 587.0))
