"""`python -m bench.plot RUN.json ... [-o docs/img/bench-call.png]`: the live-call benchmark against N.

Each RUN.json is one object printed by `callcenter bench call`. Left axis: voice-to-voice p50 and p95 (ms,
measured at the customer); right axis: late outbound frames (% of the sessions' 20 ms ticks). matplotlib is a
development tool here (pip install matplotlib), imported only by this script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

OUT = Path("docs/img/bench-call.png")


def load_runs(paths: list[Path]) -> list[dict[str, Any]]:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    return sorted(runs, key=lambda r: int(r["calls"]))


def plot(runs: list[dict[str, Any]], out: Path = OUT) -> Path:
    # a development tool, not in pyproject's dependencies: mypy passes with or without it installed
    import matplotlib  # type: ignore[import-not-found, unused-ignore]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]

    n = [r["calls"] for r in runs]
    v2v = [r["voice_to_voice_ms"] or {"p50": None, "p95": None} for r in runs]
    p50 = [float("nan") if v["p50"] is None else float(v["p50"]) for v in v2v]
    p95 = [float("nan") if v["p95"] is None else float(v["p95"]) for v in v2v]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(n, p50, "o-", label="voice-to-voice p50")
    ax.plot(n, p95, "s-", label="voice-to-voice p95")
    ax.axhline(800, color="C0", ls=":", lw=1, label="target p50, 1 call (800 ms)")
    ax.axhline(1500, color="C1", ls=":", lw=1, label="target p95, 8 calls (1500 ms)")
    ax.set_xlabel("concurrent calls (N)")
    ax.set_ylabel("ms, at the customer")
    ax.set_xticks(n)
    ax.set_ylim(bottom=0)
    late = ax.twinx()
    late.bar(n, [r["late_frame_pct"] or 0 for r in runs], width=0.6, alpha=0.25, color="C3", label="late frames %")
    late.set_ylabel("late outbound frames, %")
    late.set_ylim(bottom=0)
    lines, labels = ax.get_legend_handles_labels()
    bars, bar_labels = late.get_legend_handles_labels()
    ax.legend(lines + bars, labels + bar_labels, loc="upper left", fontsize=8)
    ax.set_title("callcenter bench call: live calls over SIP on loopback (2 cores)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="JSON files printed by `callcenter bench call`")
    parser.add_argument("-o", "--out", type=Path, default=OUT)
    args = parser.parse_args()
    print(plot(load_runs(args.runs), args.out))


if __name__ == "__main__":
    main()
