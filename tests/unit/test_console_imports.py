"""Lead files and number lists uploaded to the console: the summary, the per-row report, the preview's masking,
the lists' effect on later imports, refusals (role, CSRF, format, size, unreadable files, a busy importer), and
temporary files that never outlive the request."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from agent_console import routes_imports
from dialer.lead_import import import_leads
from storage.models import AuditEntry, Lead
from tests.unit.test_console_support import World, console_world

pytestmark = pytest.mark.unit

HEADER = ("Name", "Phone", "Company", "Mobile 2")
ROWS = [  # data rows start at row 2 of the file
    ("Ann Lee", "(415) 555-2671", "Acme", "415 555 2672"),  # 2 kept
    ("Bo", "", "X", ""),  # 3 empty
    ("Cy", "not a number", "X", ""),  # 4 malformed
    ("Di", "+49 30 1234567", "Y", ""),  # 5 kept
    ("Ed", "415.555.2671", "Z", ""),  # 6 duplicate of row 2
    ("", "", "", ""),  # 7 blank row
    ("Gus", "(123) 456-7890", "Z", ""),  # 8 invalid: area codes never start with 1
    ("Hal", "+1 212 555 0199", "=HYPERLINK()", ""),  # 9 kept; the formula is stored neutralised
    ("Ivy", "+1 234 567 8901", "Q", ""),  # 10 kept
]
EXPECTED_REASONS = {3: "empty", 4: "malformed", 6: "duplicate_in_file", 7: "empty", 8: "invalid"}


def csv_bytes(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: Sequence[Sequence[Any]], header: Sequence[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(world: World, user: str | None, path: str, body: bytes, **params: str) -> Any:
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    return world.as_user(user).post(f"{path}?{query}", content=body)


def import_file(world: World, body: bytes, filename: str = "leads.csv", **params: str) -> Any:
    campaign = world.ids["red-campaign"]
    return upload(world, "sup", f"/api/campaigns/{campaign}/imports", body, filename=filename, **params)


def phones_of(world: World, campaign: str) -> set[str]:
    with world.console.db.read() as s:
        return set(s.scalars(select(Lead.phone_e164).where(Lead.campaign_id == world.ids[campaign])))


def uploads_left(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "uploads").iterdir())


def world_for(tmp_path: Path, **overrides: Any) -> Any:
    (tmp_path / "uploads").mkdir(exist_ok=True)
    return console_world(tmp_path, upload_dir=tmp_path / "uploads", **overrides)


def test_a_dirty_csv_is_imported_and_every_rejected_row_reported(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        response = import_file(world, csv_bytes(ROWS), region="us")
        assert response.status_code == 201, response.text
        summary = response.json()
        batch = summary["batch_id"]
        assert (summary["rows_total"], summary["rows_kept"], summary["rows_rejected"]) == (9, 4, 5)
        assert summary["rejected"] == {"duplicate_in_file": 1, "empty": 2, "invalid": 1, "malformed": 1}
        assert summary["report_url"] == f"/api/imports/{batch}/report.csv"
        assert phones_of(world, "red-campaign") == {"+14155552671", "+49301234567", "+12125550199", "+12345678901"}
        assert uploads_left(tmp_path) == []

        sup = world.as_user("sup")
        report = sup.get(summary["report_url"])
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
        assert "attachment" in report.headers["content-disposition"]
        lines = list(csv.reader(io.StringIO(report.text)))
        assert lines[0] == ["row", "reason", "detail"]
        assert {int(row): reason for row, reason, _ in lines[1:]} == EXPECTED_REASONS
        assert all(detail for _, _, detail in lines[1:])  # every rejected row says why
        digits = [c for c in report.text if c.isdigit()]
        assert "".join(digits) == "".join(str(n) for n in EXPECTED_REASONS)  # row numbers only: no phone digits

        one = sup.get(f"/api/imports/{batch}").json()
        assert one["filename"] == "leads.csv" and one["file_format"] == "csv" and one["default_region"] == "US"
        assert one["rejected"] == summary["rejected"] and one["finished_at"] is not None
        assert one["column_mapping"]["phone"] == "Phone" and one["created_by"] == world.ids["sup"]
        listed = sup.get(f"/api/campaigns/{world.ids['red-campaign']}/imports").json()["imports"]
        assert [b["id"] for b in listed] == [batch] and listed[0]["rows_kept"] == 4
        assert sup.get(f"/api/campaigns/{world.ids['blue-campaign']}/imports").json()["imports"] == []
        assert sup.get("/api/imports/999").status_code == 404
        assert sup.get("/api/imports/999/report.csv").status_code == 404
        assert sup.get("/api/campaigns/999/imports").status_code == 404

        with world.console.db.read() as s:
            entries = [
                e.details
                for e in s.scalars(
                    select(AuditEntry).where(AuditEntry.action == "campaign_changed").order_by(AuditEntry.id)
                )
            ]
        assert {"step": "import_leads", "batch_id": batch, "rows_kept": 4}.items() <= entries[-1].items()
        assert not any("555" in json.dumps(d) for d in entries)


def test_a_second_import_of_the_same_file_keeps_nothing(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        assert import_file(world, csv_bytes(ROWS), region="US").status_code == 201
        again = import_file(world, csv_bytes(ROWS), region="US").json()
        assert again["rows_kept"] == 0 and again["rejected"]["duplicate_existing"] == 4


def test_an_explicit_mapping_reads_other_headers_and_custom_fields(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        body = csv_bytes([("Dana", "+14155550123", "gold")], header=("Wer", "Nummer X", "Tier"))
        mapping = json.dumps({"phone": "Nummer X", "name": "Wer", "custom": ["Tier"]})
        response = import_file(world, body, mapping=mapping)
        assert response.status_code == 201, response.text
        with world.console.db.read() as s:
            lead = s.scalars(select(Lead).where(Lead.phone_e164 == "+14155550123")).one()
            assert (lead.name, lead.custom_fields) == ("Dana", {"Tier": "gold"})
        missing = import_file(world, body, mapping=json.dumps({"phone": "Telefon"}))
        assert missing.status_code == 422 and "not in the header row" in missing.json()["detail"]
        for bad in ("{not json", json.dumps({"phone": "P", "colour": "x"}), json.dumps({"name": "N"})):
            refused = import_file(world, body, mapping=bad)
            assert refused.status_code == 400 and refused.json()["error"] == "bad_request"
        assert import_file(world, body, region="XX").status_code == 400
        assert uploads_left(tmp_path) == []


def test_an_xlsx_upload(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        rows = [("Ann", 4155552671, "Acme", None), ("Bo", "+49 30 1234567", "B", None), ("Cy", "nope", "C", None)]
        response = import_file(world, xlsx_bytes(rows), filename="Leads März.XLSX", region="US")
        assert response.status_code == 201, response.text
        summary = response.json()
        assert (summary["rows_total"], summary["rows_kept"], summary["rejected"]) == (3, 2, {"malformed": 1})
        batch = world.as_user("sup").get(f"/api/imports/{summary['batch_id']}").json()
        assert batch["file_format"] == "xlsx" and batch["filename"] == "Leads März.xlsx"
        assert phones_of(world, "red-campaign") == {"+14155552671", "+49301234567"}


def test_unusable_uploads_are_refused_and_leave_no_file(tmp_path: Path) -> None:
    with world_for(tmp_path, upload_limit_bytes=2000) as world:
        cases = [
            (csv_bytes(ROWS), "leads.txt", 415, "unsupported_file"),
            (csv_bytes(ROWS), "", 415, "unsupported_file"),
            (b"PK\x03\x04 this is no zip", "leads.xlsx", 422, "invalid_file"),
            (csv_bytes([("a", "b")], header=("Name", "Colour")), "leads.csv", 422, "invalid_file"),
            (b"", "leads.csv", 422, "invalid_file"),
            (csv_bytes(ROWS * 20), "leads.csv", 413, "too_large"),
        ]
        for body, filename, status, error in cases:
            response = import_file(world, body, filename=filename)
            assert (response.status_code, response.json()["error"]) == (status, error), filename
            assert uploads_left(tmp_path) == []
        assert phones_of(world, "red-campaign") == set()
        no_phone = import_file(world, csv_bytes([("a", "b")], header=("Name", "Colour")))
        assert "no phone column" in no_phone.json()["detail"]


def test_a_streamed_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    """No Content-Length to judge by: the limit is enforced while the body streams in."""
    with world_for(tmp_path, upload_limit_bytes=2000) as world:

        def chunks() -> Any:
            for _ in range(10):
                yield b"x" * 1000

        url = f"/api/campaigns/{world.ids['red-campaign']}/imports?filename=big.csv"
        response = world.as_user("sup").post(url, content=chunks())
        assert response.status_code == 413
        assert uploads_left(tmp_path) == []


def test_who_may_upload(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        red = world.ids["red-campaign"]
        body = csv_bytes(ROWS)
        for path in (f"/api/campaigns/{red}/imports", "/api/lists/do-not-call", "/api/lead-files/preview"):
            assert upload(world, "ann", path, body, filename="a.csv").status_code == 403
            assert upload(world, None, path, body, filename="a.csv").status_code == 401
            sup = world.as_user("sup")
            del sup.headers["X-CSRF-Token"]
            refused = sup.post(f"{path}?filename=a.csv", content=body)
            assert refused.status_code == 403 and refused.json()["error"] == "csrf_missing"
        assert world.as_user("ann").get(f"/api/campaigns/{red}/imports").status_code == 403
        assert upload(world, "sup", "/api/campaigns/999/imports", body, filename="a.csv").status_code == 404
        assert phones_of(world, "red-campaign") == set()


def test_stopped_campaigns_take_no_leads_and_one_import_runs_at_a_time(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        sup = world.as_user("sup")
        blue = world.ids["blue-campaign"]
        assert sup.post(f"/api/campaigns/{blue}/start").status_code == 200
        assert sup.post(f"/api/campaigns/{blue}/stop").status_code == 200
        stopped = upload(world, "sup", f"/api/campaigns/{blue}/imports", csv_bytes(ROWS), filename="a.csv")
        assert stopped.status_code == 409 and stopped.json()["error"] == "wrong_status"

        with routes_imports.IMPORT_LOCK:  # as if another request were importing
            busy = import_file(world, csv_bytes(ROWS))
            assert busy.status_code == 429 and busy.headers["retry-after"] == "30"
            listed = upload(world, "sup", "/api/lists/do-not-call", csv_bytes(ROWS), filename="dnc.csv")
            assert listed.status_code == 429
        assert import_file(world, csv_bytes(ROWS), region="US").status_code == 201
        assert uploads_left(tmp_path) == []


def test_the_preview_masks_numbers_for_the_mapping_form(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        rows = [*ROWS[:2], ("Dee", "+14155550123", "Acme", "2024-01-15"), *ROWS[2:]]
        response = upload(world, "sup", "/api/lead-files/preview", csv_bytes(rows), filename="leads.csv", region="US")
        assert response.status_code == 200, response.text
        preview = response.json()
        assert preview["headers"] == list(HEADER) and preview["file_format"] == "csv"
        assert preview["mapping"]["phone"] == "Phone" and preview["mapping"]["name"] == "Name"
        assert preview["mapping_problem"] is None and preview["header_row"] == 1
        assert [r["row"] for r in preview["rows"]] == [2, 3, 4, 5, 6]
        first, blank, dee, malformed = preview["rows"][0]["cells"], preview["rows"][1], preview["rows"][2], None
        assert first == ["Ann Lee", "+1 *** *** 2671", "Acme", "+1 *** *** 2672"]  # the second number too
        assert blank["cells"] == ["Bo", "", "X", ""]
        assert dee["cells"] == ["Dee", "+1 *** *** 0123", "Acme", "2024-01-15"]  # a date is not a number
        malformed = preview["rows"][3]["cells"]
        assert malformed[1] == "***"
        text = response.text
        for number in ("555-2671", "555 2672", "4155550123", "5552671"):
            assert number not in text
        assert uploads_left(tmp_path) == []

        no_phone = upload(world, "sup", "/api/lead-files/preview", csv_bytes([("x", "4155550123")], ("A", "B")))
        assert no_phone.status_code == 415  # no filename
        no_phone = upload(
            world, "sup", "/api/lead-files/preview", csv_bytes([("x", "4155550123")], ("A", "B")), filename="x.csv"
        )
        body = no_phone.json()
        assert no_phone.status_code == 200 and body["mapping"] is None and "no phone column" in body["mapping_problem"]
        assert body["rows"][0]["cells"] == ["x", "*** 0123"]  # still masked: it looks like a number


def test_a_do_not_call_list_drops_those_numbers_from_later_imports(tmp_path: Path) -> None:
    with world_for(tmp_path) as world:
        dnc = csv_bytes([("+14155552671",), ("(212) 555-0199",), ("junk",), ("+14155552671",)], header=("Phone",))
        response = upload(world, "sup", "/api/lists/do-not-call", dnc, filename="dnc.csv", region="US")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "list": "do_not_call",
            "rows_total": 4,
            "added": 2,
            "already_listed": 1,
            "rejected": {"malformed": 1},
        }
        customers = csv_bytes([("+49 30 1234567",)], header=("Tel",))
        listed = upload(world, "sup", "/api/lists/existing-customers", customers, filename="customers.xlsx")
        assert listed.status_code == 422  # CSV bytes named .xlsx: not a readable workbook
        listed = upload(world, "sup", "/api/lists/existing-customers", customers, filename="customers.csv")
        assert listed.json()["added"] == 1

        summary = import_file(world, csv_bytes(ROWS), region="US").json()
        assert summary["rows_kept"] == 1
        assert summary["rejected"]["do_not_call"] == 2 and summary["rejected"]["existing_customer"] == 1
        assert phones_of(world, "red-campaign") == {"+12345678901"}
        assert upload(world, "ann", "/api/lists/existing-customers", customers, filename="c.csv").status_code == 403
        assert uploads_left(tmp_path) == []
        with world.console.db.read() as s:
            audited = s.scalars(select(AuditEntry.details).where(AuditEntry.action == "list_imported")).all()
        assert [d["list"] for d in audited] == ["do_not_call", "existing_customers"]


def test_the_upload_waits_in_the_upload_folder_under_its_own_name_until_the_import_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Path, bytes]] = []

    def spying_import(database: Any, campaign_id: int, path: Path, **kwargs: Any) -> Any:
        seen.append((path, path.read_bytes()))
        return import_leads(database, campaign_id, path, **kwargs)

    monkeypatch.setattr(routes_imports, "import_leads", spying_import)
    with world_for(tmp_path) as world:
        body = csv_bytes(ROWS)
        assert import_file(world, body, filename="C:\\Users\\me\\../../etc/passwd?.csv", region="US").status_code == 201
        [(path, received)] = seen
        assert received == body and path.parent.parent == tmp_path / "uploads"
        assert path.name == "passwd_.csv"
        assert not path.exists() and uploads_left(tmp_path) == []
