"""Logins, server-side sessions and CSRF.

- The cookie `cc_session` carries a random 256-bit id; the database keeps its SHA-256 (`storage` `login_sessions`)
  with the session's CSRF token, absolute expiry and last use (idle timeout).
- CSRF: synchronizer token. `POST /api/login` and `GET /api/me` return the session's `csrf_token`; every
  POST/PUT/PATCH/DELETE must echo it in `X-CSRF-Token` (403 `csrf_missing` / `csrf_invalid` otherwise).
- A request whose `Origin` names another host is refused (403 `bad_origin`).
Everything here is synchronous (database, argon2): FastAPI runs these dependencies in its thread pool.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from agent_console.errors import ApiError
from agent_console.passwords import LoginLimiter, Passwords
from agent_console.policy import Viewer
from agent_console.settings import ConsoleSettings
from storage import Database
from storage.models import Role, Team, User
from storage.models.base import utcnow
from storage.repos.users import (
    create_login_session,
    delete_login_session,
    get_user_by_username,
    list_teams,
    load_login_session,
    touch_login_session,
    user_team_ids,
)

__all__ = [
    "COOKIE_NAME",
    "CSRF_HEADER",
    "UNSAFE_METHODS",
    "Authenticator",
    "LoginResult",
    "check_csrf",
    "same_origin",
    "token_hash",
    "user_json",
]

COOKIE_NAME = "cc_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_origin(headers: Mapping[str, str]) -> bool:
    """No `Origin` (same-origin GETs, non-browser clients) or one whose host:port is this request's `Host`."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return origin != "null" and bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def check_csrf(method: str, headers: Mapping[str, str], viewer: Viewer) -> None:
    if method.upper() not in UNSAFE_METHODS:
        return
    sent = headers.get(CSRF_HEADER.lower())
    if not sent:
        raise ApiError(403, "csrf_missing", f"a state-changing request needs the {CSRF_HEADER} header")
    if not hmac.compare_digest(sent.encode(), viewer.csrf_token.encode()):
        raise ApiError(403, "csrf_invalid", f"the {CSRF_HEADER} header does not match this session")


def user_json(user: User, teams: list[Team]) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": Role(user.role).value,
        "active": user.active,
        "teams": [{"id": t.id, "name": t.name} for t in teams],
    }


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str  # for the cookie only: never logged, never stored
    viewer: Viewer
    user: dict[str, Any]


class Authenticator:
    def __init__(self, db: Database, settings: ConsoleSettings, passwords: Passwords, limiter: LoginLimiter) -> None:
        self.db, self.settings, self.passwords, self.limiter = db, settings, passwords, limiter

    def login(self, username: str, password: str, client_ip: str) -> LoginResult:
        """Check the password and open a session. 429 when rate limited, 401 for any wrong or inactive login."""
        key = (username.casefold(), client_ip)
        wait_s = self.limiter.retry_after_s(key)
        if wait_s is not None:
            retry = max(1, round(wait_s + 0.5))
            raise ApiError(
                429,
                "rate_limited",
                f"too many failed logins: try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        with self.db.read() as s:
            user = get_user_by_username(s, username)
        if not self.passwords.verify(user.password_hash if user else None, password) or user is None or not user.active:
            self.limiter.failed(key)
            raise ApiError(401, "invalid_credentials", "wrong username or password")
        self.limiter.succeeded(key)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        rehash = self.passwords.hash(password) if self.passwords.needs_rehash(user.password_hash) else None
        with self.db.transaction() as s:
            if rehash is not None:
                stored = s.get(User, user.id)
                assert stored is not None
                stored.password_hash = rehash
            create_login_session(s, token_hash(token), user.id, csrf, lifetime_s=self.settings.session_lifetime_s)
            team_ids = user_team_ids(s, user.id)
            teams = list_teams(s, team_ids)
        viewer = Viewer(user.id, user.username, Role(user.role), frozenset(team_ids), token_hash(token), csrf)
        return LoginResult(token, viewer, user_json(user, teams))

    def viewer(self, token: str | None) -> Viewer | None:
        """The viewer behind a session cookie; None when there is none, or it expired or was revoked."""
        if not token or len(token) > 128:
            return None
        hashed = token_hash(token)
        now = utcnow()
        with self.db.read() as s:
            found = load_login_session(s, hashed, idle_s=self.settings.session_idle_s, now=now)
            if found is None:
                return None
            login, user = found
            team_ids = frozenset(user_team_ids(s, user.id))
        if now - login.last_seen_at >= timedelta(seconds=self.settings.touch_every_s):
            with self.db.transaction() as s:
                touch_login_session(s, hashed, now=now)
        return Viewer(user.id, user.username, Role(user.role), team_ids, hashed, login.csrf_token)

    def me(self, viewer: Viewer) -> dict[str, Any]:
        with self.db.read() as s:
            user = s.get(User, viewer.user_id)
            assert user is not None
            return user_json(user, list_teams(s, viewer.team_ids))

    def logout(self, viewer: Viewer) -> None:
        with self.db.transaction() as s:
            delete_login_session(s, viewer.token_hash)
