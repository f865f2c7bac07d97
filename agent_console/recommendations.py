"""Gold-seller recommendations for live calls, and the ids that let an agent mark one as used.

The dialer gives each `CallSession` the console's hook (`recommend=console.recommendations.hook(meta)`). The
session calls it in a worker thread after every final customer line (`session.conversation`), so `recommend()`
never runs on the event loop; the items it returns go out on the call's event stream as one `recommendations`
event. Each item carries a `rec_id`, remembered here (bounded: the oldest are forgotten), so
`POST /api/recommendations/{rec_id}/used` knows the script, the variant and the call it was made in.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_console.policy import CallScope
from agent_console.summary import CallMeta
from scripts_library.recommend import Recommendation, Recommender
from session.record import TranscriptLine

__all__ = ["CallRecommender", "IssuedRecommendation", "RecommendationDesk", "recommendation_json"]

CallRecommender = Callable[[Sequence[TranscriptLine]], Sequence[Mapping[str, Any]]]  # session.conversation's hook
MAX_ISSUED = 20_000


@dataclass(slots=True)
class IssuedRecommendation:
    rec_id: str
    call_id: str
    scope: CallScope
    script_id: str
    variant_id: str
    used: bool = False


def recommendation_json(rec_id: str, rec: Recommendation) -> dict[str, Any]:
    """One item of a `recommendations` event (docs/console-api.md `Recommendation`)."""
    return {
        "rec_id": rec_id,
        "question": rec.question,
        "similar_questions": list(rec.similar_questions),
        "answer": rec.answer.text,
        "kind": rec.entry_kind,
        "entry_id": rec.entry_id,
        "script_id": rec.script_id,
        "variant_id": rec.answer.id,
        "score": round(rec.score, 4),
        "conversion": round(rec.conversion, 4),
        "reason": rec.reason,
    }


class RecommendationDesk:
    def __init__(self, factory: Callable[[], Recommender] | None, *, max_issued: int = MAX_ISSUED) -> None:
        self._factory = factory
        self._recommender: Recommender | None = None
        self._build_lock = threading.Lock()
        self._issued: OrderedDict[str, IssuedRecommendation] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_issued
        self.k = 3  # questions per batch
        self.answers_per_question = 2

    @property
    def enabled(self) -> bool:
        return self._factory is not None

    def build(self) -> Recommender | None:
        """The recommender, built on first use (CPU-heavy: encodes every script text; call from a thread)."""
        if self._factory is None:
            return None
        with self._build_lock:
            if self._recommender is None:
                self._recommender = self._factory()
            return self._recommender

    def hook(self, meta: CallMeta) -> CallRecommender | None:
        """The `recommend=` hook for this call's `CallSession` (None when recommendations are off)."""
        if self._factory is None:
            return None

        def recommend(lines: Sequence[TranscriptLine]) -> list[dict[str, Any]]:
            return self.for_call(meta, lines)

        return recommend

    def for_call(self, meta: CallMeta, lines: Sequence[TranscriptLine]) -> list[dict[str, Any]]:
        """Recommendations for the customer's latest final line (sync, CPU-bound: a worker thread only)."""
        text = next((line.text for line in reversed(lines) if line.speaker == "customer" and line.text.strip()), "")
        recommender = self.build()
        if recommender is None or not text:
            return []
        recs = recommender.recommend(
            text,
            node_id=None,
            industry=meta.industry,
            language=meta.language,
            k=self.k,
            answers_per_entry=self.answers_per_question,
        )
        return [recommendation_json(self._issue(meta, rec), rec) for rec in recs]

    def _issue(self, meta: CallMeta, rec: Recommendation) -> str:
        rec_id = "r-" + secrets.token_hex(6)
        issued = IssuedRecommendation(rec_id, meta.call_id, meta.scope, rec.script_id, rec.answer.id)
        with self._lock:
            self._issued[rec_id] = issued
            while len(self._issued) > self._max:
                self._issued.popitem(last=False)
        return rec_id

    def get(self, rec_id: str) -> IssuedRecommendation | None:
        with self._lock:
            return self._issued.get(rec_id)

    def mark_used(self, rec_id: str) -> bool:
        """True the first time a recommendation is marked (it counts once), False after."""
        with self._lock:
            issued = self._issued.get(rec_id)
            if issued is None or issued.used:
                return False
            issued.used = True
            return True
