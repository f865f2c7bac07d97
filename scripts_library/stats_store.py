"""Where variant statistics and agent tallies live between runs: a small Protocol and a JSON-file store.

The database arrives in a later issue; until then `JsonStatsStore` keeps one JSON document, written to a
temporary file in the same directory, fsynced and renamed over the old one, so a crash mid-write leaves
the previous snapshot intact, never half a file. Stats are keyed by script id and variant id only (no
customer data is stored). Loading onto scripts sets the counts in place; ids the scripts no longer hold
are skipped and reported by count.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from scripts_library.mining import AgentTally, Miner
from scripts_library.schema import Script, VariantStats

__all__ = ["FORMAT_VERSION", "JsonStatsStore", "StatsSnapshot", "StatsStore", "apply_snapshot", "take_snapshot"]

FORMAT_VERSION = 1


@dataclass(slots=True)
class StatsSnapshot:
    """variants: script id → variant id → stats; agents: agent id → tally."""

    variants: dict[str, dict[str, VariantStats]] = field(default_factory=dict)
    agents: dict[str, AgentTally] = field(default_factory=dict)


class StatsStore(Protocol):
    def save(self, snapshot: StatsSnapshot) -> None:
        """Replace the stored snapshot as a whole (all or nothing)."""
        ...

    def load(self) -> StatsSnapshot:
        """The last saved snapshot, or an empty one if nothing was ever saved."""
        ...


def take_snapshot(scripts: Iterable[Script], miner: Miner | None = None) -> StatsSnapshot:
    """Copies of the current counts (variants never used are left out to keep the file small)."""
    variants = {
        s.id: {v.id: VariantStats(v.stats.uses, v.stats.conversions) for v in s.variants() if v.stats.uses}
        for s in scripts
    }
    return StatsSnapshot(variants=variants, agents=miner.agent_tallies() if miner is not None else {})


def apply_snapshot(snapshot: StatsSnapshot, scripts: Iterable[Script]) -> int:
    """Set the scripts' variant counts from the snapshot; returns how many stored ids were not found."""
    by_id = {s.id: {v.id: v for v in s.variants()} for s in scripts}
    missing = 0
    for script_id, stats in snapshot.variants.items():
        table = by_id.get(script_id, {})
        for variant_id, st in stats.items():
            variant = table.get(variant_id)
            if variant is None:
                missing += 1
                continue
            variant.stats.uses, variant.stats.conversions = st.uses, st.conversions
    return missing


class JsonStatsStore:
    """One JSON file, replaced atomically on every save. Not for concurrent writers (last save wins)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def save(self, snapshot: StatsSnapshot) -> None:
        doc = _to_json(snapshot)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self) -> StatsSnapshot:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return StatsSnapshot()
        try:
            return _from_json(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise ValueError(f"{self.path}: not a stats snapshot: {e}") from None


def _to_json(snapshot: StatsSnapshot) -> dict[str, Any]:
    variants = {
        sid: {vid: {"uses": st.uses, "conversions": st.conversions} for vid, st in table.items()}
        for sid, table in snapshot.variants.items()
    }
    agents = {
        aid: {
            "calls": t.calls,
            "conversions": t.conversions,
            "grades": t.grades,
            "recommendations_used": t.recommendations_used,
        }
        for aid, t in snapshot.agents.items()
    }
    return {"version": FORMAT_VERSION, "variants": variants, "agents": agents}


def _from_json(doc: Mapping[str, Any]) -> StatsSnapshot:
    if doc.get("version") != FORMAT_VERSION:
        raise ValueError(f"version: expected {FORMAT_VERSION}, got {doc.get('version')!r}")
    variants: dict[str, dict[str, VariantStats]] = {}
    for sid, table in doc["variants"].items():
        variants[sid] = {}
        for vid, st in table.items():
            uses, conv = _count(st, "uses", f"{sid}/{vid}"), _count(st, "conversions", f"{sid}/{vid}")
            if conv > uses:
                raise ValueError(f"{sid}/{vid}: expected conversions <= uses, got {conv} > {uses}")
            variants[sid][vid] = VariantStats(uses, conv)
    agents = {
        aid: AgentTally(
            calls=_count(t, "calls", aid),
            conversions=_count(t, "conversions", aid),
            grades={str(g): _count(t["grades"], g, aid) for g in t["grades"]},
            recommendations_used=_count(t, "recommendations_used", aid),
        )
        for aid, t in doc["agents"].items()
    }
    return StatsSnapshot(variants=variants, agents=agents)


def _count(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}.{key}: expected a count >= 0, got {value!r}")
    return value
