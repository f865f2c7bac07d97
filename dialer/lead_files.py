"""Lead files (CSV, XLSX) read as a stream of rows of text, and which column holds what.

`open_lead_file(path)` gives a `LeadFile`: its header row, then `rows()`, one `RawRow` per data row with the
row number a person sees in a spreadsheet (the first row of the file is row 1; a CSV row is a record, so a
quoted field with line breaks in it does not shift later numbers). Memory stays constant: rows are read one
at a time and never kept.

CSV: the encoding is decided from the first 64 KiB: a BOM (UTF-8, UTF-16, UTF-32), else UTF-8 if the sample
decodes, else GB18030 if it decodes and reads as Chinese (Excel's exports on Chinese Windows), else cp1252.
Bytes that still fail to decode further on make their row `bad_encoding`; the rest of the file reads on. The
delimiter is the most frequent of `, ; TAB |` in the header line. A row with a field over `FIELD_LIMIT_CHARS`
is `field_too_large`; past `HARD_FIELD_LIMIT_CHARS` the parser is not even given the text (a longer line is cut,
a longer quoted field skipped to its closing quote), so memory stays bounded whatever the file holds.

XLSX: openpyxl in read-only, data-only mode: a formula cell gives its cached value, or nothing when the file
was never recalculated. Numbers come back as the digits a person typed (`4930123456`, not `4930123456.0`).
Shared strings are held in memory by openpyxl, so very large XLSX files take more memory than CSV.

A row whose cells are all blank is the reason `empty`, except blank rows at the end of the file, which are
not rows at all (spreadsheets keep formatted empty rows). The first non-blank row is the header.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import os
import pickle
import re
import sys
import zoneinfo
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, Protocol

from dialer import phones

__all__ = [
    "BAD_ENCODING",
    "EMPTY_ROW",
    "FIELDS",
    "FIELD_LIMIT_CHARS",
    "FIELD_TOO_LARGE",
    "HEADER_SYNONYMS",
    "MALFORMED_ROW",
    "STORED_LENGTHS",
    "CleanChunk",
    "ColumnMapping",
    "LeadFields",
    "LeadFile",
    "LeadFileError",
    "RawRow",
    "ResolvedMapping",
    "RowSpec",
    "clean_file",
    "clean_rows",
    "detect_mapping",
    "neutralize",
    "open_lead_file",
    "resolve_mapping",
]

BAD_ENCODING: Final = "bad_encoding"
FIELD_TOO_LARGE: Final = "field_too_large"
EMPTY_ROW: Final = "empty"
MALFORMED_ROW: Final = "malformed"

FIELD_LIMIT_CHARS: Final = 64 * 1024
HARD_FIELD_LIMIT_CHARS: Final = 1024 * 1024
SAMPLE_BYTES: Final = 64 * 1024
DELIMITERS: Final = ",;\t|"
FIELDS: Final = ("phone", "name", "company", "industry", "region", "timezone")
# stored lengths of the lead's text columns (PostgreSQL enforces them): longer text is cut
STORED_LENGTHS: Final = {"name": 200, "company": 200, "industry": 64, "region": 64}

# Header synonyms, matched after lower-casing and dropping spaces and punctuation; earlier ones win when a
# file has several candidate columns (a "Phone" column beats a "Number" column).
HEADER_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "phone": (
        "phone", "phonenumber", "phoneno", "mobile", "mobilephone", "mobilenumber", "mobileno", "cell",
        "cellphone", "cellnumber", "tel", "telephone", "telephonenumber", "telno", "contactnumber",
        "contactphone", "msisdn", "number", "电话", "电话号码", "手机", "手机号", "手机号码", "联系电话",
        "移动电话", "联系方式", "号码", "座机",
    ),
    "name": (
        "name", "fullname", "contactname", "customername", "contact", "person", "姓名", "名字", "联系人",
        "客户姓名", "客户",
    ),
    "company": (
        "company", "companyname", "organization", "organisation", "org", "business", "businessname", "employer",
        "account", "accountname", "firm", "公司", "公司名称", "企业", "企业名称", "单位", "单位名称", "客户名称",
    ),
    "industry": ("industry", "sector", "vertical", "行业", "所属行业", "行业类别"),
    "region": (
        "region", "state", "province", "county", "area", "city", "location", "地区", "省份", "省", "城市",
        "区域", "所在地区", "所在地", "地域",
    ),
    "timezone": ("timezone", "tz", "时区"),
}  # fmt: skip

_HEADER_PUNCT = re.compile(r"[\s_\-.#/()（）:：*]+")
# Spreadsheet formula injection: a cell starting with one of these may run as a formula when a CSV export is
# opened; we store such text with a leading apostrophe, which spreadsheets read as "this is text".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DECODE_MARK = "\ufdd0"  # a Unicode noncharacter stands in for undecodable bytes
_DECODE_ERRORS = [0]  # undecodable runs seen by this process, so clean files skip the per-row check

csv.field_size_limit(max(csv.field_size_limit(), HARD_FIELD_LIMIT_CHARS))


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover - registered for decoding only
        raise error
    _DECODE_ERRORS[0] += 1
    return _DECODE_MARK, error.end


codecs.register_error("callcenter.leadfile", _mark_undecodable)


class LeadFileError(Exception):
    """The file cannot be imported at all (unreadable, no header, no phone column); nothing was written."""


def neutralize(text: str) -> str:
    """`text`, with a leading apostrophe if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class ColumnMapping:
    """Which header holds which field (header text, compared case-insensitively). `custom`: further columns
    kept as custom fields, or `"*"` for every column not mapped otherwise."""

    phone: str
    name: str | None = None
    company: str | None = None
    industry: str | None = None
    region: str | None = None
    timezone: str | None = None
    custom: Sequence[str] | Literal["*"] = ()

    def as_json(self) -> dict[str, Any]:
        fields = {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}
        return {**fields, "custom": self.custom if self.custom == "*" else list(self.custom)}


@dataclass(frozen=True)
class ResolvedMapping:
    """A mapping resolved against a header row: the column index of each field (None: not in the file)."""

    mapping: ColumnMapping
    phone: int
    name: int | None
    company: int | None
    industry: int | None
    region: int | None
    timezone: int | None
    custom: tuple[tuple[str, int], ...]  # (custom field name, column index)


@dataclass(slots=True)
class RawRow:
    """One data row: its cells as text, or `error` (a reason code) with a `detail` free of the row's data."""

    row_no: int
    cells: list[str]
    error: str | None = None
    detail: str | None = None


class LeadFile(Protocol):
    file_format: str  # "csv" or "xlsx"
    headers: list[str]
    header_row_no: int
    bytes_total: int

    def bytes_done(self) -> int: ...

    def rows(self) -> Iterator[RawRow]: ...

    def close(self) -> None: ...


def header_key(header: str) -> str:
    return _HEADER_PUNCT.sub("", header.strip().lower())


def detect_mapping(headers: Sequence[str], *, custom: Sequence[str] | Literal["*"] = ()) -> ColumnMapping:
    """The mapping the header row suggests (see `HEADER_SYNONYMS`); LeadFileError when no column is a phone."""
    keys = [header_key(h) for h in headers]
    found: dict[str, str] = {}
    for field_name, synonyms in HEADER_SYNONYMS.items():
        ranked = [(synonyms.index(k), i) for i, k in enumerate(keys) if k in synonyms]
        if ranked:
            found[field_name] = headers[min(ranked)[1]].strip()
    if "phone" not in found:
        raise LeadFileError(
            "no phone column: name one in the column mapping, or use a header such as Phone, Mobile, Tel, 电话 or 手机"
        )
    return ColumnMapping(custom=custom, **found)


def resolve_mapping(headers: Sequence[str], mapping: ColumnMapping | None) -> ResolvedMapping:
    """Column indexes for `mapping` (auto-detected when None); LeadFileError when a named column is missing."""
    mapping = mapping if mapping is not None else detect_mapping(headers)
    index = _header_index(headers)
    columns: dict[str, int | None] = {}
    for field_name in FIELDS:
        wanted = getattr(mapping, field_name)
        columns[field_name] = None if wanted is None else _column(index, wanted, field_name)
    used = {i for i in columns.values() if i is not None}
    if mapping.custom == "*":
        custom = [(h.strip(), i) for i, h in enumerate(headers) if i not in used and h.strip()]
    else:
        custom = [(name.strip(), _column(index, name, "custom")) for name in mapping.custom]
    phone = columns.pop("phone")
    assert phone is not None
    return ResolvedMapping(mapping=mapping, phone=phone, custom=_unique(custom), **columns)


def _header_index(headers: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, header in enumerate(headers):
        index.setdefault(header.strip().casefold(), i)
    for i, header in enumerate(headers):
        index.setdefault(header_key(header), i)
    return index


def _column(index: dict[str, int], wanted: str, field_name: str) -> int:
    i = index.get(wanted.strip().casefold(), index.get(header_key(wanted)))
    if i is None:
        raise LeadFileError(f"the {field_name} column {wanted[:80]!r} is not in the header row")
    return i


def _unique(custom: list[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    seen: set[str] = set()
    out = []
    for name, i in custom:
        if name not in seen:
            seen.add(name)
            out.append((name, i))
    return tuple(out)


def open_lead_file(path: str | Path, *, sheet: str | None = None) -> LeadFile:
    """Open a CSV or XLSX lead file (by extension, else by content) and read its header row.

    LeadFileError when the file is not readable as either, or has no non-blank row. `sheet` names an XLSX
    worksheet (default: the first).
    """
    path = Path(path)
    with open(path, "rb") as probe:
        magic = probe.read(4)
    suffix = path.suffix.lower()
    if suffix == ".xls" or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise LeadFileError("old binary .xls files are not supported: save the sheet as .xlsx or .csv")
    if suffix in (".xlsx", ".xlsm") or magic == b"PK\x03\x04":
        return XlsxLeadFile(path, sheet=sheet)
    return CsvLeadFile(path)


def _header(records: Iterator[RawRow]) -> tuple[int, list[str]]:
    """(row number, header texts) of the first non-blank row; LeadFileError when there is none or it is unreadable."""
    for row in records:
        if row.error is not None:
            raise LeadFileError(f"the header row (row {row.row_no}) cannot be read: {row.error}")
        if "".join(row.cells).strip():
            return row.row_no, [c.strip() for c in row.cells]
    raise LeadFileError("the file has no header row (it is empty)")


def _without_trailing_blanks(records: Iterator[RawRow]) -> Iterator[RawRow]:
    """Blank rows as `empty`, except those at the end of the file (spreadsheets keep formatted empty rows)."""
    pending: list[int] = []
    for row in records:
        if row.error is None and not "".join(row.cells).strip():
            pending.append(row.row_no)
            continue
        for row_no in pending:
            yield RawRow(row_no, [], EMPTY_ROW, "the row is blank")
        pending.clear()
        yield row


class CsvLeadFile:
    """A CSV lead file; see the module docstring for encodings, delimiters and limits."""

    file_format = "csv"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.delimiter = ","
        self._binary = open(path, "rb")  # closed by close(): the caller's `with`
        try:
            self.bytes_total = path.stat().st_size
            sample = self._binary.read(SAMPLE_BYTES)
            self._binary.seek(0)
            self.encoding = sniff_encoding(sample, complete=len(sample) < SAMPLE_BYTES)
            self._text = io.TextIOWrapper(self._binary, self.encoding, errors="callcenter.leadfile", newline="")
            self._skip_quoted = False  # see _lines
            self._quote_parity = 0  # quotes seen in the current record, mod 2
            self._records = self._read_records()
            self.header_row_no, self.headers = _header(self._records)
        except BaseException:
            self._binary.close()
            raise

    def bytes_done(self) -> int:
        return self._binary.tell() if not self._binary.closed else self.bytes_total

    def rows(self) -> Iterator[RawRow]:
        """The data rows after the header, in file order."""
        return _without_trailing_blanks(self._records)

    def close(self) -> None:
        self._binary.close()

    def _lines(self) -> Iterator[str]:
        """The file's lines for the csv module, each at most `HARD_FIELD_LIMIT_CHARS` long.

        A longer line is cut there and the rest of it discarded unread by the parser, with a closing quote added
        when the discarded part closed a quoted field, so the parser's idea of "inside quotes" stays right. After
        a parser error (a quoted field over the limit) the lines up to the end of that field are skipped.
        """
        readline = self._text.readline
        while line := readline(HARD_FIELD_LIMIT_CHARS):
            quotes = line.count('"')
            if len(line) == HARD_FIELD_LIMIT_CHARS and not line.endswith(("\n", "\r")):
                rest_quotes = 0
                while rest := readline(HARD_FIELD_LIMIT_CHARS):
                    rest_quotes += rest.count('"')
                    if rest.endswith(("\n", "\r")):
                        break
                line += '"\n' if rest_quotes % 2 else "\n"
                quotes += rest_quotes
            if self._skip_quoted:  # inside the quoted field that overflowed the parser: drop up to its end
                self._quote_parity ^= quotes & 1
                self._skip_quoted = self._quote_parity == 1
                continue
            self._quote_parity ^= quotes & 1
            yield line

    def _read_records(self) -> Iterator[RawRow]:
        """Every record of the file, blank ones included, numbered from 1; the header is sniffed on the way."""
        lines = self._lines()
        first = next(lines, "")
        self.delimiter = sniff_delimiter(first)
        reader = csv.reader(_chain_first(first, lines), delimiter=self.delimiter)
        row_no = 0
        errors_seen = _DECODE_ERRORS[0]
        while True:
            row_no += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._skip_quoted = self._quote_parity == 1
                reason = FIELD_TOO_LARGE if "field larger" in str(exc) else MALFORMED_ROW
                yield RawRow(row_no, [], reason, "a field is over the limit" if reason == FIELD_TOO_LARGE else None)
                continue
            finally:
                if not self._skip_quoted:  # a record (or a line) is over: quotes start afresh
                    self._quote_parity = 0
            if _DECODE_ERRORS[0] != errors_seen and any(_DECODE_MARK in c for c in cells):
                yield RawRow(row_no, [], BAD_ENCODING, f"bytes that are not valid {self.encoding}")
                continue
            yield _checked_size(row_no, cells)


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _checked_size(row_no: int, cells: list[str]) -> RawRow:
    if sum(map(len, cells)) <= FIELD_LIMIT_CHARS:
        return RawRow(row_no, cells)
    for i, cell in enumerate(cells):
        if len(cell) > FIELD_LIMIT_CHARS:
            detail = f"column {i + 1} has {len(cell):,} characters (limit {FIELD_LIMIT_CHARS:,})"
            return RawRow(row_no, [], FIELD_TOO_LARGE, detail)
    return RawRow(row_no, cells)


def sniff_encoding(sample: bytes, *, complete: bool) -> str:
    """The encoding to read a file in, from its first bytes (`complete`: the sample is the whole file)."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if sample.startswith(bom):
            return name
    if _decodes(sample, "utf-8", complete):
        return "utf-8"
    chinese = _decoded(sample, "gb18030", complete)
    if chinese is not None and _reads_as_chinese(chinese):
        return "gb18030"
    if _decodes(sample, "cp1252", complete) or chinese is None:
        return "cp1252"
    return "gb18030"


def _decoded(sample: bytes, encoding: str, complete: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError:
        return None


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    return _decoded(sample, encoding, complete) is not None


def _reads_as_chinese(text: str) -> bool:
    """Most non-ASCII characters are in GB2312 (common hanzi and CJK punctuation): Western text read as
    GB18030 by mistake lands in the rare-character areas instead."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return False
    common = 0
    for c in wide:
        with contextlib.suppress(UnicodeEncodeError):
            c.encode("gb2312")
            common += 1
    return common >= 0.8 * len(wide)


def sniff_delimiter(line: str) -> str:
    """The most frequent of `DELIMITERS` outside quotes in the header line (`,` when none)."""
    outside = re.sub(r'"[^"]*"', "", line)
    counts = [(outside.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


class XlsxLeadFile:
    """An XLSX lead file, one worksheet (the first, or `sheet`)."""

    file_format = "xlsx"

    def __init__(self, path: Path, *, sheet: str | None = None) -> None:
        import zipfile

        from openpyxl import load_workbook

        self.path = path
        self.bytes_total = path.stat().st_size
        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise LeadFileError(f"not a readable .xlsx file ({type(exc).__name__})") from exc
        try:
            self._sheet = self._book[sheet] if sheet is not None else self._book.worksheets[0]
        except (KeyError, IndexError) as exc:
            self._book.close()
            problem = f"no worksheet {sheet!r} in the file" if sheet else "the file has no worksheet"
            raise LeadFileError(problem) from exc
        self._rows_estimate = max(int(self._sheet.max_row or 0), 1)
        self._sheet.reset_dimensions()  # a wrong stored dimension must not cut rows off
        self._row_no = 0
        self._records = self._read_records()
        try:
            self.header_row_no, self.headers = _header(self._records)
        except BaseException:
            self._book.close()
            raise

    def bytes_done(self) -> int:
        return min(self.bytes_total, self.bytes_total * self._row_no // self._rows_estimate)

    def rows(self) -> Iterator[RawRow]:
        """The data rows after the header, in file order."""
        return _without_trailing_blanks(self._records)

    def close(self) -> None:
        self._records.close()  # its open sheet member keeps the archive's file open otherwise
        self._book.close()

    def _read_records(self) -> Generator[RawRow, None, None]:
        for values in self._sheet.iter_rows(values_only=True):
            self._row_no += 1
            yield _checked_size(self._row_no, [cell_text(v) for v in values])


def cell_text(value: object) -> str:
    """A spreadsheet cell's value as the text a person typed: whole floats without `.0` or an exponent."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


# --- cleaning rows (runs in worker processes too: see serve_cleaning) -----------------------------------------

LeadFields = tuple[str | None, ...]  # name, company, industry, region, timezone, custom fields JSON


@dataclass(frozen=True)
class RowSpec:
    """What cleaning needs to know about a file's rows; small and picklable (it travels to worker processes).

    `texts`: (column or None, stored length) for name, company, industry and region; `fields=False` cleans the
    phone number only (number lists).
    """

    phone: int
    region: str | None
    texts: tuple[tuple[int | None, int], ...] = ()
    timezone: int | None = None
    custom: tuple[tuple[str, int], ...] = ()
    fields: bool = True

    @classmethod
    def of(cls, resolved: ResolvedMapping, region: str | None) -> RowSpec:
        texts = tuple((getattr(resolved, name), limit) for name, limit in STORED_LENGTHS.items())
        return cls(resolved.phone, region, texts, resolved.timezone, resolved.custom)


def clean_rows(rows: list[list[str] | None], spec: RowSpec) -> tuple[list[int], list[LeadFields | None]]:
    """Per row: its phone code (see `dialer.phones.normalize_code`; 0 for a row already rejected, given as None)
    and, when the number is usable, the lead's other fields as they will be stored (trimmed, neutralised
    against spreadsheet formulas, cut to the column length; the time zone only when it is an IANA name)."""
    codes: list[int] = []
    fields: list[LeadFields | None] = []
    phone, region = spec.phone, spec.region
    for cells in rows:
        if cells is None:
            codes.append(0)
            fields.append(None)
            continue
        code = phones.normalize_code(cells[phone] if phone < len(cells) else "", region)
        codes.append(code)
        fields.append(_lead_fields(cells, spec) if code > 0 and spec.fields else None)
    return codes, fields


def _lead_fields(cells: list[str], spec: RowSpec) -> LeadFields:
    width = len(cells)
    values: list[str | None] = []
    for index, limit in spec.texts:
        text = cells[index].strip() if index is not None and index < width else ""
        values.append(neutralize(text)[:limit] if text else None)
    index = spec.timezone
    zone = cells[index].strip() if index is not None and index < width else ""
    values.append(zone if zone and zone in _zones() else None)
    custom = {name: neutralize(text) for name, i in spec.custom if i < width and (text := cells[i].strip())}
    values.append(json.dumps(custom, ensure_ascii=False) if custom else "{}")
    return tuple(values)


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass(slots=True)
class CleanChunk:
    """Consecutive data rows of a file, cleaned: per row its number, the reading error (reason, detail) if it
    could not be read, its phone code and lead fields (see `clean_rows`); and how far into the file it ends."""

    row_nos: list[int]
    errors: list[tuple[str, str | None] | None]
    codes: list[int]
    fields: list[LeadFields | None]
    bytes_done: int


def clean_file(
    path: str | Path,
    spec: RowSpec,
    *,
    sheet: str | None = None,
    batch_size: int = 5000,
    after_row: int = 0,
    header_is_data: bool = False,
) -> Iterator[CleanChunk]:
    """The data rows of the file at `path` in cleaned chunks of `batch_size` rows, from the row after
    `after_row` (to resume), the header row included as data when `header_is_data` (a list with no header)."""
    lead_file = open_lead_file(path, sheet=sheet)
    try:
        rows: Iterator[RawRow] = lead_file.rows()
        if header_is_data:
            rows = itertools.chain([RawRow(lead_file.header_row_no, lead_file.headers)], rows)
        chunk: list[RawRow] = []
        for row in rows:
            if row.row_no > after_row:
                chunk.append(row)
            if len(chunk) >= batch_size:
                yield _cleaned(chunk, spec, lead_file.bytes_done())
                chunk = []
        if chunk:
            yield _cleaned(chunk, spec, lead_file.bytes_total)
    finally:
        lead_file.close()


def _cleaned(rows: list[RawRow], spec: RowSpec, bytes_done: int) -> CleanChunk:
    errors = [None if row.error is None else (row.error, row.detail) for row in rows]
    codes, fields = clean_rows([row.cells if row.error is None else None for row in rows], spec)
    return CleanChunk([row.row_no for row in rows], errors, codes, fields, bytes_done)


def serve_clean_file(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """A worker process's work: one pickled `clean_file` request (keyword arguments) in, its chunks out as
    pickles, then None. Pickle is safe here: both ends are this program (dialer.lead_import starts the worker)."""
    request = pickle.load(stdin)
    for chunk in clean_file(**request):
        pickle.dump(chunk, stdout, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.dump(None, stdout)
    stdout.flush()


if __name__ == "__main__" and sys.argv[1:] == ["--clean-file"]:
    # the package's copy of this module, so the classes pickled are importable by name in the importer
    from dialer.lead_files import serve_clean_file as serve

    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:  # the importer is gone (killed, or it stopped early): nothing to report to
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        sys.exit(1)
