"""Lead import on ordinary files: CSV and XLSX, column mapping (English and Chinese headers), default region,
progress, the worker-process pipeline, and the pieces (header detection, cell text, sniffing)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from dialer.lead_files import (
    ColumnMapping,
    LeadFileError,
    RowSpec,
    cell_text,
    clean_rows,
    detect_mapping,
    neutralize,
    open_lead_file,
    resolve_mapping,
    sniff_delimiter,
)
from dialer.lead_import import DUPLICATE_IN_FILE, import_leads
from storage import Database
from storage.models import ImportBatch
from tests.db.lead_import_contract import (
    assert_accounted,
    leads_by_phone,
    make_campaign,
    reports,
    write_csv,
)

pytestmark = pytest.mark.unit


def write_xlsx(path: Path, rows: list[tuple[str | int | float | None, ...]], sheet: str = "Leads") -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_english_headers_are_detected_and_fields_stored(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        [("Ann", "+1 415 555 2671", "Acme", "insurance", "CA", "America/Los_Angeles", "vip")],
        header=("Full Name", "Mobile Phone", "Company Name", "Industry", "State", "Time Zone", "Source"),
    )
    cid = make_campaign(db)
    summary = import_leads(db, cid, path)
    assert summary.rows_kept == 1
    lead = leads_by_phone(db, cid)["+14155552671"]
    assert (lead.name, lead.company, lead.industry, lead.region, lead.timezone) == (
        "Ann",
        "Acme",
        "insurance",
        "CA",
        "America/Los_Angeles",
    )
    assert lead.custom_fields == {}  # unmapped columns are not kept unless asked for
    with db.read() as s:
        batch = s.get_one(ImportBatch, summary.batch_id)
    assert batch.file_format == "csv" and batch.filename == "leads.csv"
    assert batch.column_mapping == {
        "phone": "Mobile Phone",
        "name": "Full Name",
        "company": "Company Name",
        "industry": "Industry",
        "region": "State",
        "timezone": "Time Zone",
        "custom": [],
    }


def test_chinese_headers_and_default_region(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "线索.csv",
        [("张伟", "138 0013 8000", "北京科技", "教育", "广东"), ("王芳", "010-12345678", "上海贸易", "保险", "上海")],
        header=("姓名", "手机号", "公司", "行业", "省份"),
    )
    cid = make_campaign(db)
    summary = import_leads(db, cid, path, default_region="cn")
    assert summary.rows_kept == 2
    leads = leads_by_phone(db, cid)
    assert leads["+8613800138000"].name == "张伟" and leads["+861012345678"].region == "上海"
    assert leads["+8613800138000"].company == "北京科技" and leads["+8613800138000"].industry == "教育"


def test_a_bad_timezone_is_left_to_the_dialer(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "l.csv", [("+4930123456", "Mars/Olympus"), ("+4930123457", "Europe/Berlin")], ("Tel", "TZ")
    )
    cid = make_campaign(db)
    import_leads(db, cid, path)
    leads = leads_by_phone(db, cid)
    assert leads["+4930123456"].timezone is None and leads["+4930123457"].timezone == "Europe/Berlin"


def test_explicit_mapping_and_all_other_columns_as_custom_fields(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "l.csv", [("x", "030 123456", "Ann", "gold", "")], header=("Number", "Tel2", "Who", "Tier", "Empty")
    )
    cid = make_campaign(db)
    mapping = ColumnMapping(phone="tel2", name="WHO", custom="*")
    summary = import_leads(db, cid, path, mapping=mapping, default_region="DE")
    assert summary.rows_kept == 1
    lead = leads_by_phone(db, cid)["+4930123456"]
    assert lead.name == "Ann" and lead.custom_fields == {"Number": "x", "Tier": "gold"}


def test_a_mapped_column_missing_from_the_file_is_an_error_before_anything_is_written(
    db: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", [("Ann", "+4930123456", "", "")])
    cid = make_campaign(db)
    with pytest.raises(LeadFileError, match="'Mobile' is not in the header row"):
        import_leads(db, cid, path, mapping=ColumnMapping(phone="Mobile"))
    with pytest.raises(LeadFileError, match="custom column"):
        import_leads(db, cid, path, mapping=ColumnMapping(phone="Phone", custom=["Fax"]))
    with db.read() as s:
        assert s.scalars(select(ImportBatch)).all() == []


def test_unknown_default_region_or_campaign_is_refused(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [("Ann", "+4930123456", "", "")])
    with pytest.raises(ValueError, match="region code"):
        import_leads(db, make_campaign(db), path, default_region="Germany")
    with pytest.raises(LookupError, match="no campaign 99"):
        import_leads(db, 99, path)
    with db.read() as s:
        assert s.scalars(select(ImportBatch)).all() == []


def test_xlsx_with_numeric_cells_formulas_and_a_named_sheet(db: Database, tmp_path: Path) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    first.append(("nothing here",))
    sheet = book.create_sheet("Leads")
    sheet.append(("Name", "Phone", "Signed up", "Score"))
    sheet.append(("Int cell", 4930123456, datetime(2030, 1, 2, 3, 4), 0.5))
    sheet.append(("Float cell", 3.0, None, 2.0))
    sheet.append(("Float cell", 4930123457.0, None, None))
    sheet.append(("=cmd|' /C calc'!A0", "=A1&B1", None, None))  # a formula never calculated: no value
    sheet.append(("@SUM(1)", "+49 30 123458", True, None))
    sheet.append((None, None, None, None))
    sheet.append((None, None, None, None))  # trailing blank rows are not rows
    path = tmp_path / "leads.xlsx"
    book.save(path)
    cid = make_campaign(db)
    mapping = ColumnMapping(phone="Phone", name="Name", custom=["Signed up", "Score"])
    summary = import_leads(db, cid, path, mapping=mapping, sheet="Leads", default_region="DE")
    assert_accounted(db, summary, 5)
    assert reports(db, summary.batch_id) == {3: "malformed", 5: "empty"}
    leads = leads_by_phone(db, cid)
    assert leads["+4930123456"].custom_fields == {"Signed up": "2030-01-02T03:04:00", "Score": "0.5"}
    assert leads["+4930123457"].custom_fields == {}
    assert leads["+4930123458"].name == "'@SUM(1)" and leads["+4930123458"].custom_fields == {"Signed up": "TRUE"}
    with db.read() as s:
        assert s.get_one(ImportBatch, summary.batch_id).file_format == "xlsx"


def test_xlsx_missing_sheet_is_an_error(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "l.xlsx", [("Phone",), ("+4930123456",)])
    with pytest.raises(LeadFileError, match="no worksheet 'Other'"):
        open_lead_file(path, sheet="Other")


def test_progress_reports_rows_and_bytes(db: Database, tmp_path: Path) -> None:
    rows = [(f"n{i}", f"+4930{i:06d}", "", "") for i in range(50)]
    path = write_csv(tmp_path / "l.csv", rows)
    calls: list[tuple[int, int, int]] = []
    import_leads(db, make_campaign(db), path, batch_size=20, progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [20, 40, 50]
    assert all(total == path.stat().st_size for _, _, total in calls)
    assert calls[-1][1] == path.stat().st_size and calls[0][1] <= calls[-1][1]


def test_a_worker_process_gives_the_same_result(db: Database, tmp_path: Path) -> None:
    rows = [(f"n{i}", f"+4930{i % 700:06d}" if i % 11 else "junk", "", "") for i in range(1000)]
    path = write_csv(tmp_path / "l.csv", rows)
    inline = import_leads(db, make_campaign(db), path, workers=0, batch_size=64)
    pooled = import_leads(db, make_campaign(db), path, workers=1, batch_size=64)
    assert (pooled.rows_total, pooled.rows_kept, pooled.rejected) == (
        inline.rows_total,
        inline.rows_kept,
        inline.rejected,
    )
    assert reports(db, pooled.batch_id) == reports(db, inline.batch_id)
    assert inline.rejected[DUPLICATE_IN_FILE] > 0


# --- the pieces ---------------------------------------------------------------------------------------------


def test_detect_mapping_prefers_the_best_synonym_and_ignores_case_and_punctuation() -> None:
    mapping = detect_mapping(["Number", "E-Mail", "PHONE_NUMBER", "Contact Name", "公司名称", "所属行业", "地区"])
    assert (mapping.phone, mapping.name, mapping.company, mapping.industry, mapping.region) == (
        "PHONE_NUMBER",
        "Contact Name",
        "公司名称",
        "所属行业",
        "地区",
    )
    assert detect_mapping(["电话", "姓名"]).phone == "电话"
    assert detect_mapping(["联系人", "手机号码"]) == ColumnMapping(phone="手机号码", name="联系人")
    with pytest.raises(LeadFileError, match="no phone column"):
        detect_mapping(["Name", "Email"])


def test_resolve_mapping_indexes_and_custom_star() -> None:
    resolved = resolve_mapping(["Tel", "Name", "", "Notes", "Notes"], ColumnMapping(phone="tel", custom="*"))
    assert (resolved.phone, resolved.name, resolved.custom) == (0, None, (("Name", 1), ("Notes", 3)))


def test_clean_rows_gives_codes_and_stored_fields() -> None:
    spec = RowSpec(phone=0, region="DE", texts=((1, 5), (None, 200)), timezone=2, custom=(("x", 3),))
    codes, fields = clean_rows([["030 123456", " =Annabel ", "UTC", "-1"], None, ["", "B"], ["+4930123456"]], spec)
    assert codes == [4930123456, 0, -1, 4930123456]
    assert fields == [("'=Ann", None, "UTC", '{"x": "\'-1"}'), None, None, (None, None, None, "{}")]


def test_cell_text_writes_numbers_as_typed() -> None:
    assert [cell_text(v) for v in (None, "a", 4930123456, 4930123456.0, 1.5e10, 0.25, True, 1e20)] == [
        "",
        "a",
        "4930123456",
        "4930123456",
        "15000000000",
        "0.25",
        "TRUE",
        "1e+20",
    ]


def test_neutralize_only_formula_starts() -> None:
    assert [neutralize(t) for t in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
        "a=1",
        "",
    ]


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("Name;Phone;Company\r\n") == ";"
    assert sniff_delimiter("Name\tPhone|x\n") in ("\t", "|")
    assert sniff_delimiter('"a,b";c;d\n') == ";"
    assert sniff_delimiter("Phone\n") == ","


def test_a_failing_worker_leaves_the_cleaning_to_this_process(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [(f"n{i}", f"+4930{i:06d}", "", "") for i in range(300)]
    path = write_csv(tmp_path / "l.csv", rows)
    monkeypatch.setattr("sys.executable", "/bin/false")  # the worker exits at once
    summary = import_leads(db, make_campaign(db), path, workers=2, batch_size=32)
    assert summary.rows_kept == 300
    assert "cleaning worker failed" in caplog.text
    assert "4930" not in caplog.text


def test_the_bench_file_is_as_dirty_as_documented(tmp_path: Path) -> None:
    from bench.leads import generate
    from dialer.phones import normalize

    path = tmp_path / "bench.csv"
    listed = generate(path, 4000, seed=3)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Name", "Phone", "Company", "Industry", "Region", "Notes"] and len(rows) == 4001
    results = [normalize(row[1], "US") for row in rows[1:]]
    reasons = Counter(r.reason for r in results if r.reason)
    assert 0.03 < reasons["empty"] / 4000 < 0.07 and 0.02 < reasons["invalid"] / 4000 < 0.06
    kept = [r.e164 for r in results if r.e164]
    assert 0.06 < 1 - len(set(kept)) / len(kept) < 0.16  # repeats of earlier numbers
    assert set(listed["do_not_call"]) <= set(kept) and not set(listed["do_not_call"]) & set(
        listed["existing_customers"]
    )
    assert any(row[0].startswith("=") for row in rows) and any("\n" in row[5] for row in rows)
