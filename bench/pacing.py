"""`callcenter bench pacing`: the pacing simulation at three handoff loads, paced and with the naive baseline.

One team of 20 agents (breaks included) and one campaign of 10,000 leads; the load is the share of answered calls
that ask for a person. At the naive dialer's steady rate (100 lines always busy) the handoff demand is about a
quarter of what the agents can serve (light), about three quarters (nominal), and nearly twice (heavy).
Per level: `abandon_pct`, `agent_occupancy_pct`, `handoff_wait_s` (`p50`, `p95`, `max`) of the paced dialer,
its volume and duration, and the naive baseline's figures for contrast. Virtual time: runs in seconds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from dialer.simulation import SimConfig, SimReport, simulate

__all__ = ["LEVELS", "main", "run_level"]

TEAM = SimConfig(agents=20, leads=10_000, max_concurrent_calls=100, calls_per_second=5.0)
LEVELS: dict[str, SimConfig] = {
    "light": replace(TEAM, handoff_share=0.04),
    "nominal": replace(TEAM, handoff_share=0.12),
    "heavy": replace(TEAM, handoff_share=0.30),
}


def run_level(config: SimConfig) -> dict[str, Any]:
    paced = simulate(replace(config, paced=True))
    naive = simulate(replace(config, paced=False))
    return {
        **_figures(paced),
        "agents": config.agents,
        "handoff_share": config.handoff_share,
        "baseline": _figures(naive),
    }


def _figures(report: SimReport) -> dict[str, Any]:
    keys = (
        "abandon_pct",
        "agent_occupancy_pct",
        "handoff_wait_s",
        "calls_dialed",
        "handoffs_requested",
        "dials_per_agent_hour",
        "campaign_duration_s",
    )
    figures = asdict(report)
    return {key: figures[key] for key in keys}


def main(seed: int = 0) -> dict[str, Any]:
    """The three levels with the simulation seeded by `seed`; one JSON-ready dict, keyed by level."""
    return {
        "seed": seed,
        "levels": {name: run_level(replace(config, seed=seed)) for name, config in LEVELS.items()},
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
