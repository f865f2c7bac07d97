"""Property test: random rows (text, numbers, quotes, line breaks, delimiters, any Unicode) written as CSV and
imported. The import never raises, accounts for every row exactly once, and keeps exactly the first row of each
valid number, as valid, unique E.164."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dialer.lead_files import ColumnMapping
from dialer.lead_import import import_leads
from dialer.phones import normalize
from storage import Database
from storage.models import ImportRowReport
from tests.db.lead_import_contract import leads_by_phone, make_campaign

pytestmark = pytest.mark.unit

REGION = "DE"
VALID = ("+49 30 123456", "030 123456", "+1 415 555 2671", "0049 (0)30 1234567", "+86 138 0013 8000", "4930123456.0")
phones = st.one_of(
    st.sampled_from(VALID),
    st.from_regex(r"[+0]?[0-9 ()\-./]{0,18}", fullmatch=True),
    st.text(max_size=12),
)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(('"', '""', "a,b", "x\ny", "\r", "=cmd()", "+1", "  ", "", "\t;|", "\x00")),
)
rows = st.lists(st.tuples(phones, texts, texts), max_size=40)


_files = itertools.count()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=rows,
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_every_row_is_accounted_for_once(
    db: Database, tmp_path: Path, rows: list[tuple[str, str, str]], delimiter: str, encoding: str
) -> None:
    path = tmp_path / f"fuzz{next(_files)}.csv"
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(("Phone", "Name", "Notes"))
        writer.writerows(rows)
    cid = make_campaign(db)
    mapping = ColumnMapping(phone="Phone", name="Name", custom=["Notes"])
    summary = import_leads(db, cid, path, mapping=mapping, default_region=REGION)

    blank = ["".join(row).strip() == "" for row in rows]
    counted = len(rows) - next((i for i, b in enumerate(reversed(blank)) if not b), len(rows))  # no trailing blanks
    assert summary.rows_total == counted
    with db.read() as s:
        reported = s.scalars(select(ImportRowReport.row_no).where(ImportRowReport.batch_id == summary.batch_id)).all()
    assert len(reported) == len(set(reported)) == summary.rows_rejected
    assert all(2 <= n <= counted + 1 for n in reported)
    assert summary.rows_kept + summary.rows_rejected == counted

    expected: dict[str, int] = {}  # number -> its first row
    for i, row in enumerate(rows[:counted]):
        result = normalize(row[0], REGION)
        if result.e164 is not None:
            expected.setdefault(result.e164, i + 2)
    leads = leads_by_phone(db, cid)
    assert set(leads) == set(expected)
    assert not set(expected.values()) & set(reported)
    for number in leads:
        parsed = phonenumbers.parse(number, None)
        assert phonenumbers.is_valid_number(parsed)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
