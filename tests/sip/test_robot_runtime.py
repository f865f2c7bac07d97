"""The robot runtime (`session.robot.Robot`) end to end, through the benchmark: one simulated customer over real
SIP with the real models, and the scripted agent over WebSockets. No timing thresholds here (the benchmark's
figures and targets are in docs/benchmarks.md); only that the call went through and was measured."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.call import run

pytestmark = pytest.mark.sip


def test_one_benchmark_call_is_answered_greeted_and_measured() -> None:
    out = asyncio.run(asyncio.wait_for(run(calls=1, seconds=40), 240))
    print(json.dumps(out))
    assert out["calls"] == 1 and out["answered"] == 1, out
    assert out["errors"] == [], out
    assert out["greeting_ms"] is not None and out["greeting_ms"]["p50"] > 0
    assert out["voice_to_voice_ms"] is not None and out["voice_to_voice_n"] >= 3
    assert out["turns"] >= 4 and out["late_frame_pct"] is not None
