"""Mining (variant stats, sales ratings) and the JSON stats store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts_library.mining import AgentTally, CallOutcome, Miner
from scripts_library.schema import FaqEntry, Node, NodeKind, Script, Variant, VariantStats
from scripts_library.stats_store import JsonStatsStore, StatsSnapshot, apply_snapshot, take_snapshot

pytestmark = pytest.mark.unit


def small_script(sid: str = "insurance-en") -> Script:
    nodes = {
        "opening": Node("opening", NodeKind.OPENING, [Variant("opening.v1", "Hi"), Variant("opening.v2", "Hello")]),
        "busy": Node(
            "busy", NodeKind.OBJECTION, [Variant("busy.v1", "When is better?")], intent="busy_now", next="opening"
        ),
    }
    faq = [FaqEntry("price", "How much?", ["Is it expensive?"], [Variant("price.a", "Twenty a month.")])]
    return Script(sid, "insurance", "en", "t", "Acme", "cover", "opening", nodes, {}, faq)


def stats_of(script: Script) -> dict[str, VariantStats]:
    return {v.id: VariantStats(v.stats.uses, v.stats.conversions) for v in script.variants()}


def outcome(agent: str, converted: bool, said: list[str] | None = None, grade: str = "B") -> CallOutcome:
    return CallOutcome("insurance-en", agent, said if said is not None else ["opening.v1"], converted, grade)


# --- variant stats ---


def test_record_counts_uses_and_conversions_once_per_call() -> None:
    script = small_script()
    miner = Miner([script])
    assert miner.record(outcome("a1", True, ["opening.v1", "busy.v1", "opening.v1"])) == 2
    miner.record(outcome("a1", False, ["opening.v1", "price.a"]))
    stats = stats_of(script)
    assert stats["opening.v1"] == VariantStats(2, 1)
    assert stats["busy.v1"] == VariantStats(1, 1)
    assert stats["price.a"] == VariantStats(1, 0)
    assert stats["opening.v2"] == VariantStats(0, 0)


def test_recommendations_used_count_as_said() -> None:
    script = small_script()
    miner = Miner([script])
    miner.record(
        CallOutcome("insurance-en", "a1", ["opening.v1"], True, "A", recommendations_used=["price.a", "opening.v1"])
    )
    assert stats_of(script)["price.a"] == VariantStats(1, 1)
    assert stats_of(script)["opening.v1"] == VariantStats(1, 1)
    assert miner.sales_rating("a1").recommendations_used == 2


def test_unknown_ids_are_counted_not_raised() -> None:
    script = small_script()
    miner = Miner([script])
    assert miner.record(outcome("a1", True, ["gone.v9", "opening.v2"])) == 1
    assert miner.record(CallOutcome("retired-script", "a1", ["x", "y"], True, "A")) == 0
    assert miner.unknown_variants == 3
    assert miner.sales_rating("a1").calls == 2  # the agent's calls still count


def test_robot_only_calls_update_variants_but_rate_nobody() -> None:
    script = small_script()
    miner = Miner([script])
    miner.record(outcome("", True))
    assert stats_of(script)["opening.v1"] == VariantStats(1, 1)
    assert miner.ratings() == []


def test_bad_grade_is_rejected() -> None:
    with pytest.raises(ValueError, match="grade"):
        Miner([small_script()]).record(outcome("a1", True, grade="E"))


# --- sales rating (销售评级) ---


def team_with(extra: dict[str, tuple[int, int]]) -> Miner:
    """Ten agents converting 10 % over 50 calls each, plus `extra` agents: id → (calls, conversions)."""
    miner = Miner([small_script()])
    agents = {f"team{i}": (50, 5) for i in range(10)} | extra
    for agent, (calls, conversions) in agents.items():
        for j in range(calls):
            miner.record(outcome(agent, j < conversions, grade="A" if j < conversions else "C"))
    return miner


def test_two_lucky_calls_do_not_make_a_star() -> None:
    rating = team_with({"lucky": (2, 2)}).sales_rating("lucky")
    assert (rating.calls, rating.conversions) == (2, 2)
    assert rating.level == "B"
    assert rating.team_rate < rating.rate_smoothed < 0.5  # pulled toward the team, far below the raw 100 %


def test_consistent_performers_are_rated_by_evidence() -> None:
    miner = team_with({"star": (120, 40), "steady": (200, 40), "weak": (120, 0), "new": (3, 0)})
    levels = {r.agent_id: r.level for r in miner.ratings()}
    assert levels["star"] == "S"
    assert levels["steady"] == "A"
    assert levels["weak"] == "C"
    assert levels["new"] == "B"
    assert levels["team0"] == "B"
    assert miner.ratings()[0].agent_id == "star"


def test_rating_details() -> None:
    miner = team_with({"star": (120, 40)})
    rating = miner.sales_rating("star")
    assert rating.grades == {"A": 40, "C": 80}
    assert rating.rate_low < rating.rate_smoothed < rating.rate_high
    assert rating.team_rate == pytest.approx((50 + 40 + 1) / (500 + 120 + 2))
    unknown = miner.sales_rating("nobody")
    assert (unknown.calls, unknown.level) == (0, "B")
    assert unknown.rate_smoothed == pytest.approx(unknown.team_rate)


# --- stats store ---


def test_store_round_trip_onto_fresh_scripts(tmp_path: Path) -> None:
    script = small_script()
    miner = Miner([script])
    miner.record(outcome("a1", True, ["opening.v1", "price.a"], grade="A"))
    miner.record(outcome("a2", False, ["opening.v2"], grade="D"))
    store = JsonStatsStore(tmp_path / "stats" / "variants.json")
    store.save(take_snapshot([script], miner))

    fresh = small_script()
    loaded = store.load()
    assert apply_snapshot(loaded, [fresh]) == 0
    assert stats_of(fresh) == stats_of(script)
    assert loaded.agents["a1"] == AgentTally(1, 1, {"A": 1}, 0)
    restored = Miner([fresh], agents=loaded.agents)
    assert restored.sales_rating("a2") == miner.sales_rating("a2")


def test_store_skips_ids_the_scripts_no_longer_hold(tmp_path: Path) -> None:
    store = JsonStatsStore(tmp_path / "s.json")
    store.save(
        StatsSnapshot(variants={"insurance-en": {"opening.v1": VariantStats(5, 2), "old.v1": VariantStats(3, 1)}})
    )
    script = small_script()
    assert apply_snapshot(store.load(), [script]) == 1
    assert stats_of(script)["opening.v1"] == VariantStats(5, 2)


def test_store_missing_file_is_empty_and_corrupt_file_is_an_error(tmp_path: Path) -> None:
    store = JsonStatsStore(tmp_path / "s.json")
    assert store.load() == StatsSnapshot()
    store.path.write_text(json.dumps({"version": 1, "variants": {"s": {"v": {"uses": 1, "conversions": 2}}}}))
    with pytest.raises(ValueError, match="conversions <= uses"):
        store.load()
    store.path.write_text("{not json")
    with pytest.raises(ValueError, match="not a stats snapshot"):
        store.load()


def test_store_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JsonStatsStore(tmp_path / "s.json")
    good = StatsSnapshot(variants={"insurance-en": {"opening.v1": VariantStats(7, 3)}})
    store.save(good)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save(StatsSnapshot())
    monkeypatch.undo()
    assert store.load() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # no temporary file left behind
