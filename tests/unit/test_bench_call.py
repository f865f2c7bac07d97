"""`callcenter bench call`: the generated personas and the JSON the benchmark prints (no SIP, no models)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.call import ANSWERS, ASK_FOR_PERSON, GOODBYE, NOT_NOW, CallFigures, assemble, personas
from telephony.simulator.persona import load_personas

pytestmark = pytest.mark.unit


def test_every_persona_answers_three_questions_barges_in_once_and_ends() -> None:
    data = personas(3, 60)["personas"]
    assert [p["id"] for p in data] == ["cust-000", "cust-001", "cust-002"]
    for i, p in enumerate(data):
        texts = [t["text"] for t in p["turns"]]
        assert texts[:3] == list(ANSWERS)
        assert texts[3] == (ASK_FOR_PERSON if i == 0 else NOT_NOW) and texts[4] == GOODBYE
        assert [("barge_in_after_ms" in t) for t in p["turns"]] == [False, False, False, True, False]
        assert p["max_call_s"] == 60 and p["seed"] == i + 1


def test_the_persona_file_is_valid_for_the_simulator(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "personas.yaml"
    path.write_text(yaml.safe_dump(personas(2, 40)), encoding="utf-8")
    assert list(load_personas(path)) == ["cust-000", "cust-001"]


def test_the_json_pools_the_calls_and_takes_the_agent_figures_from_call_0() -> None:
    agent_call = CallFigures(
        answered=True, greeting_s=0.28, voice_to_voice_s=[0.7, 0.8], barge_in_stop_s=[0.2], turns=5, ticks=1000,
        late_ticks=5, sim_late_frames=1, sim_frames=1000, takeover_silence_s=0.02, agent_to_line_s=0.06,
        session_voice_to_voice_ms=[500.0],
    )  # fmt: skip
    other = CallFigures(answered=True, greeting_s=0.3, voice_to_voice_s=[0.9], turns=5, ticks=1000, late_ticks=15)
    failed = CallFigures(error="TimeoutError: ")
    out = assemble([agent_call, other, failed], seconds=60, cpu_pct=123.45, wall_s=50.0)
    assert out["calls"] == 3 and out["answered"] == 2 and out["turns"] == 10
    assert out["errors"] == ["call 2: TimeoutError: "]
    assert out["voice_to_voice_ms"] == {"p50": 800.0, "p95": 890.0, "max": 900.0} and out["voice_to_voice_n"] == 3
    assert out["greeting_ms"]["p50"] == 290.0
    assert out["barge_in_stop_ms"]["p50"] == 200.0
    assert out["takeover_silence_ms"] == 20.0 and out["agent_to_line_ms"] == 60.0
    assert out["late_frame_pct"] == 1.0 and out["simulator_late_frames"] == 1
    assert out["simulator_late_frame_pct"] == 0.1
    assert out["session_voice_to_voice_ms"]["p50"] == 500.0
    assert out["cpu_pct"] == 123.5


def test_no_answered_call_gives_empty_figures_not_a_crash() -> None:
    out = assemble([CallFigures(error="not answered: busy")], seconds=10, cpu_pct=0.0, wall_s=1.0)
    assert out["voice_to_voice_ms"] is None and out["takeover_silence_ms"] is None
    assert out["late_frame_pct"] is None and out["cpu_pct"] == 0.0
