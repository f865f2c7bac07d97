"""The campaign, leads, lists, reps, pool and webhooks commands end to end on a SQLite file: a manager's session
from an empty database to a running campaign, and a rep claiming a lead from the pool."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from callcenter_cli import app
from storage import Database
from storage.models import Lead, LeadStatus, User
from storage.models.base import utcnow

pytestmark = pytest.mark.unit


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in lines] if len(lines) != 1 else json.loads(lines[0])


def test_a_campaign_from_an_empty_database_to_running(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    created = run("campaign", "create", "--name", "spring", "--script", "insurance-en", "--cps", "2",
                  "--dialogue", '{"agent_name": "Dana"}', "--db-url", url)  # fmt: skip
    cid = str(created["id"])
    assert (created["status"], created["language"], created["dialogue_settings"]) == (
        "draft",
        "en",
        {"agent_name": "Dana"},
    )

    dnc = tmp_path / "dnc.csv"
    dnc.write_text("phone\n(212) 555-0147\n", encoding="utf-8")
    listed = run("lists", "import", str(dnc), "--kind", "do-not-call", "--source", "registry", "--default-region",
                 "US", "--db-url", url)  # fmt: skip
    assert listed["added"] == 1

    leads = tmp_path / "leads.csv"
    with leads.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Name", "Mobile", "Company"])
        w.writerows([["Ann", "+1 212 555 0143", "Acme"], ["Bob", "", "Beta"], ["Cy", "12345", "Gamma"],
                     ["Ann again", "(212) 555-0143", "Acme"], ["Dee", "212-555-0147", "Delta"]])  # fmt: skip
    report = tmp_path / "rejected.csv"
    summary = run("leads", "import", str(leads), "--campaign", cid, "--default-region", "US", "--report", str(report),
                  "--db-url", url)  # fmt: skip
    assert (summary["rows_total"], summary["rows_kept"], summary["rows_rejected"]) == (5, 1, 4)
    with report.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert [r[1] for r in rows[1:]] == ["empty", "impossible", "duplicate_in_file", "do_not_call"]
    assert all("555" not in cell for r in rows for cell in r)  # the report names rows and reasons, not numbers

    assert run("campaign", "edit", cid, "--max-concurrent", "6", "--db-url", url)["max_concurrent_calls"] == 6
    assert run("campaign", "start", cid, "--db-url", url)["status"] == "running"
    run("campaign", "edit", cid, "--cps", "3", "--db-url", url, code=2)  # a running campaign is not edited
    assert run("campaign", "pause", cid, "--db-url", url)["status"] == "paused"
    run("campaign", "start", cid, "--db-url", url, code=2)  # paused: resume, not start
    assert run("campaign", "resume", cid, "--db-url", url)["status"] == "running"
    shown = run("campaign", "show", cid, "--db-url", url)
    assert shown["progress"]["leads_total"] == 1 and shown["progress"]["leads_by_status"]["queued"] == 1
    assert run("campaign", "list", "--db-url", url)["name"] == "spring"


def test_reps_the_pool_and_webhooks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    cid = run("campaign", "create", "--name", "c", "--script", "insurance-en", "--db-url", url)["id"]
    db = Database(url)
    try:
        with db.transaction() as s:
            s.add_all([User(username="dana", password_hash="x"), User(username="eli", password_hash="x")])
            lead = Lead(campaign_id=cid, phone_e164="+12125550143", grade="A", intent_score=88.0,
                        industry="insurance", status=LeadStatus.DONE)  # fmt: skip
            s.add(lead)
            s.flush()
            lead_id = lead.id
        dana = run("reps", "add", "dana", "--industry", "insurance", "--rating", "4.5", "--db-url", url)["rep_id"]
        eli = run("reps", "add", "eli", "--db-url", url)["rep_id"]
        assert run("pool", "list", "--db-url", url)["lead_id"] == lead_id  # qualified and nobody's
        assert run("pool", "claim", str(lead_id), "--rep", str(dana), "--db-url", url)["claimed"] is True
        assert run("pool", "claim", str(lead_id), "--rep", str(eli), "--db-url", url, code=1)["claimed"] is False
        with db.transaction() as s:  # the protection ran out with no follow-up
            s.execute(update(Lead).where(Lead.id == lead_id).values(protection_until=utcnow() - timedelta(hours=1)))
            from storage.models import LeadAssignment

            s.execute(update(LeadAssignment).values(protection_until=utcnow() - timedelta(hours=1)))
        assert run("pool", "release", "--db-url", url)["released"] == 1
        assert run("pool", "claim", str(lead_id), "--rep", str(dana), "--db-url", url, code=1)["claimed"] is False
        assert run("pool", "claim", str(lead_id), "--rep", str(eli), "--db-url", url)["claimed"] is True
        with db.read() as s:
            assert s.scalar(select(Lead.assigned_rep_id).where(Lead.id == lead_id)) == eli
        reps = run("reps", "list", "--db-url", url)
        assert [(r["username"], r["leads_held"]) for r in reps] == [("dana", 0), ("eli", 1)]
    finally:
        db.dispose()

    hook = run("webhooks", "add", "https://crm.example.com/hook", "--event", "lead.qualified", "--db-url", url)
    assert len(hook["secret"]) >= 32 and hook["events"] == ["lead.qualified"]
    listed = run("webhooks", "list", "--db-url", url)
    assert listed["url"] == "https://crm.example.com/hook" and "secret" not in listed
    run("webhooks", "add", "ftp://x", "--event", "lead.qualified", "--db-url", url, code=2)
