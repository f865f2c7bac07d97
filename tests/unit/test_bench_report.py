"""bench.report: the generated blocks of docs/benchmarks.md, the tables and the machine line (no benchmark runs).

The fixture objects have the shape the CLI prints (`callcenter bench pacing` and `bench leads --rows 20000` were
run for real to get them); the other benchmarks' objects carry the figures of today's hand-written tables, so a
rendered row must equal the row in docs/benchmarks.md.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.report import KNOWN_BLOCKS, Machine, MarkerError, find_blocks, machine_line, probe_machine, replace_blocks

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"

PAGE = """# Title

Prose before, with a table that is not generated:

| a | b |
|---|---|

<!-- bench:pacing:begin -->
old pacing table
<!-- bench:pacing:end -->

Hand-written analysis between.

<!-- bench:leads:begin -->
old leads table
<!-- bench:leads:end -->
Prose after.
"""


def _level(share: float, paced: tuple[float, float, int], naive: tuple[float, float, int]) -> dict[str, Any]:
    def fig(abandon: float, occupancy: float, handoffs: int, p95: float) -> dict[str, Any]:
        return {
            "abandon_pct": abandon, "agent_occupancy_pct": occupancy, "handoff_wait_s": {"p50": 0.0, "p95": p95,
            "max": 19.7}, "calls_dialed": 10000, "handoffs_requested": handoffs, "dials_per_agent_hour": 213.1,
            "campaign_duration_s": 8939.6,
        }  # fmt: skip

    return {**fig(*paced, 0.0), "agents": 20, "handoff_share": share, "baseline": fig(*naive, 7.2)}


PACING = {
    "seed": 0,
    "levels": {
        "light": _level(0.04, (0.0, 24.8, 129), (0.0, 25.1, 153)),
        "nominal": _level(0.12, (0.47, 55.2, 427), (5.17, 73.0, 464)),
        "heavy": _level(0.3, (0.36, 56.2, 1104), (46.45, 95.2, 1085)),
    },
}

LEADS = {
    "rows": 20000, "format": "csv", "seconds": 0.62, "rows_per_s": 32355, "peak_rss_mb": 85.8, "kept": 15065,
    "rejected": {"do_not_call": 153, "duplicate_in_file": 1994, "empty": 941, "existing_customer": 153,
                 "impossible": 106, "invalid": 679, "malformed": 909},
    "rows_total": 20000, "migrate_s": 0.05, "import_s": 0.56, "seed_s": 0.04, "generate_s": 0.1, "file_mb": 1.2,
    "workers": 0, "normalize_us": {"ours": 8.47, "phonenumbers": 24.36},
    "machine": {"cpus": 2, "cpu": "x86_64", "python": "3.11.7", "system": "Linux"}, "date": "2026-11-23",
}  # fmt: skip

MEDIA = {
    "legs": 40, "seconds": 20, "answered": 40, "workers": 10, "frames_received": 39960, "late_frame_pct": 0.0,
    "max_gap_ms": 23.8, "worker_late_frame_pct": 0.0, "worker_max_gap_ms": 22.0, "cpu_pct_per_leg": 1.04,
    "workers_cpu_pct": 41.5, "main_cpu_pct": 9.1, "peer_cpu_pct": 20.0, "rss_mb_per_worker": 47.9,
    "round_trip_ms": {"p50": 19.7, "p95": 28.6, "n": 800}, "added_latency_ms": 9.8, "ended": {"completed": 40},
}  # fmt: skip

ASR_MODE = {"utterances": 60, "final_latency_ms": {"p50": 340.2, "p95": 510.4}, "wer": 0.0592,
            "cpu_s_per_audio_s": 0.1712, "speculative_kept_pct": 70.0, "decodes_per_utterance": 1.3}  # fmt: skip
ASR = {
    "items": 60, "model": "tiny.en", "end_silence_ms": 300, "codec": "pcmu", "speculative": ASR_MODE,
    "no_speculative": {**ASR_MODE, "final_latency_ms": {"p50": 601.0, "p95": 826.0}, "decodes_per_utterance": 1.0,
                       "cpu_s_per_audio_s": 0.12},
    "rtf": 0.17, "decode_ms": {"p50": 300.0, "p95": 504.0},
}  # fmt: skip

DIALOGUE = {
    "dialogues": 80, "languages": {"en": 48, "zh": 32}, "grade_accuracy": 0.875, "intent_accuracy": 0.621,
    "outcome_accuracy": 0.912, "decision_ms": {"p50": 0.2, "p95": 8.36, "max": 10.1},
    "grade_confusion": {"A": {"A": 15, "B": 3, "C": 2, "D": 0}, "B": {"A": 1, "B": 16, "C": 3, "D": 0},
                        "C": {"A": 0, "B": 0, "C": 20, "D": 0}, "D": {"A": 0, "B": 0, "C": 1, "D": 19}},
    "grade_misses": ["en-001: A->B"], "grade_accuracy_en": 0.854, "grade_accuracy_zh": 0.906,
    "recommend_queries": 54, "recommend_top3_hit": 0.926, "recommend_misses": [], "recommend_library_entries": 10185,
    "recommend_build_s": 3.1, "recommend_ms": {"p50": 9.99, "p95": 11.29},
}  # fmt: skip

TTS_ENGINE = {"load_s": 0.1, "first_frame_ms": {"uncached": {"p50": 12.2, "p95": 12.4},
              "cached": {"p50": 0.0, "p95": 0.1}}, "audio_s": 30.2, "cpu_rtf": 0.0071, "wall_rtf": 0.01,
              "playout": {"frames": 849, "late_frames": 0, "late_frame_pct": 0.0, "missed_frames": 0,
                          "max_late_ms": 0.0}}  # fmt: skip
TTS = {"sample_rate_hz": 8000, "lines": 5, "repeats": 2, "espeak-ng": TTS_ENGINE}

CALL = {
    "calls": 4, "seconds": 60.0, "answered": 4, "turns": 20, "errors": [],
    "voice_to_voice_ms": {"p50": 741.0, "p95": 981.0, "max": 981.0}, "voice_to_voice_n": 20,
    "greeting_ms": {"p50": 102.0, "p95": 110.0, "max": 111.0}, "barge_in_stop_ms": {"p50": 293.0, "p95": 318.0,
    "max": 320.0}, "takeover_silence_ms": 2.0, "agent_to_line_ms": 40.0, "late_frame_pct": 0.27,
    "simulator_late_frames": 29, "simulator_late_frame_pct": 0.36,
    "session_voice_to_voice_ms": {"p50": 534.0, "p95": 745.0, "max": 800.0}, "cpu_pct": 49.0, "cores": 2,
    "wall_s": 75.0,
}  # fmt: skip


def _rows(table: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith("|")]


# -- markers -----------------------------------------------------------------------------------------------------


def test_replace_changes_only_the_text_between_markers() -> None:
    out = replace_blocks(PAGE, {"pacing": "NEW PACING"})
    assert out == PAGE.replace("old pacing table", "NEW PACING")


def test_replace_is_idempotent_whatever_blank_lines_the_body_has() -> None:
    bodies = {"pacing": "\n\n| x |\n|---|\n\n", "leads": "leads"}
    once = replace_blocks(PAGE, bodies)
    assert replace_blocks(once, bodies) == once
    assert "<!-- bench:pacing:begin -->\n| x |\n|---|\n<!-- bench:pacing:end -->" in once


def test_replace_keeps_prose_and_hand_written_tables_byte_for_byte() -> None:
    out = replace_blocks(PAGE, {"pacing": "P", "leads": "L"})
    for prose in ("Prose before", "| a | b |\n|---|---|", "Hand-written analysis between.\n\n", "\nProse after.\n"):
        assert prose in out
    assert "old" not in out


def test_a_body_without_markers_is_an_error_that_names_the_markers_to_add() -> None:
    with pytest.raises(MarkerError, match=r"no markers for block 'media': add <!-- bench:media:begin -->"):
        replace_blocks(PAGE, {"media": "table"})


def test_a_body_for_an_unknown_block_is_an_error() -> None:
    with pytest.raises(MarkerError, match="unknown block 'pacnig'"):
        replace_blocks(PAGE, {"pacnig": "table"})


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (
            "<!-- bench:pacnig:begin -->\nx\n<!-- bench:pacnig:end -->",
            r"line 1: unknown block 'pacnig' \(known: machine",
        ),
        ("a\n<!-- bench:leads:begin -->\nx\n", "block 'leads' has a begin marker but no end marker"),
        ("a\nb\n<!-- bench:leads:end -->", "line 3: expected a begin, got the end of 'leads'"),
        (
            "<!-- bench:leads:begin -->\n<!-- bench:pacing:begin -->",
            "line 2: expected the end of 'leads', got the begin of 'pacing'",
        ),
        (
            "<!-- bench:leads:begin -->\n<!-- bench:pacing:end -->",
            "line 2: expected the end of 'leads', got the end of 'pacing'",
        ),
        ("<!-- bench:leads:begin --><!-- bench:leads:end -->\n" * 2, "line 2: block 'leads' appears twice"),
        ("x\n<!--bench:leads:begin-->", "line 2: malformed marker '<!--bench:leads:begin-->'"),
        ("<!-- bench:leads:start -->", "malformed marker"),
    ],
)
def test_broken_markers_are_errors_with_the_line(page: str, message: str) -> None:
    with pytest.raises(MarkerError, match=message):
        find_blocks(page)


def test_the_published_page_has_every_block_once() -> None:
    assert set(find_blocks(DOC.read_text(encoding="utf-8"))) == set(KNOWN_BLOCKS)


# -- tables --------------------------------------------------------------------------------------------------------


def test_pacing_table_has_paced_and_naive_per_load() -> None:
    rows = _rows(report.render_table("pacing", [PACING]))
    assert len(rows) == 2 + 6
    assert rows[4] == "| nominal (0.12) | paced | 0.47 % | 55.2 % | 0.0 / 0.0 s | 427 | 2.5 h |"
    assert rows[5] == "|  | naive | 5.17 % | 73.0 % | 0.0 / 7.2 s | 464 | 2.5 h |"
    assert "img/bench-pacing.png" in report.render_table("pacing", [PACING])


def test_leads_table_sorts_runs_by_size_and_reasons_by_count() -> None:
    big = {**LEADS, "rows": 1_000_000, "rows_per_s": 69359, "seconds": 14.42, "peak_rss_mb": 376.2, "kept": 748489}
    rows = _rows(report.render_table("leads", [big, LEADS]))
    assert rows[2].startswith("| 20,000 (CSV) | 0.6 | 32,355 | 86 MB | 15,065 | duplicate_in_file 1,994 · empty 941")
    assert rows[3].startswith("| 1,000,000 (CSV) | 14.4 | 69,359 | 376 MB | 748,489 |")
    assert rows[2].endswith("existing_customer 153 · impossible 106 |")


def test_media_row_matches_the_hand_written_one() -> None:
    row = "| 40 | 10 | 0.000 % | 23.8 | 0.000 % | 1.04 | 41.5 | 9.1 | 47.9 | 19.7 / 28.6 | 9.8 |"
    assert _rows(report.render_table("media", [MEDIA]))[2] == row
    assert row in DOC.read_text(encoding="utf-8")


def test_asr_gives_one_row_per_mode() -> None:
    rows = _rows(report.render_table("asr", [ASR]))
    assert rows[2] == "| 60 items, tiny.en, speculative decoding | 60 | 340 / 510 | 1.30 | 0.17 | 5.9 % |"
    assert rows[3] == "| 60 items, tiny.en, without speculation | 60 | 601 / 826 | 1.00 | 0.12 | 5.9 % |"


def test_dialogue_figures_and_confusion_matrix() -> None:
    text = report.render_table("dialogue", [DIALOGUE])
    assert "| grade accuracy | 87.5% (English 85.4%, Mandarin 90.6%) | ≥ 85 % |" in text
    assert "| recommendation p50 / p95, 10,185 entries | 9.99 / 11.29 ms | p95 ≤ 50 ms |" in text
    assert "| **A** | 15 | 3 | 2 | 0 | 20 |" in text
    without = report.render_table("dialogue", [{k: v for k, v in DIALOGUE.items() if not k.startswith("recommend")}])
    assert "recommendation" not in without


def test_tts_row_per_engine() -> None:
    row = "| espeak-ng (last resort) | 0.1 | 12 / 12 ms | 0.0 / 0.1 ms | 0.007 | 0 of 849 |"
    assert _rows(report.render_table("tts", [TTS]))[2] == row


def test_call_row_and_missing_figures() -> None:
    row = "| 4 | 4 | 20 | 741 / 981 / 981 | 534 / 745 | 102 | 293 / 318 | 2 | 40 | 0.27 % (29, 0.36 %) | 49 |"
    assert _rows(report.render_table("call", [CALL]))[2] == row
    failed = {**CALL, "calls": 1, "voice_to_voice_ms": None, "greeting_ms": None, "takeover_silence_ms": None,
              "late_frame_pct": None, "simulator_late_frames": 0}  # fmt: skip
    assert _rows(report.render_table("call", [CALL, failed]))[2].startswith("| 1 | 4 | 20 | — | 534 / 745 | — |")


def test_unknown_benchmark_or_no_runs_is_an_error() -> None:
    with pytest.raises(ValueError, match="got 'speed'"):
        report.render_table("speed", [{}])
    with pytest.raises(ValueError, match="no runs of leads"):
        report.render_table("leads", [])


def test_block_names_its_commands_and_flags_quick_runs() -> None:
    saved = {"benchmark": "leads", "date": "2026-11-23", "machine": "M", "quick": True,
             "runs": [{"args": ["--rows", "100000"], "result": LEADS}]}  # fmt: skip
    body = report.render_block(saved)
    assert body.startswith("_Generated 2026-11-23 by `python -m bench.report` on M: `callcenter bench leads --rows")
    assert "Quick sizes" in body
    assert "Quick sizes" not in report.render_block({**saved, "quick": False})


# -- the machine ---------------------------------------------------------------------------------------------------

CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n"
MEMINFO = "MemTotal:       24684092 kB\nMemFree:         1000 kB\n"
OS_RELEASE = 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'


def test_machine_from_proc_and_os_release() -> None:
    m = probe_machine(CPUINFO, MEMINFO, OS_RELEASE)
    assert (m.cpu_model, m.ram_gib, m.os_name) == ("AMD EPYC 7B13", 23.5, "Debian GNU/Linux 12 (bookworm)")
    assert m.cores >= 1
    line = machine_line(Machine("AMD EPYC 7B13", 2, 23.5, "Debian GNU/Linux 12 (bookworm)", "3.11.7"))
    assert line == "AMD EPYC 7B13, 2 cores, 23.5 GiB RAM, Debian GNU/Linux 12 (bookworm), Python 3.11.7"


def test_machine_falls_back_when_files_say_nothing() -> None:
    m = probe_machine("", "", "")
    assert m.cpu_model and m.os_name and m.ram_gib == 0.0
    assert "RAM unknown" in machine_line(m)


# -- regenerating a page -----------------------------------------------------------------------------------------


def test_regenerate_renders_every_saved_json_and_draws_its_plots(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "benchmarks.md").write_text(DOC.read_text(encoding="utf-8"), encoding="utf-8")
    for name, result in (("pacing", PACING), ("leads", LEADS)):
        saved = {"benchmark": name, "date": "2026-11-23", "machine": "M", "quick": False,
                 "runs": [{"args": [], "load_1m_before": 0.1, "result": result}]}  # fmt: skip
        (tmp_path / "bench" / f"{name}.json").write_text(json.dumps(saved), encoding="utf-8")
    page = report.regenerate(tmp_path, "THE MACHINE", date(2026, 11, 24))
    text = page.read_text(encoding="utf-8")
    assert "on THE MACHINE. Each section's date: pacing 2026-11-23, leads 2026-11-23" in text
    assert "| 20,000 (CSV) | 0.6 | 32,355 |" in text
    assert "| 40 | 10 | 0.000 % |" in text  # media: no JSON saved, today's table stays
    assert (tmp_path / "img" / "bench-pacing.png").stat().st_size > 1000
    assert (tmp_path / "img" / "bench-leads.png").stat().st_size > 1000
    assert report.regenerate(tmp_path, "THE MACHINE", date(2026, 11, 24)).read_text(encoding="utf-8") == text
