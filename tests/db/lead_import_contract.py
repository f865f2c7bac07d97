"""Lead import tests that touch storage, written once and run on both databases.

Subclasses provide a `db` fixture (a migrated, empty `Database`) and get `tmp_path` from pytest:
tests/unit/test_lead_import_sqlite.py on SQLite in tmp_path, tests/db/test_lead_import_pg.py on the PostgreSQL
that scripts/pg-test-server.sh started.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
from sqlalchemy import func, select

from dialer.lead_files import ColumnMapping
from dialer.lead_import import (
    DO_NOT_CALL,
    DUPLICATE_EXISTING,
    DUPLICATE_IN_FILE,
    EXISTING_CUSTOMER,
    ImportSummary,
    import_leads,
    import_number_list,
    write_report_csv,
)
from storage import Database
from storage.models import Campaign, DoNotCall, ExistingCustomer, ImportBatch, ImportRowReport, Lead, LeadStatus
from storage.repos import add_do_not_call, add_existing_customers

HEADER = ("Name", "Phone", "Company", "Notes")


def make_campaign(db: Database, name: str = "spring") -> int:
    with db.transaction() as s:
        campaign = Campaign(name=name, script_id="insurance-en", language="en")
        s.add(campaign)
        s.flush()
        return campaign.id


def write_csv(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def reports(db: Database, batch_id: int) -> dict[int, str]:
    """row number -> reason, for one import."""
    with db.read() as s:
        rows = s.execute(
            select(ImportRowReport.row_no, ImportRowReport.reason).where(ImportRowReport.batch_id == batch_id)
        )
        return {row_no: reason for row_no, reason in rows}


def leads_by_phone(db: Database, campaign_id: int) -> dict[str, Lead]:
    with db.read() as s:
        return {lead.phone_e164: lead for lead in s.scalars(select(Lead).where(Lead.campaign_id == campaign_id))}


def assert_accounted(db: Database, summary: ImportSummary, data_rows: int) -> None:
    """Every data row is a lead of this batch or has exactly one report; the batch counters agree."""
    with db.read() as s:
        kept = s.scalar(select(func.count()).select_from(Lead).where(Lead.import_batch_id == summary.batch_id))
        reported = s.scalar(
            select(func.count()).select_from(ImportRowReport).where(ImportRowReport.batch_id == summary.batch_id)
        )
        batch = s.get_one(ImportBatch, summary.batch_id)
    assert summary.rows_total == data_rows
    assert kept == summary.rows_kept and reported == summary.rows_rejected
    assert kept + reported == data_rows
    assert (batch.rows_total, batch.rows_kept, batch.rows_rejected) == (data_rows, kept, reported)
    assert batch.finished_at is not None


class LeadImportContract:
    """Import behaviour that depends on the database: counters, conflicts with existing leads, the lists."""

    def test_a_clean_import_keeps_good_rows_and_reports_the_rest(self, db: Database, tmp_path: Path) -> None:
        cid = make_campaign(db)
        path = write_csv(
            tmp_path / "leads.csv",
            [
                ("Ann Lee", "(415) 555-2671", "Acme, Inc.", "likes email"),
                ("Bo", "", "X", ""),
                ("Cy", "not a number", "X", ""),
                ("Di", "+49 30 1234567", "Y", ""),
                ("Ed", "415.555.2671", "Z", ""),  # the same number as Ann's
                ("Fay", "+1 234 567 8901", "Z", ""),  # area code 234 exists; exchange 567 is fine: valid
                ("Gus", "(123) 456-7890", "Z", ""),  # area codes never start with 1
            ],
        )
        mapping = ColumnMapping(phone="Phone", name="Name", company="Company", custom=["Notes"])
        summary = import_leads(db, cid, path, mapping=mapping, default_region="US")
        assert_accounted(db, summary, 7)
        assert reports(db, summary.batch_id) == {3: "empty", 4: "malformed", 6: DUPLICATE_IN_FILE, 8: "invalid"}
        leads = leads_by_phone(db, cid)
        assert set(leads) == {"+14155552671", "+49301234567", "+12345678901"}
        ann = leads["+14155552671"]
        assert (ann.name, ann.company, ann.custom_fields, ann.status) == (
            "Ann Lee",
            "Acme, Inc.",
            {"Notes": "likes email"},
            LeadStatus.QUEUED,
        )
        assert ann.attempts == 0 and ann.timezone is None and ann.import_batch_id == summary.batch_id
        assert ann.next_attempt_at is not None and ann.next_attempt_at <= datetime.now(UTC)
        assert ann.created_at.tzinfo is not None

    def test_numbers_already_leads_of_the_campaign_are_duplicate_existing(self, db: Database, tmp_path: Path) -> None:
        cid, other = make_campaign(db), make_campaign(db, "other")
        first = write_csv(tmp_path / "a.csv", [("A", "+4930123456", "", ""), ("B", "+4930123457", "", "")])
        import_leads(db, cid, first)
        import_leads(db, other, first)  # the same numbers in another campaign do not count
        second = write_csv(tmp_path / "b.csv", [("B again", "+49 30 123457", "", ""), ("C", "+4930123458", "", "")])
        summary = import_leads(db, cid, second)
        assert_accounted(db, summary, 2)
        assert reports(db, summary.batch_id) == {2: DUPLICATE_EXISTING}
        leads = leads_by_phone(db, cid)
        assert sorted(leads) == ["+4930123456", "+4930123457", "+4930123458"]
        assert leads["+4930123457"].name == "B"  # the existing lead is left alone

    def test_do_not_call_and_existing_customers_are_dropped(self, db: Database, tmp_path: Path) -> None:
        cid = make_campaign(db)
        with db.transaction() as s:
            add_do_not_call(s, ["+4930123456"], source="customer_request")
            add_existing_customers(s, ["+4930123457"], source="crm")
        path = write_csv(
            tmp_path / "leads.csv",
            [
                ("A", "030 123456", "", ""),
                ("B", "030/123457", "", ""),
                ("C", "030 123458", "", ""),
                ("A2", "+49 30 123456", "", ""),
            ],
        )
        summary = import_leads(db, cid, path, default_region="DE")
        assert_accounted(db, summary, 4)
        assert reports(db, summary.batch_id) == {2: DO_NOT_CALL, 3: EXISTING_CUSTOMER, 5: DUPLICATE_IN_FILE}
        assert summary.rejected == {DO_NOT_CALL: 1, EXISTING_CUSTOMER: 1, DUPLICATE_IN_FILE: 1}
        assert list(leads_by_phone(db, cid)) == ["+4930123458"]

    def test_commits_in_groups_give_the_same_result(self, db: Database, tmp_path: Path) -> None:
        cid = make_campaign(db)
        with db.transaction() as s:
            add_do_not_call(s, [f"+4930{i:06d}" for i in range(0, 300, 7)], source="x")
        rows = [(f"n{i}", f"+4930{i % 250:06d}", "", "") for i in range(300)]
        summary = import_leads(db, cid, write_csv(tmp_path / "l.csv", rows), batch_size=16, commit_rows=40)
        assert_accounted(db, summary, 300)
        listed = len(range(0, 250, 7))
        assert summary.rows_kept == 250 - listed
        assert summary.rejected == {DUPLICATE_IN_FILE: 50, DO_NOT_CALL: listed}

    def test_the_report_csv_lists_every_rejected_row_in_order(self, db: Database, tmp_path: Path) -> None:
        cid = make_campaign(db)
        rows = [
            ("A", "", "", ""),
            ("B", "+4930123456", "", ""),
            ("=cmd", "garbage", "", ""),
            ("C", "+4930123456", "", ""),
        ]
        summary = import_leads(db, cid, write_csv(tmp_path / "l.csv", rows))
        out = io.StringIO()
        with db.read() as s:
            assert write_report_csv(s, summary.batch_id, out) == 3
        lines = list(csv.reader(io.StringIO(out.getvalue())))
        assert lines[0] == ["row", "reason", "detail"]
        assert [(r[0], r[1]) for r in lines[1:]] == [("2", "empty"), ("4", "malformed"), ("5", DUPLICATE_IN_FILE)]
        assert all(r[2] for r in lines[1:])
        assert "garbage" not in out.getvalue() and "4930123456" not in out.getvalue()

    def test_do_not_call_list_import_is_kept_and_stops_queued_leads(self, db: Database, tmp_path: Path) -> None:
        cid = make_campaign(db)
        import_leads(
            db, cid, write_csv(tmp_path / "l.csv", [("A", "+4930123456", "", ""), ("B", "+4930123457", "", "")])
        )
        with db.transaction() as s:
            add_do_not_call(s, ["+4930123457"], source="earlier")
        path = tmp_path / "dnc.csv"
        path.write_text("+49 30 123456\n030 123457\n030 123457\nnonsense\n\n030 123458\n", encoding="utf-8")
        summary = import_number_list(db, path, "do_not_call", source="list:dnc.csv", default_region="DE")
        assert (summary.rows_total, summary.added, summary.already_listed) == (6, 2, 2)
        assert summary.rejected == {"malformed": 1, "empty": 1}
        with db.read() as s:
            listed = dict(s.execute(select(DoNotCall.phone_e164, DoNotCall.source)).all())
        assert listed == {"+4930123456": "list:dnc.csv", "+4930123457": "earlier", "+4930123458": "list:dnc.csv"}
        assert leads_by_phone(db, cid)["+4930123456"].status is LeadStatus.DO_NOT_CALL

    def test_existing_customer_list_with_a_header(self, db: Database, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "crm.csv", [("A", "+1 415 555 2671", "", ""), ("B", "(415) 555-2672", "", "")])
        summary = import_number_list(db, path, "existing_customers", source="crm", default_region="US")
        assert (summary.added, summary.already_listed, summary.rejected) == (2, 0, {})
        with db.read() as s:
            assert set(s.scalars(select(ExistingCustomer.phone_e164))) == {"+14155552671", "+14155552672"}
        cid = make_campaign(db)
        again = import_leads(db, cid, path, default_region="US")
        assert again.rejected == {EXISTING_CUSTOMER: 2} and again.rows_kept == 0

    def test_kept_numbers_are_valid_e164(self, db: Database, tmp_path: Path) -> None:
        cid = make_campaign(db)
        rows = [("x", p, "", "") for p in ("+86 138 0013 8000", "0044 7400 123456", "+91 81234 56789", "4155552671.0")]
        summary = import_leads(db, cid, write_csv(tmp_path / "l.csv", rows), default_region="US")
        assert summary.rows_kept == 4
        for number in leads_by_phone(db, cid):
            parsed = phonenumbers.parse(number, None)
            assert phonenumbers.is_valid_number(parsed)
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
