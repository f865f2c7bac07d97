"""The console's WebSockets: `/ws/board`, and the authentication of the live call's own sockets.

- `authorizer(console)` replaces `media_ws.authorize_connection`: the session cookie in the handshake (4401
  without a valid one), the Origin (4403 if foreign), and the role rules (4403: agent socket needs control of
  the call, events and listen need sight of it). Opening a listen socket is audited here.
- `ConsoleHooks` gives the media sockets the audit log and the takeovers made over REST.
- `/ws/board`: a snapshot, then changes (latest-only per call), pings when idle; the login session is checked
  again every `board_recheck_s` (closing with 4401 once it ended), and that check keeps it from idling out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket

from agent_console.auth import COOKIE_NAME, same_origin
from agent_console.context import Console
from agent_console.live import LiveCalls, call_json, counts_json
from agent_console.media_ws import CLOSE_NOT_ALLOWED, CLOSE_NOT_AUTHENTICATED, AgentLink, Principal, Refusal
from agent_console.policy import Viewer, can_control, can_see, can_whisper
from session.agent import AgentChannel
from storage.repos.audit import AuditAction

__all__ = ["ConsoleHooks", "authorizer", "board_router"]

log = logging.getLogger(__name__)
CLOSE_GOING_AWAY = 1001


async def _viewer(console: Console, websocket: WebSocket) -> Viewer | Refusal:
    if not same_origin(websocket.headers):
        return Refusal(CLOSE_NOT_ALLOWED, "foreign origin")
    viewer = await asyncio.to_thread(console.auth.viewer, websocket.cookies.get(COOKIE_NAME))
    if viewer is None:
        return Refusal(CLOSE_NOT_AUTHENTICATED, "not authenticated")
    return viewer


def authorizer(console: Console, hooks: ConsoleHooks) -> Callable[[WebSocket], Awaitable[Principal | Refusal]]:
    """The dependency that stands in for `media_ws.authorize_connection` in the console app."""

    async def authorize(websocket: WebSocket) -> Principal | Refusal:
        viewer = await _viewer(console, websocket)
        if isinstance(viewer, Refusal):
            return viewer
        role = websocket.url.path.rstrip("/").rsplit("/", 1)[-1]
        call_id = str(websocket.path_params.get("call_id", ""))
        call = console.live.get(call_id)
        scope = call.meta.scope if call is not None else None
        if call is None and call_id not in console.live.registry:
            return Principal(viewer.username, "events")  # media_ws closes with 4404: no such call
        allowed = can_control(viewer, scope) if role == "agent" else can_see(viewer, scope)
        if not allowed or role not in ("agent", "listen", "events"):
            return Refusal(CLOSE_NOT_ALLOWED, "not allowed")
        hooks.remember(viewer)
        if role == "listen":
            lead_id = call.meta.lead_id if call is not None else None
            console.auditor.submit(viewer.user_id, AuditAction.LISTEN, call_id=call_id, lead_id=lead_id)
        return Principal(viewer.username, role, whisper=can_whisper(viewer))  # type: ignore[arg-type]  # checked

    return authorize


class ConsoleHooks:
    """`media_ws.SocketHooks` for the console: takeovers held for the agent's socket, and the audit log."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._user_ids: dict[str, int] = {}  # username -> user id, learnt as sockets are authorized

    @property
    def live(self) -> LiveCalls:
        return self._console.live

    def agent_connected(self, call_id: str, agent_id: str, link: AgentLink) -> AgentChannel | None:
        return self.live.agent_connected(call_id, agent_id, link)

    def agent_disconnected(self, call_id: str, agent_id: str, link: AgentLink) -> None:
        self.live.agent_disconnected(call_id, agent_id, link)

    def remember(self, viewer: Viewer) -> None:
        self._user_ids[viewer.username] = viewer.user_id

    def on_action(self, principal: Principal, call_id: str, action: str) -> None:
        call = self.live.get(call_id)
        lead_id = call.meta.lead_id if call is not None else None
        user_id = self._user_ids.get(principal.id)
        self._console.auditor.submit(user_id, action, call_id=call_id, lead_id=lead_id, details={"via": "socket"})


def board_router(console: Console) -> APIRouter:
    router = APIRouter()

    @router.websocket("/ws/board")
    async def board(websocket: WebSocket) -> None:
        await websocket.accept()
        viewer = await _viewer(console, websocket)
        if isinstance(viewer, Refusal):
            await websocket.close(viewer.code, viewer.reason)
            return
        await _serve_board(console, websocket, viewer)

    return router


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it goes."""
    while True:
        message = await websocket.receive()
        if message.get("type") == "websocket.disconnect":
            return


async def _serve_board(console: Console, websocket: WebSocket, viewer: Viewer) -> None:
    live, settings = console.live, console.settings
    token = websocket.cookies.get(COOKIE_NAME)
    loop = asyncio.get_running_loop()
    sub = live.subscribe()
    reader = asyncio.create_task(_drain(websocket), name="board-reader")
    reader.add_done_callback(lambda _: sub.close())
    board = _Board(websocket, live, viewer)
    checked = loop.time()
    code, reason = CLOSE_GOING_AWAY, "bye"
    try:
        await board.snapshot()
        while not sub.closed:
            until_check = checked + settings.board_recheck_s - loop.time()
            changed = await sub.wait(max(0.0, min(settings.board_ping_s, until_check)))
            if sub.closed:
                break
            if loop.time() - checked >= settings.board_recheck_s:
                checked = loop.time()
                again = await asyncio.to_thread(console.auth.viewer, token)
                if again is None:
                    code, reason = CLOSE_NOT_AUTHENTICATED, "session ended"
                    break
                board.viewer = again
            if not changed:
                await websocket.send_text(json.dumps({"type": "ping"}))
                continue
            resync, ids = sub.take()
            await (board.snapshot() if resync else board.changes(ids))
    except Exception as e:  # the client went away mid-send: nothing left to tell it
        log.info("board socket ended: %s", type(e).__name__)
    finally:
        sub.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        with contextlib.suppress(Exception):
            await websocket.close(code, reason)


class _Board:
    """What one board socket has shown, so removals are only sent for calls its viewer saw."""

    def __init__(self, websocket: WebSocket, live: LiveCalls, viewer: Viewer) -> None:
        self.websocket, self.live, self.viewer = websocket, live, viewer
        self.shown: set[str] = set()

    def _counts(self) -> dict[str, int]:
        return counts_json(self.live.visible(self.viewer))

    async def _send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(json.dumps(message))

    async def snapshot(self) -> None:
        calls = self.live.visible(self.viewer)
        self.shown = {c.meta.call_id for c in calls}
        await self._send(
            {"type": "snapshot", "calls": [call_json(c, self.viewer) for c in calls], "counts": counts_json(calls)}
        )

    async def changes(self, call_ids: list[str]) -> None:
        for call_id in call_ids:
            call = self.live.get(call_id)
            if call is not None and can_see(self.viewer, call.meta.scope):
                self.shown.add(call_id)
                await self._send({"type": "call", "call": call_json(call, self.viewer), "counts": self._counts()})
            elif call_id in self.shown:
                self.shown.discard(call_id)
                await self._send({"type": "removed", "call_id": call_id, "counts": self._counts()})
