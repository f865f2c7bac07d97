"""Campaign pages in a real browser: a supervisor creates a campaign, uploads a lead file with dirty rows and reads
the cleaning report, starts the campaign and watches its progress and charts refresh as calls end (the calls are
written straight into the database: no dialer runs in this tier); an agent reads campaigns but gets no controls.
The campaign page's screenshot goes to docs/img/console-campaign.png."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from storage.models import AttemptState, CallAttempt, Lead, LeadStatus
from storage.models.base import utcnow
from storage.repos.records import save_call_record
from tests.browser.served import ServedConsole
from tests.browser.ui import log_in

pytestmark = pytest.mark.browser

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
GOOD_ROWS = 24
DIRTY_ROWS = [  # (name, phone): 5 rejected
    ("Bo", ""),  # empty
    ("Cy", "not a number"),  # malformed
    ("Ed", "(212) 555-0100"),  # duplicate of the first good row (region US)
    ("Gus", "(123) 456-7890"),  # invalid: area codes never start with 1
    ("Kim", "+1 212 555 01"),  # too short: invalid or malformed
]
CALLS = [  # per lead with a call: (answered, grade, handed to a person, voice-to-voice ms)
    (True, "A", True, [420.0, 510.0, 630.0]),
    (True, "A", False, [380.0, 450.0]),
    (True, "B", False, [560.0, 700.0, 480.0]),
    (True, "B", True, [610.0, 530.0]),
    (True, "C", False, [470.0, 820.0]),
    (True, "C", False, [520.0]),
    (True, "D", False, [690.0, 440.0]),
    (False, None, False, []),
    (False, None, False, []),
    (False, None, False, []),
]


def lead_file(tmp_path: Path) -> Path:
    path = tmp_path / "spring-leads.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Name", "Phone", "Company"])
        writer.writerows((f"Lead {i}", f"(212) 555-{100 + i:04d}", "Acme") for i in range(GOOD_ROWS))
        writer.writerows((name, phone, "X") for name, phone in DIRTY_ROWS)
    return path


def end_calls(served: ServedConsole, campaign_id: int) -> None:
    """`CALLS` as ended attempts with records on the campaign's first leads, as the dialer would leave them."""
    now = utcnow()
    with served.console.db.transaction() as s:
        leads = list(s.scalars(select(Lead).where(Lead.campaign_id == campaign_id).order_by(Lead.id)))
        for lead, (answered, grade, handed, v2v_ms) in zip(leads, CALLS, strict=False):
            lead.status, lead.grade = LeadStatus.DONE, grade
            attempt = CallAttempt(
                lead_id=lead.id,
                campaign_id=campaign_id,
                attempt_no=1,
                state=AttemptState.ENDED,
                disposition="answered" if answered else "no_answer",
                started_at=now - timedelta(seconds=90),
                answered_at=now - timedelta(seconds=80) if answered else None,
                ended_at=now,
            )
            s.add(attempt)
            s.flush()
            if answered:
                handoff = {"agent": "ann", "wait_s": 3.0} if handed else {}
                timings = {"voice_to_voice_ms": v2v_ms}
                save_call_record(s, attempt.id, outcome="answered", grade=grade, handoff=handoff, timings=timings)


def figure(page: Any, scope: str, key: str) -> Any:
    return page.locator(f'{scope} [data-figure="{key}"] .n')


def test_a_supervisor_creates_a_campaign_uploads_leads_and_starts_it(
    served: ServedConsole, page: Any, tmp_path: Path
) -> None:
    log_in(page, served, "sup")
    page.click('#nav a[href="#/campaigns"]')
    expect(page.locator("#campaigns tbody tr")).to_have_count(2)  # the seeded ones: staff see every team's
    form = page.locator("form.new-campaign")
    form.locator('input[name="name"]').fill("Spring solar — Bay Area")
    form.locator('select[name="script_id"]').select_option("insurance-en")
    form.locator('select[name="team_id"]').select_option(label="red")
    form.locator('input[name="max_concurrent_calls"]').fill("4")
    form.locator('input[name="caller_id"]').fill("+12125550100")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/campaigns/\d+$"))
    campaign_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".campaign-head h1")).to_have_text("Spring solar — Bay Area")
    expect(page.locator("#campaign-status")).to_have_text("draft")
    expect(figure(page, ".campaign-progress", "leads_total")).to_have_text("0")

    # the lead file: 24 good rows, 5 dirty ones
    page.locator('.lead-upload input[type="file"]').set_input_files(str(lead_file(tmp_path)))
    page.locator('.lead-upload input[name="region"]').fill("US")
    page.locator(".lead-upload button[type=submit]").click()
    report = ".cleaning-report"
    expect(figure(page, report, "rows_total")).to_have_text(str(GOOD_ROWS + len(DIRTY_ROWS)))
    expect(figure(page, report, "rows_kept")).to_have_text(str(GOOD_ROWS))
    expect(figure(page, report, "rows_rejected")).to_have_text(str(len(DIRTY_ROWS)))
    reasons = page.locator(f"{report} tr[data-reason]")
    expect(page.locator(f'{report} tr[data-reason="empty"] .n')).to_have_text("1")
    expect(page.locator(f'{report} tr[data-reason="duplicate_in_file"] .n')).to_have_text("1")
    counts = [int(n) for n in reasons.locator(".n").all_text_contents()]
    assert sum(counts) == len(DIRTY_ROWS)
    link = page.locator(f"{report} a.report-link")
    expect(link).to_have_attribute("href", re.compile(r"^/api/imports/\d+/report\.csv$"))
    expect(figure(page, ".campaign-progress", "leads_total")).to_have_text(str(GOOD_ROWS))
    expect(figure(page, ".campaign-progress", "queued")).to_have_text(str(GOOD_ROWS))

    # start; the page follows the calls as they end, without a reload
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#campaign-status")).to_have_text("running")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.get_by_role("button", name="Start")).to_have_count(0)
    end_calls(served, campaign_id)
    expect(figure(page, ".campaign-progress", "done")).to_have_text(str(len(CALLS)), timeout=10_000)
    funnel = page.locator('[data-chart="funnel"] rect.bar')
    expect(funnel).to_have_count(4)
    assert [funnel.nth(i).get_attribute("data-value") for i in range(4)] == ["10", "7", "4", "2"]
    grades = page.locator('[data-chart="grades"] rect.bar')
    assert [grades.nth(i).get_attribute("data-value") for i in range(4)] == ["2", "2", "2", "1"]
    latency = page.locator('[data-chart="latency"] rect.bar')
    expect(latency).not_to_have_count(0)
    assert sum(int(latency.nth(i).get_attribute("data-value")) for i in range(latency.count())) == sum(
        len(c[3]) for c in CALLS
    )
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "console-campaign.png"), full_page=True)

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#campaign-status")).to_have_text("paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    page.click('a.back[href="#/campaigns"]')
    row = page.locator(f'#campaigns tr[data-campaign-id="{campaign_id}"]')
    expect(row.locator(".campaign-status")).to_have_text("paused")
    expect(row.locator("td.leads")).to_have_text(str(GOOD_ROWS))


def test_an_agent_reads_campaigns_but_gets_no_controls(served: ServedConsole, page: Any) -> None:
    log_in(page, served, "ann")
    page.click('#nav a[href="#/campaigns"]')
    expect(page.locator("#campaigns tbody tr")).to_have_count(1)  # red's only
    expect(page.locator("#campaigns")).to_contain_text("Solar spring")
    expect(page.locator("form.new-campaign")).to_have_count(0)
    page.locator("#campaigns a", has_text="Solar spring").click()
    expect(page.locator("#campaign-status")).to_have_text("draft")
    expect(page.locator('[data-chart="funnel"] rect.bar')).to_have_count(4)
    expect(page.locator(".campaign-steps button")).to_have_count(0)
    expect(page.locator(".lead-upload")).to_have_count(0)
    page.goto(f"{served.url}/#/campaigns/{served.ids['Home insurance']}")  # blue's: 404 from the server
    expect(page.locator('.message[role="alert"]')).to_have_text(re.compile(r"\S"))
