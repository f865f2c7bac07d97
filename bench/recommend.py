"""Recommendation figures for `callcenter bench dialogue`: top-3 hit rate on labeled moments, latency at scale.

- `recommend_top3_hit`: over `bench/data/recommend_queries.yaml` (a call's script, current node and the
  customer's words, labeled with the FAQ or objection ids whose answers fit), the share of queries with a
  relevant entry among the top 3 recommended, against the shipped scripts.
- `recommend_ms`: wall time of one `recommend()` call (encoding the utterance included) over a library grown to
  `library_entries` entries (default 10,000), replaying the same labeled utterances.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scripts_library.catalog import load_catalog
from scripts_library.embeddings import TextEncoder
from scripts_library.recommend import Recommender, synthetic_library

QUERIES = Path(__file__).parent / "data" / "recommend_queries.yaml"


@dataclass(frozen=True, slots=True)
class Query:
    script: str
    node: str
    utterance: str
    relevant: tuple[str, ...]


def load_queries(path: Path = QUERIES) -> list[Query]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Query(r["script"], r["node"], r["utterance"], tuple(r["relevant"])) for r in rows]


def top3_hits(recommender: Recommender, queries: Sequence[Query]) -> list[bool]:
    catalog = load_catalog()
    hits = []
    for q in queries:
        script = catalog[q.script]
        recs = recommender.recommend(
            q.utterance, node_id=q.node, industry=script.industry, language=script.language, k=3
        )
        found = {r.entry_id.rsplit(":", 1)[-1] for r in recs if r.script_id == q.script}
        hits.append(bool(found & set(q.relevant)))
    return hits


def latencies_s(recommender: Recommender, queries: Sequence[Query], repeats: int) -> list[float]:
    """Per-call wall time; each repeat varies the utterance so the encoder's cache never answers."""
    catalog = load_catalog()
    out = []
    for r in range(repeats):
        for q in queries:
            script = catalog[q.script]
            t0 = time.perf_counter()
            recommender.recommend(
                f"{q.utterance} {'uh ' * r}".strip(), node_id=q.node, industry=None, language=script.language, k=3
            )
            out.append(time.perf_counter() - t0)
    return out


def run(encoder: TextEncoder, library_entries: int = 10_000, repeats: int = 3) -> dict[str, Any]:
    queries = load_queries()
    shipped = Recommender(list(load_catalog().values()), encoder, explore=False)
    hits = top3_hits(shipped, queries)
    t0 = time.perf_counter()
    big = Recommender([*load_catalog().values(), *synthetic_library(library_entries)], encoder, explore=False)
    build_s = time.perf_counter() - t0
    lat = latencies_s(big, queries, repeats)
    return {
        "recommend_queries": len(queries),
        "recommend_top3_hit": round(sum(hits) / len(hits), 3),
        "recommend_misses": [q.utterance for q, hit in zip(queries, hits, strict=True) if not hit],
        "recommend_library_entries": big.entry_count,
        "recommend_build_s": round(build_s, 1),
        "recommend_ms": {
            "p50": round(float(np.percentile(lat, 50)) * 1000, 2),
            "p95": round(float(np.percentile(lat, 95)) * 1000, 2),
        },
    }
