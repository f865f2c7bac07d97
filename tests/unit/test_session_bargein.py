"""The barge-in policy: cut at the onset, confirm a real barge-in, resume after a backchannel or noise."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from session.bargein import BargeInConfig, BargeInPolicy, Decision, FinalVerdict, is_backchannel, resume_frame

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    ["uh-huh", "Mm-hmm.", "Okay.", "ok yeah", "Yeah, right.", "I see.", "got it", "嗯", "对对", "好的", "嗯，是的"],
)
def test_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "No.",
        "Sorry, can I talk to a person?",
        "yeah but how much is it",
        "ok ok ok yeah",
        "嗯我想问一下价格",
        "不是",
    ],
)
def test_not_backchannels(text: str) -> None:
    assert not is_backchannel(text)


def speaking(interruptible: bool = True) -> BargeInPolicy:
    policy = BargeInPolicy(BargeInConfig(confirm_after_ms=700, max_cut_s=4.0))
    policy.robot_started(interruptible)
    return policy


def talk(policy: BargeInPolicy, start_s: float, end_s: float, until_s: float) -> list[Decision]:
    """Voiced frames from start to end, unvoiced after, up to until_s; the decisions they produced."""
    out = []
    for k in range(round(start_s / 0.02), round(until_s / 0.02)):
        t = (k + 1) * 0.02
        decision = policy.voice(t, t <= end_s)
        if decision is not None:
            out.append(decision)
    return out


def test_a_real_barge_in_cuts_at_the_onset_and_is_confirmed_by_its_length() -> None:
    policy = speaking()
    assert policy.speech_started(1.00) is Decision.CUT
    assert talk(policy, 1.0, 2.5, 1.68) == []  # 680 ms: not yet
    assert talk(policy, 1.68, 2.5, 1.72) == [Decision.CONFIRM]
    verdict = policy.final("Sorry, I have to stop you, can I ask a question?")
    assert verdict.decision is None and verdict.forward  # confirmed already: the text is the customer's turn


def test_a_short_real_answer_is_confirmed_by_its_text() -> None:
    policy = speaking()
    policy.speech_started(1.0)
    assert talk(policy, 1.0, 1.3, 1.9) == []
    verdict = policy.final("No.")
    assert verdict.decision is Decision.CONFIRM and verdict.forward
    assert policy.state == "quiet"


@pytest.mark.parametrize("text", ["uh-huh", "", "嗯"])
def test_a_backchannel_or_noise_resumes_the_robot_and_is_not_an_answer(text: str) -> None:
    policy = speaking()
    assert policy.speech_started(1.0) is Decision.CUT
    assert talk(policy, 1.0, 1.4, 1.9) == []
    verdict = policy.final(text)
    assert verdict.decision is Decision.RESUME and not verdict.forward
    assert policy.state == "speaking"


def test_a_dropped_utterance_or_no_verdict_in_time_resumes() -> None:
    policy = speaking()
    policy.speech_started(1.0)
    assert policy.dropped() is Decision.RESUME
    policy.speech_started(3.0)
    assert talk(policy, 3.0, 3.3, 7.1) == [Decision.RESUME]  # max_cut_s: the recognizer lost it


def test_the_verdict_waits_for_every_utterance_of_the_cut() -> None:
    policy = speaking()
    policy.speech_started(1.0)
    policy.speech_started(1.5)  # "uh-huh ... wait"
    assert policy.final("uh-huh").decision is None
    assert policy.final("wait, what was that?").decision is Decision.CONFIRM


def test_lines_that_must_not_be_cut_play_on() -> None:
    policy = speaking(interruptible=False)
    assert policy.speech_started(1.0) is None
    assert talk(policy, 1.0, 3.0, 3.0) == []
    assert not policy.final("uh-huh").forward  # a backchannel over the robot is no answer
    policy.speech_started(4.0)
    assert policy.final("who is this?").forward


def test_when_the_robot_is_quiet_a_short_yes_is_an_answer() -> None:
    policy = BargeInPolicy()
    assert policy.speech_started(1.0) is None
    verdict = policy.final("Okay.")
    assert verdict.decision is None and verdict.forward


def clause_audio(*parts: tuple[str, int]) -> list[npt.NDArray[np.int16]]:
    """Frames of 'speech' (a loud tone) and 'pause' (near silence), `count` frames each, in order."""
    rng = np.random.default_rng(0)
    frames = []
    for kind, count in parts:
        for _ in range(count):
            level = 8000 if kind == "speech" else 20
            frames.append((rng.standard_normal(160) * level).astype(np.int16))
    return frames


def test_resume_goes_back_to_the_start_of_the_interrupted_clause() -> None:
    frames = clause_audio(("speech", 40), ("pause", 10), ("speech", 30))  # clause 2 starts at frame 50
    assert resume_frame(frames, played=65) == 48  # two frames of the pause as a lead-in


def test_resume_inside_a_pause_continues_from_the_pause() -> None:
    frames = clause_audio(("speech", 40), ("pause", 10), ("speech", 30))
    assert resume_frame(frames, played=47) == 45


def test_resume_without_a_pause_backs_off_300_ms() -> None:
    frames = clause_audio(("speech", 150))
    assert resume_frame(frames, played=120) == 105
    assert resume_frame(frames, played=3) == 0
    assert resume_frame([], played=0) == 0


def test_reset_forgets_a_pending_cut() -> None:
    policy = speaking()
    policy.speech_started(1.0)
    policy.reset()
    assert policy.state == "quiet" and policy.final("uh-huh") == FinalVerdict(None, True)
