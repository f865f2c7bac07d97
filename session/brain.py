"""Feeding the dialogue engine: one event at a time, in order, off the event loop.

The engine is pure and synchronous but its intent classifier runs a sentence encoder (≈7-10 ms), so `handle()`
runs in an executor thread (STYLE.md habit 10), never two at once for one call. Events come from several
tasks (recognizer, timers, takeover, machine detection); they queue here (control: never dropped) and are
handled in arrival order.

Some events race with the call's own state: a handoff timer that fires as the agent picks up, an agent's last
words transcribed after the hand-back. An event the engine's current phase does not take is dropped here with
a log line naming the event and the phase (never its text) instead of raising `IllegalEvent` in the middle of
a call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from dialogue.actions import Action
from dialogue.engine import EngineState
from dialogue.events import EXPECTED, CallAnswered, Event
from session.seams import Dialogue

log = logging.getLogger(__name__)
MAX_QUEUED_EVENTS = 256  # far above any real backlog (a few events per turn); reaching it is a bug


class DialogueDriver:
    def __init__(
        self,
        dialogue: Dialogue,
        perform: Callable[[list[Action], EngineState], None],
        *,
        executor: Executor | None = None,
    ) -> None:
        """`perform(actions, state_after)` runs on the loop, in order, for every event handled."""
        self.dialogue = dialogue
        self._perform = perform
        self._executor = executor
        self._queue: asyncio.Queue[Event] = asyncio.Queue(MAX_QUEUED_EVENTS)
        self.handled = 0
        self.dropped = 0
        self.busy_s = 0.0  # time spent in handle(), for the call's timings

    def post(self, event: Event) -> None:
        """Queue an event (sync). Raises asyncio.QueueFull only if the driver is wedged: control is never dropped."""
        self._queue.put_nowait(event)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        """Handle events until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            event = await self._queue.get()
            phase = self.dialogue.state.phase
            if not isinstance(event, CallAnswered) and not isinstance(event, EXPECTED[phase]):
                self.dropped += 1
                log.info("dialogue event dropped", extra={"event": type(event).__name__, "phase": phase})
                continue
            started = loop.time()
            actions = await loop.run_in_executor(self._executor, self.dialogue.handle, event)
            self.busy_s += loop.time() - started
            self.handled += 1
            self._perform(actions, self.dialogue.state)
