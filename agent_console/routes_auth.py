"""`POST /api/login`, `POST /api/logout`, `GET /api/me` (docs/console-api.md, "Auth")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agent_console.auth import COOKIE_NAME, same_origin
from agent_console.context import ConsoleDep, ViewerDep
from agent_console.errors import ApiError
from agent_console.settings import ConsoleSettings
from storage.repos.audit import AuditAction

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["auth"])


class LoginBody(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


def _secure(settings: ConsoleSettings, request: Request) -> bool:
    return settings.secure_cookies if settings.secure_cookies is not None else request.url.scheme == "https"


@router.post("/login", summary="Log in: sets the session cookie, returns the user and the CSRF token")
def login(body: LoginBody, request: Request, console: ConsoleDep) -> JSONResponse:
    if not same_origin(request.headers):
        raise ApiError(403, "bad_origin", "the request came from another origin")
    client_ip = request.client.host if request.client else "-"
    result = console.auth.login(body.username, body.password, client_ip)
    console.auditor.write(result.viewer.user_id, AuditAction.LOGIN)
    response = JSONResponse({"user": result.user, "csrf_token": result.viewer.csrf_token})
    response.set_cookie(
        COOKIE_NAME,
        result.token,
        max_age=int(console.settings.session_lifetime_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(console.settings, request),
    )
    return response


@router.post("/logout", status_code=204, summary="Log out: ends the session (CSRF)")
def logout(request: Request, viewer: ViewerDep, console: ConsoleDep) -> Response:
    console.auth.logout(viewer)
    console.auditor.write(viewer.user_id, AuditAction.LOGOUT)
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=_secure(console.settings, request)
    )
    return response


@router.get("/me", summary="The logged-in user and the session's CSRF token")
def me(viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    return {"user": console.auth.me(viewer), "csrf_token": viewer.csrf_token}
