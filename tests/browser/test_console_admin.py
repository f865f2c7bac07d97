"""Administration pages in a real browser: an admin creates, changes and deactivates a user; an agent gets no
administration pages (the server refuses the API anyway: tests/unit/test_console_auth.py)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.served import ServedConsole
from tests.browser.ui import log_in

pytestmark = pytest.mark.browser


def test_an_admin_creates_and_deactivates_a_user(served: ServedConsole, page: Any) -> None:
    log_in(page, served, "admin")
    page.click('#nav a[href="#/admin/users"]')
    expect(page.locator("table.users tbody tr")).to_have_count(4)
    form = page.locator("form.new-user")
    form.locator('input[name="username"]').fill("cat")
    form.locator('input[name="password"]').fill("a long enough password")
    form.locator('select[name="role"]').select_option("agent")
    form.locator("select.teams").select_option(label="red")
    form.locator("button[type=submit]").click()
    cat = page.locator('table.users tr[data-username="cat"]')
    expect(cat).to_contain_text("active")
    expect(cat.locator("select.teams option:checked")).to_have_text(["red"])

    cat.get_by_role("button", name="Deactivate").click()
    expect(cat).to_contain_text("deactivated")
    expect(cat.get_by_role("button", name="Reactivate")).to_be_visible()
    page.click('#nav a[href="#/audit"]')
    expect(page.locator("table.audit")).to_contain_text("user_changed")


def test_an_agent_gets_no_administration_pages(served: ServedConsole, page: Any) -> None:
    log_in(page, served, "ann")
    expect(page.locator('#nav a[href="#/admin/users"]')).to_be_hidden()
    expect(page.locator('#nav a[href="#/audit"]')).to_be_hidden()
    page.goto(served.url + "/#/admin/users")
    expect(page).to_have_url(f"{served.url}/#/board")
    expect(page.locator("table.users")).to_have_count(0)
