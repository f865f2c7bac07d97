"""The console's parts, built once per app (`app.state.console`), and the FastAPI dependencies that reach them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from agent_console.audit import Auditor
from agent_console.auth import COOKIE_NAME, Authenticator, check_csrf, same_origin
from agent_console.errors import ApiError
from agent_console.live import LiveCalls
from agent_console.passwords import LoginLimiter, Passwords
from agent_console.policy import Viewer, is_staff
from agent_console.recommendations import RecommendationDesk
from agent_console.settings import ConsoleSettings
from storage import Database
from storage.models import Role

__all__ = [
    "AdminDep",
    "Console",
    "ConsoleDep",
    "StaffDep",
    "ViewerDep",
    "current_viewer",
    "get_console",
    "require_admin",
    "require_staff",
]


class Console:
    """Everything a route needs: the database, live calls, logins, the audit log and recommendations."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.live = LiveCalls(settings.registry)
        self.passwords = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
        limiter = LoginLimiter(settings.login_max_failures, settings.login_window_s)
        self.auth = Authenticator(self.db, settings, self.passwords, limiter)
        self.auditor = Auditor(self.db)
        self.recommendations = RecommendationDesk(settings.recommender_factory)

    def close(self) -> None:
        self.auditor.close()
        self.db.dispose()


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]


def current_viewer(request: Request, console: ConsoleDep) -> Viewer:
    """The logged-in viewer (401 otherwise); on a state-changing request also the Origin and CSRF checks (403)."""
    if not same_origin(request.headers):
        raise ApiError(403, "bad_origin", "the request came from another origin")
    viewer = console.auth.viewer(request.cookies.get(COOKIE_NAME))
    if viewer is None:
        raise ApiError.not_authenticated()
    check_csrf(request.method, request.headers, viewer)
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def require_staff(viewer: ViewerDep) -> Viewer:
    if not is_staff(viewer):
        raise ApiError.forbidden("supervisors and admins only")
    return viewer


def require_admin(viewer: ViewerDep) -> Viewer:
    if viewer.role != Role.ADMIN:
        raise ApiError.forbidden("admins only")
    return viewer


StaffDep = Annotated[Viewer, Depends(require_staff)]
AdminDep = Annotated[Viewer, Depends(require_admin)]
