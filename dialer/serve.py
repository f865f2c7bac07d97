"""The whole product in one process: the console (FastAPI on uvicorn) and a dialer that share the live calls, the
handoff desk and the metrics.

    callcenter serve --dial-plan 'sip:{digits}@trunk.example.net' --port 8000

Agents can take over only calls served by their own process (the media WebSockets attach to the call's session
in memory), so this is how a call center runs: one process per group of lines, its agents on its console. The
console shows each answered call on the live board (`LiveCalls.serving`), reports agents' availability to the
desk (`POST /api/me/availability`), which paces the dialer, and serves the dialer's metrics at `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

from agent_console.live import LiveCalls
from agent_console.settings import ConsoleSettings
from agent_console.summary import CallMeta
from dialer.placer import CallRequest
from dialer.service import DialerService, ServiceOptions

__all__ = ["call_meta", "serve"]

log = logging.getLogger(__name__)


def call_meta(request: CallRequest) -> CallMeta:
    """What the live board shows of a dialed call (the number and name are shown to viewers, never logged)."""
    meta = request.meta
    return CallMeta(
        call_id=request.call_id,
        campaign_id=request.campaign_id,
        campaign_name=meta.get("campaign_name"),
        team_id=meta.get("team_id"),
        lead_id=request.lead_id,
        attempt_id=request.attempt_id,
        lead_phone=request.phone_e164,
        lead_name=meta.get("lead_name"),
        script_id=request.script_id,
        industry=meta.get("industry"),
        language=str(meta.get("language") or "en"),
    )


async def serve(options: ServiceOptions, settings: ConsoleSettings, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve the console and dial until `stop` (calls in progress finish first), then stop the web server."""
    import uvicorn

    from agent_console.app import create_app

    service = DialerService(dataclasses.replace(options, pace_with_agents=True))
    settings.desk, settings.metrics_registry = service.desk, service.metrics.registry
    app = create_app(settings)
    live: LiveCalls = app.state.console.live

    def on_board(request: CallRequest, session: Any) -> contextlib.AbstractContextManager[Any]:
        return live.serving(call_meta(request), session)

    service.live = on_board
    # ws="websockets-sansio": uvicorn's "auto" picks websockets.legacy, deprecated in websockets 14
    server = _embedded_server_class()(
        uvicorn.Config(app, host=host, port=port, ws="websockets-sansio", log_config=None)
    )
    async with asyncio.TaskGroup() as tg:
        web = tg.create_task(server.serve(), name="console")
        try:
            await service.run(stop)
        finally:
            server.should_exit = True
            await web


def _embedded_server_class() -> type[Any]:
    import uvicorn

    class EmbeddedServer(uvicorn.Server):
        """uvicorn inside our event loop: SIGTERM/SIGINT are ours (they stop the dialer first, which then stops
        the web server), so uvicorn must not take them over."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return EmbeddedServer
