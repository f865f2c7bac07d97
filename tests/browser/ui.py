"""Steps the browser tests share: logging in through the form, finding a call's row on the board, waiting for
something on the server side while the page keeps running."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser.served import PASSWORD, ServedConsole


def log_in(page: Any, served: ServedConsole, username: str, password: str = PASSWORD) -> None:
    page.goto(served.url + "/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login button[type=submit]")
    expect(page.locator("#user .username")).to_have_text(username)


def row(page: Any, call_id: str) -> Any:
    return page.locator(f'#board tr[data-call-id="{call_id}"]')


def wait_until(page: Any, done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll a condition on the server side while the page keeps running."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(100)
