"""Lead import: a CSV or XLSX file into a campaign, cleaned, with a report row for every row not kept.

`import_leads` runs a pipeline in constant memory:

    read and clean rows in chunks (dialer.lead_files: parse, normalise the phone with dialer.phones, trim and
    neutralise the other fields; in a worker process for big files) -> drop duplicates within the file ->
    drop do-not-call and existing-customer numbers -> insert the leads `ON CONFLICT DO NOTHING RETURNING`:
    a number not returned is already a lead of the campaign -> insert one report row per rejected row

Every data row ends up either as a lead or as exactly one `ImportRowReport` (row number, reason code, a detail
that never repeats the row's data). Reason codes are stable strings, see `REASONS` and docs/leads.md.

Memory: a few chunks (`batch_size` rows each) are in flight at a time; the file-wide duplicate check keeps one
int per distinct number (its E.164 digits, ~75 bytes with the set's slot), ~56 MB for 750,000 numbers.
Writes: SQL with multi-row VALUES built here (the ORM's per-row parameter processing cost more than the
database itself), one transaction per `commit_rows` rows so other writers (the dialer) get the SQLite write
lock between them, and the batch's counters saved at each commit. An import that dies leaves the rows
committed so far and a batch with no `finished_at`.

The worker: reading and cleaning a row costs ~12 µs, writing it ~14 µs (SQLite, two random-order phone
indexes), so on 2 cores one worker process reads and cleans while this one writes; more workers would only
wait for the writer. Small files are done in-process: the worker's start-up (~0.3 s) would cost more than it
saves. The worker is `python -m dialer.lead_files --clean-file`; if it fails, the import reads on in this
process from the row after the last one it received.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from sqlalchemy import ColumnElement, Connection, select, update
from sqlalchemy.orm import Session

from dialer import phones
from dialer.lead_files import (
    BAD_ENCODING,
    FIELD_TOO_LARGE,
    CleanChunk,
    ColumnMapping,
    LeadFields,
    LeadFile,
    LeadFileError,
    ResolvedMapping,
    RowSpec,
    clean_file,
    neutralize,
    open_lead_file,
    resolve_mapping,
)
from storage import Database
from storage.models import Campaign, ImportBatch, ImportRowReport, Lead, LeadStatus
from storage.models.base import utcnow
from storage.repos.lists import add_do_not_call, add_existing_customers

__all__ = [
    "DO_NOT_CALL",
    "DUPLICATE_EXISTING",
    "DUPLICATE_IN_FILE",
    "EXISTING_CUSTOMER",
    "REASONS",
    "ImportSummary",
    "LeadFileError",
    "NumberListSummary",
    "Progress",
    "import_leads",
    "import_number_list",
    "write_report_csv",
]

DUPLICATE_IN_FILE: Final = "duplicate_in_file"
DUPLICATE_EXISTING: Final = "duplicate_existing"
EXISTING_CUSTOMER: Final = "existing_customer"
DO_NOT_CALL: Final = "do_not_call"
REASONS: Final = (
    *phones.REASONS,
    DUPLICATE_IN_FILE,
    DUPLICATE_EXISTING,
    EXISTING_CUSTOMER,
    DO_NOT_CALL,
    BAD_ENCODING,
    FIELD_TOO_LARGE,
)
DETAILS: Final = {
    phones.EMPTY: "no phone number",
    phones.MALFORMED: "not readable as a phone number",
    phones.IMPOSSIBLE: "a length its country never uses",
    phones.INVALID: "not in a number range its country assigns",
    DUPLICATE_IN_FILE: "the same number is on an earlier row",
    DUPLICATE_EXISTING: "already a lead of this campaign",
    EXISTING_CUSTOMER: "the number of an existing customer",
    DO_NOT_CALL: "on the do-not-call list",
}
_NO_FIELDS: tuple[str | None, ...] = (None,) * 5 + ("{}",)
# below these file sizes a worker's start-up costs more than it saves (XLSX is compressed, ~35 bytes a row)
_WORKER_MIN_BYTES = {".csv": 4 * 1024 * 1024, ".xlsx": 512 * 1024, ".xlsm": 512 * 1024}
_AHEAD_CHUNKS = 4  # cleaned chunks a worker may have ready before the writer takes them
_LOOKUP_CHUNK = 2000  # numbers per IN (...) list
_LIST_IN_MEMORY = 200_000  # numbers: ~15 MB as a set of ints
_ROWS_PER_INSERT = 1000  # rows per multi-row INSERT (x 14 parameters: under SQLite's 32,766)
_SQLITE_CACHE_KIB = 65536  # page cache for the import's connection: the leads indexes take random inserts
_SQLITE_DEFAULT_CACHE_KIB = 2000

_log = logging.getLogger(__name__)

Progress = Callable[[int, int, int], None]  # (rows done, bytes done, bytes total)


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: `rows_total` data rows, `rows_kept` leads written, `rejected` counts by reason."""

    batch_id: int
    rows_total: int
    rows_kept: int
    rejected: dict[str, int]

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class NumberListSummary:
    """A do-not-call or existing-customer list import: `added` new numbers, `already_listed` ones that were on
    the list before (or earlier in the file), `rejected` counts by reason for rows with no usable number."""

    rows_total: int
    added: int
    already_listed: int
    rejected: dict[str, int]


def import_leads(
    database: Database,
    campaign_id: int,
    path: str | Path,
    *,
    mapping: ColumnMapping | None = None,
    default_region: str | None = None,
    created_by: int | None = None,
    progress: Progress | None = None,
    batch_size: int = 5000,
    commit_rows: int = 50_000,
    sheet: str | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Import the lead file at `path` into campaign `campaign_id` (see the module docstring).

    `mapping`: which column holds what (auto-detected from the header row when None). `default_region`: ISO
    3166 code that national numbers are read in (ValueError if unknown). `workers`: 0 reads and cleans in this
    process, 1 or more in one worker process (None: a worker for CSV files from 4 MiB, XLSX from 512 KiB, on
    2 cores or more). `progress(rows_done, bytes_done, bytes_total)` is called after each chunk. LeadFileError,
    with nothing written, when the file cannot be read or has no phone column; LookupError when there is no
    such campaign.
    """
    region = phones.check_region(default_region)
    path = Path(path)
    lead_file = open_lead_file(path, sheet=sheet)  # the header only: refuse a bad file before writing
    try:
        resolved = resolve_mapping(lead_file.headers, mapping)
    finally:
        lead_file.close()
    batch_id = _create_batch(database, campaign_id, path, lead_file, resolved, region, created_by)
    request = {"path": path, "spec": RowSpec.of(resolved, region), "sheet": sheet, "batch_size": max(1, batch_size)}
    chunks = _cleaned_chunks(request, _workers(workers, path))
    writer = _LeadWriter(campaign_id, batch_id)
    total_bytes = lead_file.bytes_total

    def on_chunk(chunk: CleanChunk) -> None:
        if progress is not None:
            progress(writer.rows_total, chunk.bytes_done, total_bytes)

    _run(database, writer, chunks, commit_rows, on_chunk)
    return ImportSummary(batch_id, writer.rows_total, writer.rows_kept, dict(writer.rejected))


def _workers(workers: int | None, path: Path) -> int:
    if workers is not None:
        return max(0, workers)
    threshold = _WORKER_MIN_BYTES.get(path.suffix.lower(), _WORKER_MIN_BYTES[".csv"])
    return 1 if (os.cpu_count() or 1) >= 2 and path.stat().st_size >= threshold else 0


def _create_batch(
    database: Database,
    campaign_id: int,
    path: Path,
    lead_file: LeadFile,
    resolved: ResolvedMapping,
    region: str | None,
    created_by: int | None,
) -> int:
    with database.transaction() as session:
        if session.get(Campaign, campaign_id) is None:
            raise LookupError(f"no campaign {campaign_id}")
        batch = ImportBatch(
            campaign_id=campaign_id,
            created_by=created_by,
            filename=path.name[-255:],
            file_format=lead_file.file_format,
            default_region=region,
            column_mapping=_mapping_json(resolved, lead_file.headers),
        )
        session.add(batch)
        session.flush()
        return batch.id


def _mapping_json(resolved: ResolvedMapping, headers: list[str]) -> dict[str, Any]:
    """The mapping as resolved: field -> the header it was read from."""
    fields = {
        name: headers[index]
        for name in ("phone", "name", "company", "industry", "region", "timezone")
        if (index := getattr(resolved, name)) is not None
    }
    return {**fields, "custom": [name for name, _ in resolved.custom]}


def _run(
    database: Database,
    writer: _LeadWriter,
    chunks: Iterator[CleanChunk],
    commit_rows: int,
    on_chunk: Callable[[CleanChunk], None],
) -> None:
    """Write the chunks, one transaction per `commit_rows` rows; the batch's counters are saved at each commit."""
    done = False
    try:
        while not done:
            with database.transaction() as session:
                writer.begin(session)
                rows_in_transaction = 0
                for chunk in chunks:
                    writer.write(session, chunk)
                    rows_in_transaction += len(chunk.row_nos)
                    on_chunk(chunk)
                    if rows_in_transaction >= commit_rows:
                        break
                else:
                    done = True
                writer.save_counts(session, finished=done)
    finally:
        if database.is_sqlite:
            _reset_sqlite_cache(database)


def _reset_sqlite_cache(database: Database) -> None:
    with database.engine.connect() as conn:  # the pool hands the import's connection back first
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_DEFAULT_CACHE_KIB}")


# --- reading and cleaning, in this process or in a worker ------------------------------------------------------


def _cleaned_chunks(request: dict[str, Any], workers: int) -> Iterator[CleanChunk]:
    """`clean_file(**request)`, in a worker process when `workers` > 0; if the worker fails, the rest of the
    file is read here, from the row after the last one received."""
    if workers == 0:
        yield from clean_file(**request)
        return
    worker = _FileWorker(request)
    last_row = 0
    try:
        for chunk in worker.chunks():
            yield chunk
            last_row = chunk.row_nos[-1]
    finally:
        worker.close()
    if worker.failure is not None:
        _log.warning("lead import: the cleaning worker failed (%s); reading on in this process", worker.failure)
        yield from clean_file(**request, after_row=last_row)


class _FileWorker:
    """`python -m dialer.lead_files --clean-file` (`serve_clean_file`): reads and cleans the file, streaming
    pickled chunks back over a pipe.

    A plain subprocess rather than `multiprocessing`: its spawn start re-runs the caller's main script (harmful
    in a script without a `__main__` guard) and fork is unsafe beside threads. A reader thread moves chunks from
    the pipe into a queue of `_AHEAD_CHUNKS`; when it is full the pipe fills and the worker waits, so memory
    stays bounded when the database is the slower side.
    """

    def __init__(self, request: dict[str, Any]) -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        command = [sys.executable, "-m", "dialer.lead_files", "--clean-file"]
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_AHEAD_CHUNKS)
        self._stop = threading.Event()
        self.failure: str | None = None
        try:
            assert self._proc.stdin is not None
            pickle.dump(request, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.close()
        except OSError:
            pass  # the worker is gone already: its stdout ends at once and `chunks` reports it
        self._thread = threading.Thread(target=self._drain, daemon=True, name="lead-import-reader")
        self._thread.start()

    def chunks(self) -> Iterator[CleanChunk]:
        """The chunks in file order, until the end of the file or a failure (then `failure` says why)."""
        while True:
            item = self._queue.get()
            if item is None:
                return
            if not isinstance(item, CleanChunk):
                self.failure = str(item)
                return
            yield item

    def _drain(self) -> None:
        assert self._proc.stdout is not None
        try:
            while not self._stop.is_set():
                item = pickle.load(self._proc.stdout)
                self._put(item)
                if item is None:
                    return
        except EOFError:
            self._put("the worker exited early")
        except Exception as exc:
            self._put(f"unreadable result ({type(exc).__name__})")

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.1)
                return

    def close(self) -> None:
        self._stop.set()
        if self._proc.poll() is None:
            self._proc.kill()  # finished workers have exited; one still running is not needed any more
        self._proc.wait()
        self._thread.join()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


# --- writing ------------------------------------------------------------------------------------------------

Report = tuple[int, str, str | None]  # row number, reason, detail


@dataclass
class _LeadWriter:
    """Sorts each chunk's rows into leads and reports and writes them; keeps the file-wide counts."""

    campaign_id: int
    batch_id: int
    rows_total: int = 0
    rows_kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seen: set[int] = field(default_factory=set)  # E.164 digits of every usable number so far
    _sql: _Sql | None = None
    _lists: tuple[_ListCheck, ...] = ()

    def begin(self, session: Session) -> None:
        """Called at the start of each transaction: list checks are refreshed, they may have changed."""
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
        if self._sql is None:
            self._sql = _Sql(conn, self.campaign_id, self.batch_id)
            self._lists = (_ListCheck("do_not_call", DO_NOT_CALL), _ListCheck("existing_customers", EXISTING_CUSTOMER))
        for check in self._lists:
            check.refresh(conn)

    def write(self, session: Session, chunk: CleanChunk) -> None:
        assert self._sql is not None
        conn = session.connection()
        reports: list[Report] = []
        candidates: dict[int, int] = {}  # phone code -> index in the chunk
        for i, (row_no, error, code) in enumerate(zip(chunk.row_nos, chunk.errors, chunk.codes, strict=True)):
            if error is not None:
                reports.append((row_no, *error))
            elif code < 0:
                reason = phones.reason_of_code(code)
                reports.append((row_no, reason, DETAILS[reason]))
            elif code in self.seen:
                reports.append((row_no, DUPLICATE_IN_FILE, DETAILS[DUPLICATE_IN_FILE]))
            else:
                self.seen.add(code)
                candidates[code] = i
        for check in self._lists:
            for code in check.among(conn, self._sql.mark, list(candidates)):
                reports.append((chunk.row_nos[candidates.pop(code)], check.reason, DETAILS[check.reason]))
        inserted = self._sql.insert_leads(conn, [(code, chunk.fields[i]) for code, i in candidates.items()])
        for code, i in candidates.items():
            if code not in inserted:
                reports.append((chunk.row_nos[i], DUPLICATE_EXISTING, DETAILS[DUPLICATE_EXISTING]))
        self._sql.insert_reports(conn, reports)
        self.rows_total += len(chunk.row_nos)
        self.rows_kept += len(inserted)
        self.rejected.update(reason for _, reason, _ in reports)

    def save_counts(self, session: Session, *, finished: bool) -> None:
        values: dict[str, Any] = {
            "rows_total": self.rows_total,
            "rows_kept": self.rows_kept,
            "rows_rejected": sum(self.rejected.values()),
        }
        if finished:
            values["finished_at"] = utcnow()
        session.execute(update(ImportBatch).where(ImportBatch.id == self.batch_id).values(**values))


class _ListCheck:
    """Membership in the do-not-call or existing-customer list. A list of up to `_LIST_IN_MEMORY` numbers is
    loaded as ints at each transaction's start (on SQLite nobody else writes until we commit); a longer one
    is queried chunk by chunk."""

    def __init__(self, table: str, reason: str) -> None:
        self.table, self.reason = table, reason
        self.numbers: set[int] | None = set()  # None: too many to hold, query instead

    def refresh(self, conn: Connection) -> None:
        limited = f"SELECT phone_e164 FROM {self.table} LIMIT {_LIST_IN_MEMORY + 1}"
        found = {int(phone[1:]) for (phone,) in conn.exec_driver_sql(limited)}
        self.numbers = found if len(found) <= _LIST_IN_MEMORY else None

    def among(self, conn: Connection, mark: str, codes: list[int]) -> list[int]:
        """The phone codes of `codes` on the list."""
        if self.numbers is not None:
            return [code for code in codes if code in self.numbers] if self.numbers else []
        found: list[int] = []
        for start in range(0, len(codes), _LOOKUP_CHUNK):
            part = [phones.e164_of_code(code) for code in codes[start : start + _LOOKUP_CHUNK]]
            sql = f"SELECT phone_e164 FROM {self.table} WHERE phone_e164 IN ({', '.join([mark] * len(part))})"
            found.extend(int(phone[1:]) for (phone,) in conn.exec_driver_sql(sql, tuple(part)))
        return found


class _Sql:
    """The two bulk statements, rendered for the connection's dialect with plain DB-API parameters.

    Constant columns (campaign, batch, status, times) are bound once through SQLAlchemy's own type processing,
    so values are stored exactly as the ORM stores them (SQLite's UTC text, PostgreSQL's timestamptz).
    """

    LEAD_COLUMNS = ("phone_e164", "name", "company", "industry", "region", "timezone", "custom_fields")
    CONSTANT_COLUMNS: tuple[str, ...] = ("campaign_id", "import_batch_id", "status", "attempts")
    CONSTANT_COLUMNS += ("next_attempt_at", "created_at", "updated_at")

    def __init__(self, conn: Connection, campaign_id: int, batch_id: int) -> None:
        dialect = conn.dialect
        self.mark = mark = "?" if dialect.paramstyle == "qmark" else "%s"
        json_mark = f"CAST({mark} AS JSONB)" if dialect.name == "postgresql" else mark
        now = utcnow()
        raw: dict[str, Any] = {"campaign_id": campaign_id, "import_batch_id": batch_id, "status": LeadStatus.QUEUED}
        raw |= {"attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}
        self.constants = tuple(_bound(Lead.__table__.c[name], raw[name], conn) for name in self.CONSTANT_COLUMNS)
        marks = [mark] * (len(self.LEAD_COLUMNS) - 1) + [json_mark] + [mark] * len(self.CONSTANT_COLUMNS)
        self.lead_row = "(" + ", ".join(marks) + ")"
        columns = ", ".join(self.LEAD_COLUMNS + self.CONSTANT_COLUMNS)
        self.lead_head = f"INSERT INTO leads ({columns}) VALUES "
        self.lead_tail = " ON CONFLICT (campaign_id, phone_e164) DO NOTHING RETURNING phone_e164"
        self.report_sql = f"INSERT INTO import_rows (batch_id, row_no, reason, detail) VALUES ({', '.join([mark] * 4)})"
        self.batch_id = batch_id

    def insert_leads(self, conn: Connection, leads: list[tuple[int, LeadFields | None]]) -> set[int]:
        """Insert (phone code, fields) leads; the codes actually inserted (the others are leads already)."""
        # in number order: neighbouring keys land in the same pages of the two phone number indexes
        leads = sorted(leads, key=lambda lead: lead[0])
        inserted: set[int] = set()
        for start in range(0, len(leads), _ROWS_PER_INSERT):
            part = leads[start : start + _ROWS_PER_INSERT]
            sql = self.lead_head + ", ".join([self.lead_row] * len(part)) + self.lead_tail
            params = [
                value
                for code, fields in part
                for value in (phones.e164_of_code(code), *(fields or _NO_FIELDS), *self.constants)
            ]
            inserted.update(int(phone[1:]) for (phone,) in conn.exec_driver_sql(sql, tuple(params)))
        return inserted

    def insert_reports(self, conn: Connection, reports: list[tuple[int, str, str | None]]) -> None:
        if reports:
            conn.exec_driver_sql(self.report_sql, [(self.batch_id, n, r, d and d[:255]) for n, r, d in reports])


def _bound(column: ColumnElement[Any], value: Any, conn: Connection) -> Any:
    processor = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(value) if processor is not None else value


# --- the per-row report ---------------------------------------------------------------------------------------


def write_report_csv(session: Session, batch_id: int, out: TextIO) -> int:
    """Stream the rejected rows of import `batch_id` to `out` as CSV (`row,reason,detail`, by row); returns how
    many rows were written. Text is neutralised against spreadsheet formulas."""
    writer = csv.writer(out)
    writer.writerow(("row", "reason", "detail"))
    stmt = (
        select(ImportRowReport.row_no, ImportRowReport.reason, ImportRowReport.detail)
        .where(ImportRowReport.batch_id == batch_id)
        .order_by(ImportRowReport.row_no)
        .execution_options(yield_per=5000)
    )
    count = 0
    for row_no, reason, detail in session.execute(stmt):
        writer.writerow((row_no, neutralize(reason), neutralize(detail or "")))
        count += 1
    return count


# --- do-not-call and existing-customer lists --------------------------------------------------------------------


def import_number_list(
    database: Database,
    path: str | Path,
    kind: Literal["do_not_call", "existing_customers"],
    *,
    source: str,
    default_region: str | None = None,
    mapping: ColumnMapping | None = None,
    sheet: str | None = None,
    batch_size: int = 5000,
) -> NumberListSummary:
    """Add the numbers of a file to the do-not-call or existing-customer list (lists are kept across imports).

    The phone column is found as for leads; a file whose first row is already a number is read as having no
    header (its first column holds the numbers). Adding to the do-not-call list also stops queued leads with
    those numbers (`storage.repos.lists.add_do_not_call`).
    """
    if kind not in ("do_not_call", "existing_customers"):
        raise ValueError(f"expected do_not_call or existing_customers, got {kind!r}")
    region = phones.check_region(default_region)
    lead_file = open_lead_file(Path(path), sheet=sheet)
    lead_file.close()
    try:
        column, headless = resolve_mapping(lead_file.headers, mapping).phone, False
    except LeadFileError:
        first = lead_file.headers[0] if lead_file.headers else ""
        if mapping is not None or phones.normalize_code(first, region) <= 0:
            raise
        column, headless = 0, True
    spec = RowSpec(column, region, fields=False)
    chunks = clean_file(path, spec, sheet=sheet, batch_size=batch_size, header_is_data=headless)
    return _add_numbers(database, chunks, kind, source)


def _add_numbers(database: Database, chunks: Iterator[CleanChunk], kind: str, source: str) -> NumberListSummary:
    seen: set[int] = set()
    rejected: Counter[str] = Counter()
    total = added = already = 0
    for chunk in chunks:
        numbers: list[str] = []
        for error, code in zip(chunk.errors, chunk.codes, strict=True):
            if error is not None or code < 0:
                rejected[error[0] if error is not None else phones.reason_of_code(code)] += 1
            elif code in seen:
                already += 1
            else:
                seen.add(code)
                numbers.append(phones.e164_of_code(code))
        with database.transaction() as session:
            if kind == "do_not_call":
                new = add_do_not_call(session, numbers, source=source)
            else:
                new = add_existing_customers(session, numbers, source=source)
        total += len(chunk.row_nos)
        added += new
        already += len(numbers) - new
    return NumberListSummary(total, added, already, dict(rejected))
