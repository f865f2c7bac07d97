"""Recommendations in the console: the session hook (real Recommender over the shipped scripts, with the lexical
encoder standing in for MiniLM), their arrival on a live call's event stream, and marking one as used."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from agent_console.recommendations import RecommendationDesk
from agent_console.summary import CallMeta
from scripts_library.catalog import load_catalog
from scripts_library.embeddings import HashedNgramEncoder
from scripts_library.recommend import Recommender
from session.events import RecommendationsEvent, TranscriptEvent
from session.record import TranscriptLine
from storage.models import AuditEntry
from storage.repos.variants import load_variant_stats
from tests.unit.test_console_support import console_world
from tests.unit.test_session_call import basic, run_call

pytestmark = pytest.mark.unit


@functools.cache
def recommender() -> Recommender:
    return Recommender(list(load_catalog().values()), HashedNgramEncoder(), explore=False)


def test_the_hook_answers_the_customers_latest_line_with_ids_to_mark_them_used() -> None:
    desk = RecommendationDesk(recommender)
    meta = CallMeta("c1", team_id=1, industry="insurance", language="en")
    hook = desk.hook(meta)
    assert hook is not None and RecommendationDesk(None).hook(meta) is None
    assert hook([TranscriptLine("robot", "Hello there", 0.0, 1.0)]) == []  # nothing from the customer yet
    lines = [
        TranscriptLine("customer", "hello", 0.0, 0.5),
        TranscriptLine("robot", "Hi, I'm calling about insurance.", 0.6, 2.0),
        TranscriptLine("customer", "how much does it cost per month", 2.5, 4.0),
    ]
    desk.build()
    started = time.perf_counter()
    items = hook(lines)
    assert time.perf_counter() - started < 0.3
    assert items and len({i["question"] for i in items}) <= desk.k
    first = items[0]
    assert set(first) == {
        "rec_id",
        "question",
        "similar_questions",
        "answer",
        "kind",
        "entry_id",
        "script_id",
        "variant_id",
        "score",
        "conversion",
        "reason",
    }
    assert first["script_id"] == "insurance-en" and first["rec_id"].startswith("r-")
    issued = desk.get(first["rec_id"])
    assert issued is not None and (issued.call_id, issued.variant_id) == ("c1", first["variant_id"])
    assert desk.mark_used(first["rec_id"]) and not desk.mark_used(first["rec_id"])


def test_recommendations_reach_the_call_event_stream_within_300_ms_of_a_final_customer_line() -> None:
    desk = RecommendationDesk(recommender)
    desk.build()
    hook = desk.hook(CallMeta("t1", industry="insurance", language="en"))
    run = run_call([(2.4, 3.4, "how much does the insurance cost")], basic, hangup_at_s=5.5, recommend=hook)
    finals = [e for e in run.events if isinstance(e, TranscriptEvent) and e.speaker == "customer" and e.final]
    recs = [e for e in run.events if isinstance(e, RecommendationsEvent)]
    assert len(finals) == 1 and len(recs) == 1
    assert recs[0].t_s - finals[0].t_s <= 0.3
    assert recs[0].items[0]["rec_id"].startswith("r-")


def test_marking_a_recommendation_used_updates_variant_stats_once_and_only_for_the_calls_agents(
    tmp_path: Path,
) -> None:
    with console_world(tmp_path, recommender_factory=recommender) as world:
        world.add_call("c1", "red-campaign", industry="insurance", language="en")
        meta = world.console.live.get("c1").meta  # type: ignore[union-attr]
        items = world.console.recommendations.for_call(meta, [TranscriptLine("customer", "is it expensive", 0, 1)])
        world.publish("c1", RecommendationsEvent(1.2, tuple(items)))
        ann = world.as_user("ann")
        shown = ann.get("/api/calls/c1").json()["recommendations"]
        assert [i["rec_id"] for i in shown] == [i["rec_id"] for i in items]

        rec = items[0]
        bob = world.as_user("bob")
        assert bob.post(f"/api/recommendations/{rec['rec_id']}/used").status_code == 403
        assert ann.post("/api/recommendations/r-unknown/used").status_code == 404
        no_csrf = ann.post(f"/api/recommendations/{rec['rec_id']}/used", headers={"X-CSRF-Token": ""})
        assert no_csrf.status_code == 403
        used = ann.post(f"/api/recommendations/{rec['rec_id']}/used")
        assert used.status_code == 200
        assert used.json() == {
            "rec_id": rec["rec_id"],
            "script_id": "insurance-en",
            "variant_id": rec["variant_id"],
            "uses": 1,
            "conversions": 0,
        }
        assert ann.post(f"/api/recommendations/{rec['rec_id']}/used").json()["uses"] == 1  # counted once
        with world.console.db.read() as s:
            assert load_variant_stats(s)["insurance-en"][rec["variant_id"]] == (1, 0)
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "recommendation_used")).one()
        assert entry.user_id == world.ids["ann"] and entry.call_id == "c1"
        assert world.console.live.get("c1").recommendations_used == [rec["variant_id"]]  # type: ignore[union-attr]
