"""The robot's voice: the dialogue's lines, rendered by the TTS, handed to the outbound switch frame by frame.

`RobotVoice` is the switch's `robot` source. Its task (`run`) renders one line at a time a few frames ahead of
playout (`ahead_frames`, bounded: the producer waits for the switch to pull). It keeps the audio of the line in
progress, so a barge-in can `pause` it and a false alarm can `resume` it from the start of the interrupted
clause (`bargein.resume_frame`); `stop` cancels the line and drops the queued ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from dialogue.actions import Say
from session.bargein import resume_frame
from telephony.frames import AudioFrame
from tts.engine import TtsEngine, TtsStream

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 2.0


@dataclass(eq=False)
class Line:
    """One line being played. `pos`: frames handed to the switch; `played`: of those, reached the customer."""

    say: Say
    frames: list[AudioFrame] = field(default_factory=list)
    pos: int = 0
    started_s: float | None = None  # loop time of its first frame
    rendered: bool = False
    cancelled: bool = False
    stream: TtsStream | None = None


class RobotVoice:
    def __init__(
        self,
        tts: TtsEngine,
        sample_rate_hz: int,
        *,
        ahead_frames: int = 5,
        on_line_start: Callable[[Line], None] = lambda line: None,
        on_line_end: Callable[[Line], None] = lambda line: None,
        on_idle: Callable[[], None] = lambda: None,
        on_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self._tts = tts
        self.sample_rate_hz = sample_rate_hz
        self._ahead = ahead_frames
        self._on_line_start, self._on_line_end, self._on_idle = on_line_start, on_line_end, on_idle
        self._on_ready = on_ready  # called when a line's first frame is rendered
        self._queue: deque[Line] = deque()  # the dialogue's lines: control, never dropped (a few per turn)
        self._current: Line | None = None
        self._paused = False
        self._hold_until = 0.0  # loop time before which no line starts (a voicemail message waits for the beep)
        self._changed = asyncio.Event()
        self.lines_played = 0

    # -- control (sync, event loop) --

    @property
    def current(self) -> Line | None:
        return self._current

    @property
    def idle(self) -> bool:
        return self._current is None and not self._queue

    @property
    def paused(self) -> bool:
        return self._paused

    def say(self, say: Say) -> None:
        self._queue.append(Line(say))
        self._changed.set()

    def hold_until(self, loop_time_s: float) -> None:
        """Start no line before this loop time (a line already playing goes on); an earlier time releases."""
        self._hold_until = loop_time_s
        self._changed.set()

    def stop(self) -> None:
        """Cut the line in progress (its synthesis is cancelled) and drop the queued ones."""
        self._queue.clear()
        self._paused = False
        line = self._current
        if line is not None and not line.cancelled:
            line.cancelled = True
            if line.stream is not None:
                line.stream.cancel()
        self._changed.set()

    def pause(self, unplayed_frames: int) -> None:
        """Barge-in: hand out nothing more; the last `unplayed_frames` handed out never reached the customer."""
        line = self._current
        if line is not None:
            line.pos = max(0, line.pos - max(0, unplayed_frames))
        self._paused = True
        self._changed.set()

    def resume(self) -> None:
        """False alarm: go on from the start of the clause the line was cut in."""
        line = self._current
        if line is not None:
            line.pos = resume_frame([f.samples for f in line.frames], line.pos)
        self._paused = False
        self._changed.set()

    # -- the switch's source --

    def pull(self) -> AudioFrame | None:
        line = self._current
        if line is None or self._paused or line.cancelled or line.pos >= len(line.frames):
            return None
        frame = line.frames[line.pos]
        line.pos += 1
        if line.started_s is None:
            line.started_s = asyncio.get_running_loop().time()
            self._on_line_start(line)
        self._changed.set()
        return frame

    # -- the producer task --

    async def run(self) -> None:
        """Render and hand out lines until cancelled."""
        while True:
            line = await self._next_line()
            self._current = line
            try:
                await self._play(line)
            finally:  # also when the call ends mid-line: the line is reported, as cut
                await self._close_stream(line)
                self._current = None
                line.cancelled = line.cancelled or not line.rendered or line.pos < len(line.frames)
                self._on_line_end(line)
            self.lines_played += 1
            if self.idle:
                self._on_idle()

    @staticmethod
    async def _close_stream(line: Line) -> None:
        if line.stream is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await line.stream.aclose()

    async def _next_line(self) -> Line:
        loop = asyncio.get_running_loop()
        while not self._queue or loop.time() < self._hold_until:
            if not self._queue:
                await self._wait_change()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._hold_until - loop.time()):
                    await self._wait_change()
        return self._queue.popleft()

    async def _play(self, line: Line) -> None:
        if line.cancelled:
            return
        line.stream = stream = self._tts.stream(line.say.text, self.sample_rate_hz)
        async for frame in stream:
            line.frames.append(frame)
            if len(line.frames) == 1 and not self._paused:
                self._on_ready()
            while len(line.frames) - line.pos >= self._ahead and not line.cancelled:
                await self._wait_change()
            if line.cancelled:
                return
        line.rendered = True
        while not line.cancelled and (self._paused or line.pos < len(line.frames)):
            await self._wait_change()

    async def _wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()
