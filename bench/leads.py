"""`callcenter bench leads --rows N`: import a generated, realistically dirty lead file into a fresh SQLite DB.

The file (CSV, or XLSX with `xlsx=True`) has the columns Name, Phone, Company, Industry, Region, Notes.
Numbers: about half US in national formats (the import's default region is US), the rest GB, DE, CN and IN in
international formats (`+44`, `0044`, `+49 (0)…`, full-width `+86…`), some as spreadsheets mangle them
(`4155552671.0`, `4.155552671E9`); ~5 % empty, ~5 % malformed, ~3 % invalid (US area codes starting with 1),
~10 % repeats of an earlier number written differently. Names include quotes, commas, Chinese names and a few
formula-looking ones; notes have line breaks. 1 % of the distinct numbers are put on the do-not-call list and
1 % on the existing-customer list before the timed run.

The import runs in a fresh child process (so its memory is its own): `seconds` is migrating the empty
database plus the import itself (`migrate_s`, `import_s`), generation (`generate_s`) and list seeding
(`seed_s`) excluded. `peak_rss_mb` is the larger of the child's own peak (getrusage, which also covers its
worker process on its own) and the peak sum over the child and its workers, sampled every 50 ms.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("Name", "Phone", "Company", "Industry", "Region", "Notes")
LISTED_FRACTION = 0.01  # of distinct valid numbers, on each list
_US_AREAS = ("201", "202", "212", "213", "305", "312", "404", "415", "510", "617", "646", "702", "713", "818", "917")
_FIRST = ("John", "Mary", "Ana", "Peter", "Sofia", "Ahmed", "Priya", "Lukas", "Emma", "Noah", "Chloé", "José")
_LAST = ("Smith", "Garcia", "Müller", "O'Brien", "Nguyen", "Patel", "Schmidt", "Rossi", "Kowalski", "Dubois")
_CHINESE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强")
_FORMULAS = ('=HYPERLINK("http://x","click")', "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "=1+1")
_COMPANIES = ("Acme, Inc.", 'The "Best" Co', "Globex", "Initech", "北京科技有限公司", "Umbrella; Ltd", "Stark|Ind")
_INDUSTRIES = ("insurance", "software", "education", "retail", "solar", "教育", "保险")
_REGIONS = ("CA", "NY", "TX", "London", "Bayern", "广东", "Maharashtra", "")
_MALFORMED = ("n/a", "unknown", "call me", "12", "abc-def", "+", "tel: ???", "-", "#REF!", "0", "none", "x" * 30)


def main(rows: int, seed: int, xlsx: bool) -> dict[str, Any]:
    """The CLI's entry point: `callcenter bench leads --rows N [--seed S] [--xlsx]`."""
    return run_leads_bench(rows, seed=seed, xlsx=xlsx)


def run_leads_bench(
    rows: int, *, seed: int = 0, workdir: Path | None = None, xlsx: bool = False, workers: int | None = None
) -> dict[str, Any]:
    """Generate a dirty file of `rows` rows, import it in a child process, return the figures (JSON-ready).

    `workers`: the import's normalising processes (None: its own choice, see dialer.lead_import)."""
    if rows < 1:
        raise ValueError(f"expected at least 1 row, got {rows}")
    with _workdir(workdir) as folder:
        started = time.perf_counter()
        path = folder / ("leads.xlsx" if xlsx else "leads.csv")
        listed = generate(path, rows, seed=seed)
        generate_s = time.perf_counter() - started
        lists_path = folder / "lists.json"
        lists_path.write_text(json.dumps(listed))
        file_mb = path.stat().st_size / 1e6
        child, peak_sum_mb = _run_child(folder / "bench.db", path, lists_path, workers)
    peak_single_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    seconds = child["migrate_s"] + child["import_s"]
    return {
        "rows": rows,
        "format": "xlsx" if xlsx else "csv",
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(max(peak_sum_mb, peak_single_mb), 1),
        "kept": child["kept"],
        "rejected": child["rejected"],
        "rows_total": child["rows_total"],
        "migrate_s": round(child["migrate_s"], 2),
        "import_s": round(child["import_s"], 2),
        "seed_s": round(child["seed_s"], 2),
        "generate_s": round(generate_s, 2),
        "file_mb": round(file_mb, 1),
        "workers": child["workers"],
        "normalize_us": normalize_costs(seed=seed),
        "machine": machine(),
        "date": datetime.now(UTC).date().isoformat(),
    }


@contextlib.contextmanager
def _workdir(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="bench-leads-") as folder:
        yield Path(folder)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "system": platform.system(),
    }


def normalize_costs(samples: int = 20_000, *, seed: int = 0) -> dict[str, float]:
    """µs per phone cell of the bench's mix: `dialer.phones.normalize_code` against plain `phonenumbers`
    (parse, is_possible_number, is_valid_number, format as E.164), on the same cells, in this process."""
    import phonenumbers

    from dialer.phones import normalize_code

    maker = _RowMaker(random.Random(seed))
    cells = [maker.row()[1] for _ in range(samples)]

    def plain(cell: str) -> None:
        try:
            number = phonenumbers.parse(cell, "US")
        except phonenumbers.NumberParseException:
            return
        if phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    normalize_code(cells[0], "US")  # metadata loads lazily: keep it out of the timing
    plain(cells[0])
    started = time.perf_counter()
    for cell in cells:
        normalize_code(cell, "US")
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    for cell in cells:
        plain(cell)
    plain_s = time.perf_counter() - started
    return {"ours": round(ours_s / samples * 1e6, 2), "phonenumbers": round(plain_s / samples * 1e6, 2)}


# --- the timed child ----------------------------------------------------------------------------------------

_CHILD = "import sys; from bench.leads import child_main; child_main(sys.argv[1:])"


def _run_child(db_path: Path, path: Path, lists_path: Path, workers: int | None) -> tuple[dict[str, Any], float]:
    """Run the import in a fresh interpreter; its JSON result and the peak RSS sum of it and its workers (MB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-c", _CHILD, str(db_path), str(path), str(lists_path), str(workers)]
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        peak = _RssSampler(proc.pid)
        peak.start()
        out, _ = proc.communicate()
        peak.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"the import child failed with exit status {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), peak.peak_mb


class _RssSampler(threading.Thread):
    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s, self.peak_mb = pid, interval_s, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.pid)
            while not self._stop_event.is_set():
                total = 0
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += proc.memory_info().rss
                self.peak_mb = max(self.peak_mb, total / 1e6)
                self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def child_main(argv: list[str]) -> None:
    """In the child: migrate a fresh DB, seed the lists (untimed), import (timed); print one JSON line."""
    from dialer.lead_files import ColumnMapping
    from dialer.lead_import import _workers, import_leads
    from storage import Database, migrate
    from storage.models import Campaign
    from storage.repos.lists import add_do_not_call, add_existing_customers

    db_path, path, lists_path = (Path(a) for a in argv[:3])
    workers = None if argv[3] == "None" else int(argv[3])
    url = f"sqlite:///{db_path}"
    started = time.perf_counter()
    migrate.upgrade(url)
    migrate_s = time.perf_counter() - started
    database = Database(url)
    started = time.perf_counter()
    listed = json.loads(lists_path.read_text())
    with database.transaction() as session:
        add_do_not_call(session, listed["do_not_call"], source="bench")
        add_existing_customers(session, listed["existing_customers"], source="bench")
        campaign = Campaign(name="bench", script_id="insurance-en", language="en")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    seed_s = time.perf_counter() - started
    mapping = ColumnMapping(phone="Phone", name="Name", company="Company", industry="Industry", region="Region")
    mapping = ColumnMapping(**{**mapping.__dict__, "custom": ["Notes"]})
    started = time.perf_counter()
    summary = import_leads(database, campaign_id, path, mapping=mapping, default_region="US", workers=workers)
    import_s = time.perf_counter() - started
    database.dispose()
    result = {
        "migrate_s": migrate_s,
        "seed_s": seed_s,
        "import_s": import_s,
        "rows_total": summary.rows_total,
        "kept": summary.rows_kept,
        "rejected": dict(sorted(summary.rejected.items())),
        "workers": _workers(workers, path),
    }
    print(json.dumps(result), flush=True)


# --- the dirty file -----------------------------------------------------------------------------------------


def generate(path: Path, rows: int, *, seed: int = 0) -> dict[str, list[str]]:
    """Write the file; returns the numbers (E.164) to put on the do-not-call and existing-customer lists."""
    rng = random.Random(seed)
    maker = _RowMaker(rng)
    if path.suffix == ".xlsx":
        _write_xlsx(path, (maker.row() for _ in range(rows)))
    else:
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            writer.writerows(maker.row() for _ in range(rows))
    valid = maker.valid_e164
    count = max(1, int(len(valid) * LISTED_FRACTION)) if valid else 0
    picked = rng.sample(valid, min(len(valid), 2 * count))
    return {"do_not_call": picked[:count], "existing_customers": picked[count:]}


def _write_xlsx(path: Path, rows: Iterator[tuple[Any, ...]]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Leads")
    sheet.append(HEADER)
    for row in rows:
        phone = row[1]
        # a spreadsheet stores a bare digit string as a number: write those as numeric cells
        sheet.append((row[0], int(phone) if phone.isdigit() and len(phone) < 16 else phone, *row[2:]))
    book.save(path)


class _RowMaker:
    """Rows of the dirty file; remembers recent numbers (to repeat) and the valid ones (for the lists)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.recent: list[tuple[str, str]] = []  # (country, national digits)
        self.valid_e164: list[str] = []

    def row(self) -> tuple[str, ...]:
        rng = self.rng
        return (self._name(), self._phone(), rng.choice(_COMPANIES), rng.choice(_INDUSTRIES), rng.choice(_REGIONS),
                self._notes())  # fmt: skip

    def _name(self) -> str:
        r = self.rng.random()
        if r < 0.005:
            return self.rng.choice(_FORMULAS)
        if r < 0.03:
            return self.rng.choice(_CHINESE)
        return f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}"

    def _notes(self) -> str:
        r = self.rng.random()
        if r < 0.03:
            return 'called before,\nasked for "email" first'
        return "" if r < 0.7 else "prefers mornings"

    def _phone(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.05:
            return rng.choice(("", " ", "  "))
        if r < 0.10:
            return rng.choice(_MALFORMED)
        if r < 0.13:
            return f"(1{rng.randrange(100):02d}) {rng.randrange(200, 1000)}-{rng.randrange(10000):04d}"
        if r < 0.23 and self.recent:
            country, national = rng.choice(self.recent)
            return _formatted(rng, country, national)
        country, national = _new_number(rng)
        self.valid_e164.append(f"+{_CODES[country]}{national}")
        if len(self.recent) < 10000:
            self.recent.append((country, national))
        else:
            self.recent[rng.randrange(10000)] = (country, national)
        return _formatted(rng, country, national)


_CODES = {"US": "1", "GB": "44", "DE": "49", "CN": "86", "IN": "91"}


def _new_number(rng: random.Random) -> tuple[str, str]:
    r = rng.random()
    if r < 0.5:
        area, exchange = rng.choice(_US_AREAS), rng.randrange(200, 1000)
        return "US", f"{area}{exchange}{rng.randrange(10000):04d}"
    if r < 0.62:
        return "GB", f"7{rng.choice('4579')}{rng.randrange(10**8):08d}"
    if r < 0.74:
        return "DE", f"17{rng.randrange(10):d}{rng.randrange(10**7):07d}"
    if r < 0.88:
        return "CN", f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return "IN", f"{rng.choice('6789')}{rng.randrange(10**9):09d}"


_FULL_WIDTH = {ord(c): 0xFF00 + ord(c) - 0x20 for c in "0123456789+"}


def _formatted(rng: random.Random, country: str, national: str) -> str:
    """The number as people and spreadsheets write it."""
    r = rng.random()
    if country == "US":
        a, b, c = national[:3], national[3:6], national[6:]
        if r < 0.04:
            return f"{national}.0" if r < 0.02 else f"{national[0]}.{national[1:]}E9"
        forms = (f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", national, f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}")
        return rng.choice(forms)
    code = _CODES[country]
    if country == "CN" and r < 0.05:
        return f"+{code} {national}".translate(_FULL_WIDTH)
    spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
    international = [f"+{code} {spaced}", f"+{code}{national}", f"00{code} {spaced}", f"+{code}-{national}"]
    if country in ("DE", "GB"):
        international.append(f"+{code} (0){spaced}")
    return rng.choice(international)


if __name__ == "__main__":  # pragma: no cover - `python -m bench.leads ROWS`
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]  # ROWS [WORKERS] [--xlsx]
    rows, workers = numbers[0] if numbers else 100_000, numbers[1] if len(numbers) > 1 else None
    print(json.dumps(run_leads_bench(rows, xlsx="--xlsx" in sys.argv, workers=workers)))
