"""The agent console in a real browser (Debian's Chromium, Playwright) against the real app over uvicorn, with
scripted live calls (`fake_call.ScriptedCall`): log in, the live board, the live transcript, listen-in audio in
the page's audio graph, takeover with the fake microphone heard by the call, hand-back, text that stays text,
role rules in the browser, history with recording playback. Screenshots go to docs/img/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from session.events import HandoffEvent, RecommendationsEvent, ScoreEvent, TranscriptEvent
from storage.models import TranscriptTurn
from tests.browser.audio_match import frames_to_samples, windowed_correlations
from tests.browser.served import ServedConsole, read_wav
from tests.browser.ui import log_in, row, wait_until

pytestmark = pytest.mark.browser

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
AGENT_RATE_HZ = 16000
MIN_CORRELATION = 0.6
SIGNALS = (
    {"name": "asked_price", "points": 15, "evidence": "intent ask_price"},
    {"name": "owns_home", "points": 10, "evidence": "slot home_owner=yes"},
    {"name": "busy", "points": -5, "evidence": "intent busy_now"},
)


def test_an_agent_watches_a_call_listens_takes_it_over_and_hands_it_back(
    served: ServedConsole, page: Any, mic_wav: Path, customer_audio: np.ndarray, robot_audio: np.ndarray
) -> None:
    call = served.add_call("c-red", "Solar spring", customer_audio, robot_audio, started_s_ago=83)
    served.add_call("c-red-2", "Solar spring", customer_audio, robot_audio, lead_name="Lee Wong", started_s_ago=21)
    served.add_call("c-blue", "Home insurance", customer_audio, robot_audio, lead_name="Sam Park")

    log_in(page, served, "ann")
    expect(page.locator("#board tbody tr")).to_have_count(2)  # c-blue is another team's
    expect(row(page, "c-red")).to_contain_text("Dana Smith")
    expect(row(page, "c-red")).to_contain_text("+1 *** *** 4567")
    expect(page.locator("#board")).not_to_contain_text("4155554567")
    expect(page.locator("#board")).not_to_contain_text("Sam Park")
    expect(page.locator('#counts [data-state="total"] .n')).to_have_text("2")
    duration = row(page, "c-red").locator("td.duration")
    expect(duration).to_have_text(re.compile(r"^1:[23]\d$"))  # ticking from the server's duration_s (83 s)
    first = duration.text_content()
    expect(duration).not_to_have_text(first, timeout=3000)

    # the score and a handoff request: the row stands out, the counts say so, the alert sounds
    served.publish("c-red", ScoreEvent(4.0, 62, "B", "warm", SIGNALS), HandoffEvent(4.5, "requested", "customer_asked"))
    expect(row(page, "c-red")).to_have_class(re.compile(r"\bhandoff\b"))
    expect(row(page, "c-red")).to_contain_text("Wants a human")
    expect(row(page, "c-red")).to_contain_text("B · 62")
    expect(page.locator('#counts [data-state="handoff_requested"] .n')).to_have_text("1")
    page.wait_for_function("() => window.__callcenter.beeps >= 1")
    expect(page.locator("#board tbody tr").first).to_have_attribute("data-call-id", "c-red")  # requests on top
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "console-board.png"))

    # the call view: the transcript as it forms
    row(page, "c-red").locator("a").click()
    expect(page.locator(".call-title")).to_have_text("Dana Smith")
    expect(page.locator("#grade")).to_have_text("B")
    expect(page.locator("#signals li")).to_have_count(3)
    served.publish("c-red", TranscriptEvent(5.0, "robot", "Hi, this is Sunny from Solar spring.", True, 0.3, 2.4))
    served.publish("c-red", TranscriptEvent(6.0, "customer", "How much would", False, 5.2))
    partial = page.locator(".transcript .partial.speaker-customer .text")
    expect(partial).to_have_text("How much would")
    served.publish("c-red", TranscriptEvent(6.4, "customer", "How much would it cost me?", True, 5.2, 6.3))
    expect(partial).to_have_count(0)
    finals = page.locator(".transcript .final .text")
    expect(finals).to_have_text(["Hi, this is Sunny from Solar spring.", "How much would it cost me?"])

    # suggested answers for the latest customer line, and "use" recorded over REST
    items = served.recommendations("c-red", "How much would it cost me?")
    served.publish("c-red", RecommendationsEvent(6.5, tuple(items)))
    panel = page.locator(".recommendations")
    expect(panel).to_contain_text("Is it expensive?")
    expect(panel).to_contain_text("Most people pay twenty to forty a month")
    panel.locator(".rec-answer button").first.click()
    expect(panel.locator(".rec-status").first).to_have_text("marked as used (1 in all)")

    # listen-in: the page's audio graph plays the call
    expect(page.locator("#hears")).to_have_text("robot")
    page.click("#btn-listen")
    page.wait_for_function("() => window.__callcenter.levels.hearFrames > 25", timeout=10000)
    page.wait_for_function("() => window.__callcenter.levels.hearPeakRms > 0.02", timeout=10000)

    # takeover: the robot goes silent, the call hears the fake microphone, the indicator says "you"
    page.click("#btn-takeover")
    expect(page.locator("#hears")).to_have_text("you", timeout=10000)
    expect(page.locator("#call-state")).to_have_text("Agent on the line")
    assert call.takeovers == ["ann"]
    wait_until(page, lambda: len(call.agent_frames) >= 300, 20, "6 s of the agent's audio")  # 300 x 20 ms
    assert page.evaluate("window.__callcenter.levels.sendPeakRms") > 0.01  # the send meter moved
    heard_before = page.evaluate("window.__callcenter.levels.hearFrames")
    page.wait_for_function(f"() => window.__callcenter.levels.hearFrames > {heard_before + 10}")  # the customer
    served.publish("c-red", TranscriptEvent(9.0, "agent", "Hi Dana, I can help with the price.", True, 8.0, 9.0))
    expect(finals.last).to_have_text("Hi Dana, I can help with the price.")
    page.screenshot(path=str(DOCS_IMG / "console-call.png"))

    received = frames_to_samples(list(call.agent_frames), AGENT_RATE_HZ)
    reference, rate = read_wav(mic_wav)
    assert rate == AGENT_RATE_HZ
    correlations = windowed_correlations(received[AGENT_RATE_HZ // 2 :], reference, AGENT_RATE_HZ)  # after 0.5 s
    assert len(correlations) >= 4, f"expected seconds of voice from the microphone, got {len(correlations)} windows"
    median = float(np.median(correlations))
    assert median >= MIN_CORRELATION, f"the call heard the fake microphone at {np.round(correlations, 3).tolist()}"

    # hand back: the robot again, the microphone released
    page.click("#btn-handback")
    expect(page.locator("#hears")).to_have_text("robot", timeout=10000)
    assert call.hand_backs == 1 and call.channel is None
    expect(page.locator("#btn-takeover")).to_be_enabled()
    sent = len(call.agent_frames)
    page.wait_for_timeout(300)
    assert len(call.agent_frames) == sent
    assert page.evaluate("window.__callcenter.levels.send") == 0


def test_an_agent_sets_the_outcome_and_hangs_up(
    served: ServedConsole, page: Any, customer_audio: np.ndarray, robot_audio: np.ndarray
) -> None:
    call = served.add_call("c-red", "Solar spring", customer_audio, robot_audio, assigned="ann")
    log_in(page, served, "ann")
    expect(row(page, "c-red")).to_contain_text("+14155554567")  # assigned to ann: the number in full
    row(page, "c-red").locator("a").click()
    expect(page.locator(".call-title")).to_have_text("Dana Smith")
    page.select_option("#outcome", "callback")
    page.fill("#outcome-note", "after 5 pm")
    page.click(".outcome button[type=submit]")
    expect(page.locator(".outcome-status")).to_have_text("Outcome: callback")

    page.click("#btn-hangup")
    expect(page.locator("#btn-hangup")).to_have_text("Confirm hang-up")
    assert call.end_requests == 0  # one click is not enough
    page.click("#btn-hangup")
    expect(page.locator("#call-message")).to_have_text("The call has ended (callback).")
    assert call.end_requests == 1
    for button in ("#btn-listen", "#btn-takeover", "#btn-handback", "#btn-hangup"):
        expect(page.locator(button)).to_be_disabled()
    page.click("text=← Board")
    expect(page.locator("#board tbody tr")).to_have_count(0)


def test_transcript_and_names_with_markup_render_as_text(
    served: ServedConsole, page: Any, customer_audio: np.ndarray, robot_audio: np.ndarray
) -> None:
    hostile_name = "<b>Eve</b><img src=x onerror=alert(2)>"
    served.add_call("c-x", "Solar spring", customer_audio, robot_audio, lead_name=hostile_name)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    log_in(page, served, "ann")
    expect(row(page, "c-x").locator("a")).to_have_text(hostile_name)
    assert row(page, "c-x").locator("b, img").count() == 0

    row(page, "c-x").locator("a").click()
    expect(page.locator(".call-title")).to_have_text(hostile_name)
    scripts_before = page.evaluate("document.querySelectorAll('script').length")
    hostile = "<script>alert(1)</script>"
    served.publish("c-x", TranscriptEvent(2.0, "customer", hostile, True, 1.0, 1.9))
    served.publish("c-x", TranscriptEvent(2.5, "robot", '<img src=x onerror="alert(3)">', False, 2.1))
    expect(page.locator(".transcript .final .text")).to_have_text([hostile])
    expect(page.locator(".transcript .partial .text")).to_have_text(['<img src=x onerror="alert(3)">'])
    assert page.evaluate("document.querySelectorAll('script').length") == scripts_before
    assert page.locator("#view img, #view b").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


def test_an_agent_of_another_team_does_not_see_the_call(
    served: ServedConsole, page: Any, customer_audio: np.ndarray, robot_audio: np.ndarray
) -> None:
    served.add_call("c-red", "Solar spring", customer_audio, robot_audio)
    served.add_call("c-blue", "Home insurance", customer_audio, robot_audio, lead_name="Sam Park")

    page.goto(served.url + "/")
    page.fill("#username", "bob")
    page.fill("#password", "not his password")
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    log_in(page, served, "bob")
    expect(page.locator("#board tbody tr")).to_have_count(1)
    expect(row(page, "c-blue")).to_contain_text("Sam Park")
    served.publish("c-red", HandoffEvent(3.0, "requested", "customer_asked"))  # never reaches bob's board
    page.wait_for_timeout(500)
    expect(page.locator("#board tbody tr")).to_have_count(1)
    assert page.evaluate("window.__callcenter.beeps") == 0

    page.goto(served.url + "/#/calls/c-red")  # straight to the URL: refused by REST and by the socket
    expect(page.locator("#call-message")).to_have_text("You may not see this call.")
    expect(page.locator("#btn-takeover")).to_have_count(1)
    expect(page.locator("#btn-takeover")).to_be_disabled()
    expect(page.locator(".transcript li")).to_have_count(0)


def test_history_search_transcript_and_recording_playback(served: ServedConsole, page: Any) -> None:
    t = np.arange(3 * 8000) / 8000
    recording = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    transcript: list[TranscriptTurn] = [
        {"speaker": "robot", "start_s": 0.2, "end_s": 2.0, "text": "Hello, this is Sunny from Solar spring."},
        {"speaker": "customer", "start_s": 2.4, "end_s": 3.5, "text": "Yes, book me in for Tuesday."},
    ]
    served.add_history("Solar spring", "Dana Smith", "+14155554567", transcript, recording)
    served.add_history("Home insurance", "Sam Park", "+14155550000", transcript, None)  # another team's

    log_in(page, served, "ann")
    page.click('#nav a[href="#/history"]')
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    page.fill('.search input[name="q"]', "Tuesday")
    page.click(".search button[type=submit]")
    expect(page).to_have_url(re.compile(r"#/history\?q=Tuesday$"))
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    page.locator("table.history tbody tr a").click()
    expect(page.locator(".record h1")).to_have_text("Dana Smith")
    expect(page.locator(".record .transcript .text")).to_have_text([t["text"] for t in transcript])
    audio = page.locator("audio.recording")
    expect(audio).to_have_count(1)
    page.wait_for_function("() => document.querySelector('audio.recording').readyState >= 1", timeout=10000)
    assert abs(page.evaluate("document.querySelector('audio.recording').duration") - 3.0) < 0.05
    page.evaluate("document.querySelector('audio.recording').play()")
    page.wait_for_function("() => document.querySelector('audio.recording').currentTime > 0.3", timeout=10000)


def test_the_page_cannot_use_a_socket_before_login_nor_change_anything_without_the_csrf_token(
    served: ServedConsole, page: Any, customer_audio: np.ndarray, robot_audio: np.ndarray
) -> None:
    served.add_call("c-red", "Solar spring", customer_audio, robot_audio)
    page.goto(served.url + "/")
    expect(page.locator("#login")).to_be_visible()
    close_code = page.evaluate(
        """() => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/calls/c-red/events`);
            ws.onclose = (event) => resolve(event.code);
        })"""
    )
    assert close_code == 4401
    log_in(page, served, "ann")
    refused = page.evaluate(
        """async () => {
            const response = await fetch("/api/calls/c-red/takeover", { method: "POST" });
            return [response.status, (await response.json()).error];
        }"""
    )
    assert refused == [403, "csrf_missing"]
    assert served.calls["c-red"].takeovers == []
