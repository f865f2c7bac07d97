"""Mining: call outcomes update the variants' track records, and agents get a sales rating (销售评级).

A variant's stats count calls, not utterances: a line said three times in one call is one use, and it earns
one conversion if that call converted. Conversion is a property of the whole call, so every line said in a
converting call shares the credit; over many calls the lines that convert rise (the recommender's Beta
posterior does the ranking, this module only counts).

Ratings are smoothed toward the team's rate with `prior_calls` pseudo-calls, and the level is decided on a
credible band around that, so two lucky calls make an agent "B" (not enough evidence), never a star "S".
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from scripts_library.schema import Script, Variant

__all__ = ["GRADES", "LEVELS", "AgentTally", "CallOutcome", "Miner", "SalesRating", "rate_agent"]

log = logging.getLogger(__name__)

GRADES = ("A", "B", "C", "D")
LEVELS = ("S", "A", "B", "C")
_Z = 1.2816  # one-sided 90 % normal quantile: the width of the band the level is judged on


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How one call ended. `agent_id` is the human who worked it ("" for a robot-only call: not rated).

    `recommendations_used` holds the variant ids of recommended answers the agent said; they count as said.
    """

    script_id: str
    agent_id: str
    variant_ids_said: list[str]
    converted: bool
    grade: str
    recommendations_used: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AgentTally:
    """Raw counts per agent (what the stats store persists)."""

    calls: int = 0
    conversions: int = 0
    grades: dict[str, int] = field(default_factory=dict)
    recommendations_used: int = 0


@dataclass(frozen=True, slots=True)
class SalesRating:
    """`rate_smoothed` is the posterior mean; `rate_low`/`rate_high` bound it (≈80 % band); `level` S > A > B > C."""

    agent_id: str
    calls: int
    conversions: int
    rate_smoothed: float
    level: str
    rate_low: float
    rate_high: float
    team_rate: float
    grades: dict[str, int]
    recommendations_used: int


class Miner:
    """Counts outcomes onto the scripts' `VariantStats` (in place) and per-agent tallies. Thread-safe."""

    def __init__(
        self,
        scripts: Iterable[Script],
        *,
        agents: Mapping[str, AgentTally] | None = None,
        prior_calls: float = 20.0,
    ) -> None:
        self._variants: dict[str, dict[str, Variant]] = {s.id: {v.id: v for v in s.variants()} for s in scripts}
        self._agents: dict[str, AgentTally] = {a: _copy_tally(t) for a, t in (agents or {}).items()}
        self._prior_calls = prior_calls
        self._lock = threading.Lock()
        self.unknown_variants = 0  # ids said that no loaded script holds (script edited since the call)

    def record(self, outcome: CallOutcome) -> int:
        """Count one finished call; returns how many variants it updated. Unknown ids are counted, not raised."""
        if outcome.grade not in GRADES:
            raise ValueError(f"grade: expected one of {GRADES}, got {outcome.grade!r}")
        said = dict.fromkeys([*outcome.variant_ids_said, *outcome.recommendations_used])
        with self._lock:
            updated = self._count_variants(outcome.script_id, list(said), outcome.converted)
            if outcome.agent_id:
                self._count_agent(outcome)
        return updated

    def _count_variants(self, script_id: str, variant_ids: list[str], converted: bool) -> int:
        table = self._variants.get(script_id)
        if table is None:
            log.warning("mining: outcome for unknown script", extra={"script_id": script_id})
            self.unknown_variants += len(variant_ids)
            return 0
        updated = 0
        for vid in variant_ids:
            variant = table.get(vid)
            if variant is None:
                self.unknown_variants += 1
                continue
            variant.stats.uses += 1
            variant.stats.conversions += int(converted)
            updated += 1
        return updated

    def _count_agent(self, outcome: CallOutcome) -> None:
        tally = self._agents.setdefault(outcome.agent_id, AgentTally())
        tally.calls += 1
        tally.conversions += int(outcome.converted)
        tally.grades[outcome.grade] = tally.grades.get(outcome.grade, 0) + 1
        tally.recommendations_used += len(outcome.recommendations_used)

    def agent_tallies(self) -> dict[str, AgentTally]:
        """A copy of the per-agent counts."""
        with self._lock:
            return {a: _copy_tally(t) for a, t in self._agents.items()}

    def team_rate(self) -> float:
        """Laplace-smoothed conversion rate over every rated call ((conversions + 1) / (calls + 2))."""
        with self._lock:
            calls = sum(t.calls for t in self._agents.values())
            conversions = sum(t.conversions for t in self._agents.values())
        return (conversions + 1) / (calls + 2)

    def sales_rating(self, agent_id: str) -> SalesRating:
        """An agent never seen gets zero calls and level "B" (no evidence either way)."""
        team = self.team_rate()
        with self._lock:
            tally = _copy_tally(self._agents.get(agent_id, AgentTally()))
        return rate_agent(agent_id, tally, team, self._prior_calls)

    def ratings(self) -> list[SalesRating]:
        """Every agent seen, best smoothed rate first."""
        team = self.team_rate()
        tallies = self.agent_tallies()
        out = [rate_agent(a, t, team, self._prior_calls) for a, t in tallies.items()]
        return sorted(out, key=lambda r: (-r.rate_smoothed, r.agent_id))


def rate_agent(agent_id: str, tally: AgentTally, team_rate: float, prior_calls: float) -> SalesRating:
    """S: confidently ≥ 1.5 times the team rate; A: confidently above it; C: confidently below 0.75 times it; else B."""
    n = tally.calls + prior_calls
    mean = (tally.conversions + prior_calls * team_rate) / n
    half = _Z * math.sqrt(max(mean * (1.0 - mean), 0.0) / n)
    low, high = max(mean - half, 0.0), min(mean + half, 1.0)
    if low >= 1.5 * team_rate:
        level = "S"
    elif low >= team_rate:
        level = "A"
    elif high < 0.75 * team_rate:
        level = "C"
    else:
        level = "B"
    return SalesRating(
        agent_id=agent_id,
        calls=tally.calls,
        conversions=tally.conversions,
        rate_smoothed=mean,
        level=level,
        rate_low=low,
        rate_high=high,
        team_rate=team_rate,
        grades=dict(tally.grades),
        recommendations_used=tally.recommendations_used,
    )


def _copy_tally(t: AgentTally) -> AgentTally:
    return AgentTally(t.calls, t.conversions, dict(t.grades), t.recommendations_used)
