"""`create_app(settings) -> FastAPI`: the agent console, its REST API, its WebSockets and the UI's static files.

    app = create_app(ConsoleSettings(database_url="sqlite:///./data/cc.db", recommender_factory=build))
    console = app.state.console                         # the dialer registers live calls here:
    with console.live.serving(meta, session): ...       # CallSession(..., recommend=console.recommendations.hook(meta))

Contract for the UI: docs/console-api.md. Operations: docs/console.md.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import make_asgi_app
from starlette.routing import Route

from agent_console import routes_admin, routes_auth, routes_calls, routes_campaigns, routes_history, routes_imports
from agent_console.context import Console
from agent_console.errors import install_error_handler
from agent_console.media_ws import authorize_connection, media_router
from agent_console.settings import ConsoleSettings
from agent_console.sockets import ConsoleHooks, authorizer, board_router
from storage.migrate import upgrade

__all__ = ["CSP", "create_app"]

log = logging.getLogger(__name__)

# The system's MIME table may lack these (or say text/plain): ES modules must be served as JavaScript.
for _type, _ext in (("text/javascript", ".js"), ("text/javascript", ".mjs"), ("text/css", ".css")):
    mimetypes.add_type(_type, _ext)
mimetypes.add_type("audio/wav", ".wav")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# FastAPI's Swagger page is one inline script plus its bundle from a CDN: it gets a policy of its own.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """Pure ASGI middleware (it never buffers a body, and lets WebSockets pass untouched)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = [
            (b"content-security-policy", (DOCS_CSP if path.startswith("/docs") else CSP).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if path.startswith("/api/"):
            headers.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AsgiEndpoint:
    """An ASGI app served at one exact path (`Mount` wants a trailing slash; a plain function would be taken for a
    request handler)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    if settings.migrate:
        upgrade(settings.database_url)
    console = Console(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Build the recommender now (seconds of encoding, in a thread) so the first call's answers are not late.
        build = asyncio.create_task(asyncio.to_thread(console.recommendations.build), name="console-recommender-build")
        build.add_done_callback(_log_build_failure)
        try:
            yield
        finally:
            await console.live.aclose()
            console.close()

    app = FastAPI(
        title="Agent console",
        summary="Live board, call control, history and administration for the AI call center",
        version="1",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.console = console
    install_error_handler(app)
    app.add_middleware(SecurityHeaders)
    # routes_campaigns before routes_admin: its campaign and script routes replace admin's older ones (same paths)
    routers = (routes_auth, routes_calls, routes_history, routes_campaigns, routes_imports, routes_admin)
    for module in routers:
        app.include_router(module.router)
    if settings.metrics_registry is not None:
        # unauthenticated, like any Prometheus exporter: labels carry no personal data; restrict by network
        exporter = AsgiEndpoint(make_asgi_app(settings.metrics_registry))
        app.router.routes.append(Route("/metrics", exporter, methods=["GET"], name="metrics", include_in_schema=False))
    hooks = ConsoleHooks(console)
    app.include_router(board_router(console))
    app.include_router(media_router(settings.registry, hooks))
    app.dependency_overrides[authorize_connection] = authorizer(console, hooks)
    if settings.static_dir is not None:
        # check_dir=False: the UI's folder may not exist yet; `/` then answers 404
        app.mount("/", StaticFiles(directory=settings.static_dir, html=True, check_dir=False), name="static")
    return app


def _log_build_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("recommender build failed: %s", type(task.exception()).__name__)
