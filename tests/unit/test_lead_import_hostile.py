"""Hostile lead files: wrong encodings, missing columns, quoted newlines, spreadsheet formulas, huge fields,
100k duplicates, empty and garbage files. None may crash the import: either the file is refused up front with
a `LeadFileError` and nothing written, or every row is accounted for with a reason."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dialer.lead_files import FIELD_LIMIT_CHARS, LeadFileError, open_lead_file, sniff_encoding
from dialer.lead_import import DUPLICATE_IN_FILE, import_leads, write_report_csv
from storage import Database
from storage.models import ImportBatch, ImportRowReport, Lead
from tests.db.lead_import_contract import (
    assert_accounted,
    leads_by_phone,
    make_campaign,
    reports,
    write_csv,
)

pytestmark = pytest.mark.unit


def nothing_written(db: Database) -> bool:
    with db.read() as s:
        return all(s.scalar(select(func.count()).select_from(m)) == 0 for m in (ImportBatch, Lead, ImportRowReport))


# --- encodings ----------------------------------------------------------------------------------------------


def test_gb18030_from_chinese_excel(db: Database, tmp_path: Path) -> None:
    text = "姓名,手机号,公司\r\n张伟,13800138000,北京科技有限公司\r\n王芳,139 0013 9000,上海贸易\r\n"
    path = tmp_path / "leads.csv"
    path.write_bytes(text.encode("gb18030"))
    assert sniff_encoding(path.read_bytes(), complete=True) == "gb18030"
    cid = make_campaign(db)
    summary = import_leads(db, cid, path, default_region="CN")
    assert summary.rows_kept == 2
    assert leads_by_phone(db, cid)["+8613800138000"].company == "北京科技有限公司"


def test_cp1252_from_western_excel(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("Name;Phone\r\nJürgen Müller;030 123456\r\nChloé €uro;030 123457\r\n".encode("cp1252"))
    assert sniff_encoding(path.read_bytes(), complete=True) == "cp1252"
    cid = make_campaign(db)
    import_leads(db, cid, path, default_region="DE")
    leads = leads_by_phone(db, cid)
    assert leads["+4930123456"].name == "Jürgen Müller" and leads["+4930123457"].name == "Chloé €uro"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32"])
def test_unicode_with_a_bom(db: Database, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "leads.txt"  # Excel's "Unicode text": UTF-16 with a BOM, tab-delimited
    path.write_bytes("Phone\tName\r\n+4930123456\t李娜\r\n".encode(encoding))
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert summary.rows_kept == 1 and leads_by_phone(db, cid)["+4930123456"].name == "李娜"


def test_invalid_bytes_mid_file_reject_only_their_row(db: Database, tmp_path: Path) -> None:
    good = b"".join(b"n%d,+4930%06d\n" % (i, i) for i in range(6000))  # past the 64 KiB sample
    bad = b'broken\xff\xfe,+4930999998\n"multi\nline \xc3\x28",+4930999997\nlast,+4930999999\n'
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Name,Phone\n" + good + bad)
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert_accounted(db, summary, 6003)
    assert reports(db, summary.batch_id) == {6002: "bad_encoding", 6003: "bad_encoding"}
    assert "+4930999999" in leads_by_phone(db, cid)


def test_binary_garbage_never_crashes(db: Database, tmp_path: Path) -> None:
    rng = random.Random(7)
    for i in range(20):
        path = tmp_path / f"garbage{i}.csv"
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5000))))
        try:
            summary = import_leads(db, make_campaign(db), path)
        except LeadFileError:
            continue
        assert summary.rows_total == summary.rows_kept + summary.rows_rejected


# --- structure ----------------------------------------------------------------------------------------------


def test_missing_phone_column_writes_nothing(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [("Ann", "ann@example.com")], header=("Name", "Email"))
    with pytest.raises(LeadFileError, match="no phone column"):
        import_leads(db, make_campaign(db), path)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0


@pytest.mark.parametrize("content", [b"", b"\n\n\r\n", b" , , \n"])
def test_empty_file_is_refused(db: Database, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    make_campaign(db)
    with pytest.raises(LeadFileError, match="no header row"):
        import_leads(db, 1, path)


def test_header_only_imports_nothing(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("Phone,Name\n\n\n", encoding="utf-8")
    summary = import_leads(db, make_campaign(db), path)
    assert (summary.rows_total, summary.rows_kept, summary.rejected) == (0, 0, {})


def test_blank_and_ragged_rows(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("Name,Phone,Company\nA,+4930123456\n\nB\n,,\nC,+4930123457,X,extra,cells\n\n\n", encoding="utf-8")
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert_accounted(db, summary, 5)  # the blank rows at the end are not rows
    assert reports(db, summary.batch_id) == {3: "empty", 4: "empty", 5: "empty"}
    assert leads_by_phone(db, cid)["+4930123457"].company == "X"


def test_quoted_newlines_keep_row_numbers(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "l.csv",
        [("A", "+4930123456", "Acme", "line one\nline two\r\nline three"), ("B", "nope", "", ""), ("C", "", "", "")],
    )
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert reports(db, summary.batch_id) == {3: "malformed", 4: "empty"}


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters(db: Database, tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "l.csv"
    path.write_text(f"Name{delimiter}Phone\nSmith, John{delimiter}+4930123456\n", encoding="utf-8")
    cid = make_campaign(db)
    import_leads(db, cid, path)
    assert leads_by_phone(db, cid)["+4930123456"].name == "Smith, John"


def test_old_mac_line_ends_and_nul_bytes(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(b"Name,Phone\rA\x00B,+4930123456\rC,+4930123457\r")
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert summary.rows_kept == 2 and leads_by_phone(db, cid)["+4930123456"].name == "A\x00B"


def test_formulas_are_stored_neutralised(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "l.csv",
        [('=HYPERLINK("http://x","y")', "+4930123456", "+cmd|' /C calc'!A0", "@SUM(A1)")],
        header=("Name", "Phone", "Company", "=Notes"),
    )
    cid = make_campaign(db)
    from dialer.lead_files import ColumnMapping

    import_leads(db, cid, path, mapping=ColumnMapping(phone="Phone", name="Name", company="Company", custom="*"))
    lead = leads_by_phone(db, cid)["+4930123456"]
    assert lead.name == '\'=HYPERLINK("http://x","y")'
    assert lead.company == "'+cmd|' /C calc'!A0"
    assert lead.custom_fields == {"=Notes": "'@SUM(A1)"}


def test_report_csv_neutralises_its_text(db: Database, tmp_path: Path) -> None:
    huge = "=" * (FIELD_LIMIT_CHARS + 1)
    path = write_csv(tmp_path / "l.csv", [("A", "+4930123456", "", huge)], header=("Name", "Phone", "X", "=Y"))
    summary = import_leads(db, make_campaign(db), path)
    out = io.StringIO()
    with db.read() as s:
        write_report_csv(s, summary.batch_id, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][:2] == ["2", "field_too_large"] and not rows[1][2].startswith(("=", "+", "-", "@"))


# --- size -------------------------------------------------------------------------------------------------


def test_a_10_mb_field_rejects_its_row_only(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("Name", "Phone", "Notes"))
        writer.writerow(("A", "+4930123456", ""))
        writer.writerow(("B", "+4930123457", "x\n" * 5_000_000))  # 10 MB, quoted, with line breaks
        writer.writerow(("C", "+4930123458", ""))
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert_accounted(db, summary, 3)
    assert reports(db, summary.batch_id) == {3: "field_too_large"}
    assert sorted(leads_by_phone(db, cid)) == ["+4930123456", "+4930123458"]


@pytest.mark.parametrize(
    "huge",
    [b"9" * (20 * 1024 * 1024), b'"' + b"9\n" * (10 * 1024 * 1024) + b'"', b'"' + b'x""y' * (6 * 1024 * 1024) + b'"'],
    ids=["one-line", "quoted-lines", "quoted-quotes"],
)
def test_fields_over_the_parser_limit_cost_their_row_only(db: Database, tmp_path: Path, huge: bytes) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(b"Name,Phone\nA,+4930123456\nB," + huge + b',+4930123457\nC,"+4930123458"\n')
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert_accounted(db, summary, 3)
    assert reports(db, summary.batch_id) == {3: "field_too_large"}
    assert sorted(leads_by_phone(db, cid)) == ["+4930123456", "+4930123458"]


def test_100k_copies_of_one_number(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("Phone\n" + "+49 30 123456\n" * 100_000, encoding="utf-8")
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert_accounted(db, summary, 100_000)
    assert summary.rows_kept == 1 and summary.rejected == {DUPLICATE_IN_FILE: 99_999}
    assert min(reports(db, summary.batch_id)) == 3


# --- not a CSV ----------------------------------------------------------------------------------------------


def test_broken_xlsx_and_xls_are_refused(db: Database, tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("Phone\n+4930123456\n", encoding="utf-8")
    not_excel = tmp_path / "other.xlsx"
    with zipfile.ZipFile(not_excel, "w") as zf:
        zf.writestr("hello.txt", "hi")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    make_campaign(db)
    for path in (fake, not_excel, old):
        with pytest.raises(LeadFileError):
            import_leads(db, 1, path)
    assert nothing_written(db)


def test_xlsx_without_header_is_refused(tmp_path: Path) -> None:
    from openpyxl import Workbook

    path = tmp_path / "empty.xlsx"
    Workbook().save(path)
    with pytest.raises(LeadFileError, match="no header row"):
        open_lead_file(path)
