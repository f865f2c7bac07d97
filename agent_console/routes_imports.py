"""Lead files and number lists uploaded from the console (docs/console-api.md, "Lead imports").

An upload is the raw request body (the browser sends the File itself: `fetch(url, {method: "POST", body: file})`),
its format named by the `filename` query parameter (`.csv` or `.xlsx`, else 415). The body is streamed to a file
of its own in a fresh temporary folder, at most `_WRITE_BYTES` held in memory, at most
`ConsoleSettings.upload_limit_bytes` in all (413 past that), and the folder is removed when the request ends,
whatever happens. The work itself (`dialer.lead_import`) runs in FastAPI's thread pool; one import (leads or
list) at a time per process, the next one is told 429.

Every route here is for supervisors and admins. Refusals: a file that cannot be read or has no phone column is
`422 invalid_file` with `LeadFileError`'s message (which never repeats the file's data); a malformed `region` or
`mapping` parameter is `400 bad_request`. Preview cells that look like phone numbers are masked.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from agent_console.context import Console, ConsoleDep, StaffDep
from agent_console.errors import ApiError
from agent_console.policy import mask_phone
from dialer import phones
from dialer.lead_files import ColumnMapping, LeadFileError, RawRow, detect_mapping, open_lead_file, resolve_mapping
from dialer.lead_import import ImportSummary, NumberListSummary, import_leads, import_number_list, write_report_csv
from storage.models import Campaign, CampaignStatus, ImportBatch, ImportRowReport
from storage.repos.audit import AuditAction

__all__ = ["IMPORT_LOCK", "MappingBody", "router"]

router = APIRouter(prefix="/api", tags=["imports"])
IMPORT_LOCK = threading.Lock()  # one import per process: each one takes a core and SQLite's write lock for long
_FORMATS = (".csv", ".xlsx")
_WRITE_BYTES = 1 << 20  # received bytes gathered before one write to disk (in a worker thread)
_SPOOL_BYTES = 1 << 20  # a rejected-rows report larger than this goes to a temporary file on disk
_PREVIEW_ROWS = 5
_PREVIEW_CELL_CHARS = 200
_PHONE_CHARS = re.compile(r"[\s\d+()./\-\u2010-\u2015]+")
_ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?:[ T][\d:.]+)?\s*")

FilenameParam = Annotated[str, Query(max_length=255, description="the file's name: .csv or .xlsx, else 415")]
RegionParam = Annotated[str | None, Query(max_length=8, description="ISO 3166 code national numbers are read in")]
MappingParam = Annotated[str | None, Query(max_length=8192, description="JSON of ColumnMapping; default: detected")]


class MappingBody(BaseModel):
    """`dialer.lead_files.ColumnMapping` as JSON: header texts (compared case-insensitively)."""

    model_config = ConfigDict(extra="forbid")

    phone: str
    name: str | None = None
    company: str | None = None
    industry: str | None = None
    region: str | None = None
    timezone: str | None = None
    custom: list[str] | Literal["*"] = []


# -- checks before the upload ------------------------------------------------------------------------------------


def _suffix(filename: str) -> str:
    suffix = Path(filename.replace("\\", "/")).suffix.lower()
    if suffix not in _FORMATS:
        raise ApiError(415, "unsupported_file", "expected a .csv or .xlsx file (say which in `filename`)")
    return suffix


def _region(region: str | None) -> str | None:
    try:
        return phones.check_region(region or None)
    except ValueError as e:
        raise ApiError(400, "bad_request", f"region: {e}") from None


def _mapping(text: str | None) -> ColumnMapping | None:
    if not text:
        return None
    try:
        body = MappingBody.model_validate_json(text)
    except ValidationError as e:
        fields = ", ".join(MappingBody.model_fields)
        raise ApiError(400, "bad_request", f"mapping: expected a JSON object of {fields}: {e}") from None
    return ColumnMapping(**body.model_dump())


@contextmanager
def _one_import() -> Iterator[None]:
    if not IMPORT_LOCK.acquire(blocking=False):
        raise ApiError(
            429, "import_busy", "another import is running: try again when it ends", headers={"Retry-After": "30"}
        )
    try:
        yield
    finally:
        IMPORT_LOCK.release()


@contextmanager
def _file_errors() -> Iterator[None]:
    try:
        yield
    except LeadFileError as e:
        raise ApiError(422, "invalid_file", str(e)) from None


# -- the upload --------------------------------------------------------------------------------------------------


def _safe_name(filename: str, suffix: str) -> str:
    """The upload's own name (the import batch records it), reduced to a harmless file name."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1][: -len(suffix)]
    stem = re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "upload"
    return stem[:120] + suffix


@asynccontextmanager
async def _upload(request: Request, console: Console, filename: str) -> AsyncIterator[Path]:
    """The request body as a file named like the upload, in a temporary folder removed on the way out."""
    suffix = _suffix(filename)
    limit = console.settings.upload_limit_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    upload_dir = console.settings.upload_dir
    folder = await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="cc-upload-", dir=upload_dir))
    try:
        path = Path(folder) / _safe_name(filename, suffix)
        await _receive(request, path, limit)
        yield path
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))


async def _receive(request: Request, path: Path, limit: int) -> None:
    size = 0
    pending = bytearray()
    async with await anyio.open_file(path, "wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            pending += chunk
            if len(pending) >= _WRITE_BYTES:
                await out.write(pending)
                pending.clear()
        await out.write(pending)
    if size == 0:
        raise ApiError(422, "invalid_file", "the upload is empty")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"the file is larger than the limit of {limit} bytes")


# -- preview ---------------------------------------------------------------------------------------------------------


def _masked(text: str, region: str | None) -> str:
    """A number as `+1 *** *** 4567` (country code and last four digits) or `*** 4567` if it does not parse."""
    parsed = phones.normalize(text[:250], region)
    if parsed.e164 is not None:
        return mask_phone(parsed.e164) or "***"
    digits = [ch for ch in text if ch.isdigit()]
    return "*** " + "".join(digits[-4:]) if len(digits) >= 8 else "***"


def _preview_cell(text: str, phone_column: bool, region: str | None) -> str:
    """Numbers masked: every cell of the phone column, and any cell that looks like a number (7+ digits and
    only phone punctuation, dates excepted), e.g. a second mobile column."""
    if not text.strip():
        return ""
    looks_like_number = (
        sum(ch.isdigit() for ch in text) >= 7 and _PHONE_CHARS.fullmatch(text) and not _ISO_DATE.fullmatch(text)
    )
    if phone_column or looks_like_number:
        return _masked(text, region)
    return text[:_PREVIEW_CELL_CHARS]


def _preview_row(row: RawRow, phone: int | None, region: str | None) -> dict[str, Any]:
    if row.error is not None:
        return {"row": row.row_no, "error": row.error, "detail": row.detail, "cells": None}
    cells = [_preview_cell(text, i == phone, region) for i, text in enumerate(row.cells)]
    return {"row": row.row_no, "error": None, "detail": None, "cells": cells}


def _preview(path: Path, region: str | None) -> dict[str, Any]:
    with _file_errors():
        lead_file = open_lead_file(path)
    try:
        headers = lead_file.headers
        mapping: ColumnMapping | None = None
        phone: int | None = None
        problem: str | None = None
        try:
            mapping = detect_mapping(headers)
            phone = resolve_mapping(headers, mapping).phone
        except LeadFileError as e:
            problem = str(e)
        rows = [_preview_row(row, phone, region) for row in islice(lead_file.rows(), _PREVIEW_ROWS)]
        return {
            "file_format": lead_file.file_format,
            "header_row": lead_file.header_row_no,
            "headers": [h[:_PREVIEW_CELL_CHARS] for h in headers],
            "mapping": mapping.as_json() if mapping is not None else None,
            "mapping_problem": problem,
            "rows": rows,
        }
    finally:
        lead_file.close()


@router.post("/lead-files/preview", summary="A lead file's headers, detected mapping and first rows, numbers masked")
async def preview_lead_file(
    request: Request, _: StaffDep, console: ConsoleDep, filename: FilenameParam = "", region: RegionParam = None
) -> dict[str, Any]:
    checked_region = _region(region)
    async with _upload(request, console, filename) as path:
        return await run_in_threadpool(_preview, path, checked_region)


# -- lead imports --------------------------------------------------------------------------------------------------


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def batch_json(b: ImportBatch) -> dict[str, Any]:
    return {
        "id": b.id,
        "campaign_id": b.campaign_id,
        "created_by": b.created_by,
        "filename": b.filename,
        "file_format": b.file_format,
        "default_region": b.default_region,
        "column_mapping": b.column_mapping,
        "rows_total": b.rows_total,
        "rows_kept": b.rows_kept,
        "rows_rejected": b.rows_rejected,
        "started_at": _iso(b.started_at),
        "finished_at": _iso(b.finished_at),
        "report_url": f"/api/imports/{b.id}/report.csv",
    }


def _summary_json(campaign_id: int, summary: ImportSummary) -> dict[str, Any]:
    return {
        "batch_id": summary.batch_id,
        "campaign_id": campaign_id,
        "rows_total": summary.rows_total,
        "rows_kept": summary.rows_kept,
        "rows_rejected": summary.rows_rejected,
        "rejected": dict(sorted(summary.rejected.items())),
        "report_url": f"/api/imports/{summary.batch_id}/report.csv",
    }


def _importable(console: Console, campaign_id: int) -> None:
    with console.db.read() as s:
        status = s.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    if status is None:
        raise ApiError.not_found("campaign")
    if status == CampaignStatus.STOPPED:
        raise ApiError(409, "wrong_status", "expected campaign in draft, running or paused, got stopped")


def _run_import(
    console: Console, campaign_id: int, path: Path, mapping: ColumnMapping | None, region: str | None, user_id: int
) -> dict[str, Any]:
    with _file_errors():
        summary = import_leads(
            console.db, campaign_id, path, mapping=mapping, default_region=region, created_by=user_id
        )
    details = {
        "campaign_id": campaign_id,
        "step": "import_leads",
        "batch_id": summary.batch_id,
        "rows_total": summary.rows_total,
        "rows_kept": summary.rows_kept,
    }
    console.auditor.write(user_id, AuditAction.CAMPAIGN_CHANGED, details=details)
    return _summary_json(campaign_id, summary)


@router.post(
    "/campaigns/{campaign_id}/imports",
    status_code=201,
    summary="Import a lead file into a campaign: cleaned, with a report of every row not kept (supervisors+, CSRF)",
)
async def import_campaign_leads(
    campaign_id: int,
    request: Request,
    viewer: StaffDep,
    console: ConsoleDep,
    filename: FilenameParam = "",
    region: RegionParam = None,
    mapping: MappingParam = None,
) -> dict[str, Any]:
    _suffix(filename)
    checked_region, column_mapping = _region(region), _mapping(mapping)
    await run_in_threadpool(_importable, console, campaign_id)
    with _one_import():
        async with _upload(request, console, filename) as path:
            return await run_in_threadpool(
                _run_import, console, campaign_id, path, column_mapping, checked_region, viewer.user_id
            )


@router.get("/campaigns/{campaign_id}/imports", summary="A campaign's lead imports, newest first (supervisors+)")
def list_imports(campaign_id: int, _: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        if s.get(Campaign, campaign_id) is None:
            raise ApiError.not_found("campaign")
        found = s.scalars(
            select(ImportBatch).where(ImportBatch.campaign_id == campaign_id).order_by(ImportBatch.id.desc())
        )
        return {"imports": [batch_json(b) for b in found]}


@router.get("/imports/{batch_id}", summary="One lead import, with its rejected rows counted by reason (supervisors+)")
def read_import(batch_id: int, _: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        batch = s.get(ImportBatch, batch_id)
        if batch is None:
            raise ApiError.not_found("import")
        rows = s.execute(
            select(ImportRowReport.reason, func.count())
            .where(ImportRowReport.batch_id == batch_id)
            .group_by(ImportRowReport.reason)
            .order_by(ImportRowReport.reason)
        )
        return batch_json(batch) | {"rejected": {reason: count for reason, count in rows}}


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(_SPOOL_BYTES):
            yield chunk
    finally:
        spool.close()


@router.get(
    "/imports/{batch_id}/report.csv",
    summary="Every rejected row of an import: row,reason,detail (supervisors+)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def import_report(batch_id: int, _: StaffDep, console: ConsoleDep) -> StreamingResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    try:
        with console.db.read() as s:
            if s.get(ImportBatch, batch_id) is None:
                raise ApiError.not_found("import")
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            write_report_csv(s, batch_id, text)
            text.flush()
            text.detach()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return StreamingResponse(
        _chunks(spool),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{batch_id}-report.csv"'},
        background=BackgroundTask(spool.close),  # if the client left before the body was read
    )


# -- do-not-call and existing-customer lists ---------------------------------------------------------------------


def _run_list_import(
    console: Console,
    path: Path,
    kind: Literal["do_not_call", "existing_customers"],
    mapping: ColumnMapping | None,
    region: str | None,
    user_id: int,
) -> dict[str, Any]:
    with _file_errors():
        summary: NumberListSummary = import_number_list(
            console.db, path, kind, source=f"list:{path.name}"[:64], default_region=region, mapping=mapping
        )
    details = {"list": kind, "rows_total": summary.rows_total, "added": summary.added}
    console.auditor.write(user_id, AuditAction.LIST_IMPORTED, details=details)
    return {
        "list": kind,
        "rows_total": summary.rows_total,
        "added": summary.added,
        "already_listed": summary.already_listed,
        "rejected": dict(sorted(summary.rejected.items())),
    }


async def _list_upload(
    kind: Literal["do_not_call", "existing_customers"],
    request: Request,
    console: Console,
    user_id: int,
    filename: str,
    region: str | None,
    mapping: str | None,
) -> dict[str, Any]:
    _suffix(filename)
    checked_region, column_mapping = _region(region), _mapping(mapping)
    with _one_import():
        async with _upload(request, console, filename) as path:
            return await run_in_threadpool(
                _run_list_import, console, path, kind, column_mapping, checked_region, user_id
            )


@router.post("/lists/do-not-call", summary="Add a file's numbers to the do-not-call list (supervisors+, CSRF)")
async def upload_do_not_call(
    request: Request,
    viewer: StaffDep,
    console: ConsoleDep,
    filename: FilenameParam = "",
    region: RegionParam = None,
    mapping: MappingParam = None,
) -> dict[str, Any]:
    return await _list_upload("do_not_call", request, console, viewer.user_id, filename, region, mapping)


@router.post("/lists/existing-customers", summary="Add a file's numbers to the existing customers (supervisors+, CSRF)")
async def upload_existing_customers(
    request: Request,
    viewer: StaffDep,
    console: ConsoleDep,
    filename: FilenameParam = "",
    region: RegionParam = None,
    mapping: MappingParam = None,
) -> dict[str, Any]:
    return await _list_upload("existing_customers", request, console, viewer.user_id, filename, region, mapping)
