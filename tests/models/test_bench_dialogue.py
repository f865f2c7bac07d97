"""The dialogue benchmark's accuracy figures (no timing here: speed lives in `callcenter bench dialogue`)."""

from __future__ import annotations

import pytest

from bench.dialogue import GRADES, run

pytestmark = pytest.mark.models


def test_labeled_dialogues_are_graded_right() -> None:
    out = run(with_recommend=False)
    assert out["dialogues"] >= 60
    assert out["grade_accuracy"] >= 0.85, out["grade_misses"]
    confusion = out["grade_confusion"]
    assert sum(sum(row.values()) for row in confusion.values()) == out["dialogues"]
    assert all(confusion[g][g] > 0 for g in GRADES)
    assert confusion["A"]["D"] == 0 and confusion["B"]["D"] == 0  # an interested person is never written off
