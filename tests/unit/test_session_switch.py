"""The outbound switch: one swap point, effective at the next frame, and no click at the swap."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from session.switch import OutboundSwitch, SilentSource
from telephony.frames import AudioFrame, frame_samples

pytestmark = pytest.mark.unit
RATE = 8000
N = frame_samples(RATE)


class Tone:
    """A continuous sine, one 20 ms frame per pull (phase carried across frames)."""

    def __init__(self, hz: float, amplitude: float, phase: float = 0.0) -> None:
        self.hz, self.amplitude, self.phase = hz, amplitude, phase
        self.pos = 0

    def signal(self, start: int, count: int) -> npt.NDArray[np.int16]:
        t = (np.arange(start, start + count) / RATE) * 2 * np.pi * self.hz + self.phase
        return np.round(self.amplitude * np.sin(t)).astype(np.int16)

    def pull(self) -> AudioFrame | None:
        frame = AudioFrame.from_samples(self.signal(self.pos, N), RATE)
        self.pos += N
        return frame

    def max_step(self) -> int:
        return int(np.abs(np.diff(self.signal(0, RATE).astype(np.int32))).max())


def max_step(samples: npt.NDArray[np.int16]) -> int:
    return int(np.abs(np.diff(samples.astype(np.int32))).max())


def run(switch: OutboundSwitch, frames: int) -> list[npt.NDArray[np.int16]]:
    return [switch.next_frame().samples.copy() for _ in range(frames)]


@pytest.mark.parametrize("phases", [(1.3, 0.4), (0.0, 0.0), (2.0, 4.0), (4.5, 1.5)])
def test_a_takeover_mid_word_does_not_click(phases: tuple[float, float]) -> None:
    # a 440 Hz "word" cut at a frame boundary, a 1 kHz "agent" coming in
    robot, human = Tone(440, 12000, phase=phases[0]), Tone(1000, 9000, phase=phases[1])
    switch = OutboundSwitch(RATE, {"robot": robot, "human": human})
    before = run(switch, 7)
    switch.select("human")
    after = run(switch, 5)
    out = np.concatenate(before + after)
    bound = max(robot.max_step(), human.max_step())
    assert max_step(out) <= bound
    # the same swap without the fade clicks: the test can tell
    if phases == (1.3, 0.4):  # there the robot is near its peak and the agent near zero
        naive = np.concatenate([*before, human.signal(human.pos, N)])
        assert abs(int(naive[7 * N]) - int(naive[7 * N - 1])) > bound
    assert switch.last_source == "human" and switch.swaps == 1


def test_a_flushed_cut_fades_from_the_first_frame_that_never_played() -> None:
    """Barge-in: 2 frames are flushed from the line; what the customer hears stays continuous."""
    robot = Tone(300, 15000, phase=0.9)
    switch = OutboundSwitch(RATE, {"robot": robot})
    emitted = run(switch, 9)
    heard = emitted[:7]  # frames 8 and 9 were in the playout buffer when it was flushed
    switch.rewind(2)
    switch.select("silent")
    fade = switch.next_frame().samples
    out = np.concatenate([*heard, fade, np.zeros(N, np.int16)])
    assert max_step(out) <= robot.max_step()
    assert np.all(fade[20:] == 0), "the fade-out takes 2.5 ms (20 samples at 8 kHz), then silence"
    assert abs(int(fade[0]) - int(emitted[7][0])) <= 200, "it starts from the first frame that never played"


def test_resuming_after_silence_fades_in() -> None:
    robot = Tone(500, 20000, phase=np.pi / 2)  # starts at its peak: an abrupt start would jump by 20000
    switch = OutboundSwitch(RATE, {"robot": robot}, initial="silent")
    silent = run(switch, 3)
    switch.select("robot")
    out = np.concatenate([*silent, *run(switch, 3)])
    assert max_step(out) <= robot.max_step()


def test_select_takes_effect_at_the_next_frame_and_is_idempotent() -> None:
    robot, human = Tone(440, 1000), Tone(1000, 1000)
    switch = OutboundSwitch(RATE, {"robot": robot, "human": human})
    switch.next_frame()
    switch.select("human")
    switch.select("human")
    assert switch.selected == "human"
    switch.next_frame()
    assert switch.swaps == 1 and human.pos == N
    switch.select("robot")
    switch.select("robot")
    switch.next_frame()
    assert switch.swaps == 2 and switch.last_source == "robot"


def test_an_empty_source_plays_silence() -> None:
    switch = OutboundSwitch(RATE, {"robot": SilentSource()})
    frame = switch.next_frame()
    assert not frame.samples.any() and switch.last_source == "silent" and frame.sample_rate_hz == RATE


def test_wrong_rate_and_unknown_source_are_refused() -> None:
    class Wideband:
        def pull(self) -> AudioFrame:
            return AudioFrame.silence(16000)

    switch = OutboundSwitch(RATE, {"robot": Wideband()})
    with pytest.raises(ValueError, match="expected 8000 Hz frames from robot, got 16000"):
        switch.next_frame()
    with pytest.raises(ValueError, match="expected a source in"):
        switch.select("agent")  # type: ignore[arg-type]  # deliberately wrong
