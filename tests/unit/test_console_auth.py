"""Console logins: passwords, the session cookie, CSRF, rate limiting, expiry, and the users an admin manages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from agent_console.passwords import LoginLimiter, Passwords
from storage.models import AuditEntry, User
from storage.models.base import utcnow
from storage.models.people import LoginSession
from tests.unit.test_console_support import FAST_HASHING, PASSWORD, console_world, login

pytestmark = pytest.mark.unit


def test_passwords_are_argon2id_and_only_the_right_one_verifies() -> None:
    passwords = Passwords(time_cost=FAST_HASHING["argon2_time_cost"], memory_kib=FAST_HASHING["argon2_memory_kib"])
    hashed = passwords.hash(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert passwords.verify(hashed, PASSWORD)
    assert not passwords.verify(hashed, PASSWORD + "!")
    assert not passwords.verify(None, PASSWORD)  # unknown user: same work, still no
    assert not passwords.verify("not-a-hash", PASSWORD)
    with pytest.raises(ValueError, match="8 to 256 characters"):
        passwords.hash("short")


def test_the_limiter_counts_failures_per_username_and_ip_within_its_window() -> None:
    now = [0.0]
    limiter = LoginLimiter(3, 60.0, clock=lambda: now[0])
    key, other_ip = ("ann", "10.0.0.1"), ("ann", "10.0.0.2")
    for _ in range(3):
        assert limiter.retry_after_s(key) is None
        limiter.failed(key)
    assert limiter.retry_after_s(key) == pytest.approx(60.0)
    assert limiter.retry_after_s(other_ip) is None
    now[0] = 30.0
    assert limiter.retry_after_s(key) == pytest.approx(30.0)
    now[0] = 60.5
    assert limiter.retry_after_s(key) is None
    limiter.failed(key)
    limiter.succeeded(key)
    assert limiter.retry_after_s(key) is None


def test_login_sets_an_httponly_samesite_strict_cookie_and_logout_ends_the_session(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        client = world.as_user(None)
        assert client.get("/api/me").json()["error"] == "not_authenticated"
        response = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["user"] == {
            "id": world.ids["ann"],
            "username": "ann",
            "role": "agent",
            "active": True,
            "teams": [{"id": world.ids["red"], "name": "red"}],
        }
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("cc_session=")
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "samesite=strict", "path=/"} <= flags
        assert "secure" not in flags  # plain http here; https below
        token = client.cookies["cc_session"]
        assert len(token) >= 43
        with world.console.db.read() as s:
            stored = s.scalars(select(LoginSession.token_hash)).all()
        assert token not in stored and len(stored) == 1  # only its hash is kept

        me = client.get("/api/me").json()
        assert me["user"]["username"] == "ann" and me["csrf_token"] == body["csrf_token"]
        response = client.post("/api/logout", headers={"X-CSRF-Token": body["csrf_token"]})
        assert response.status_code == 204
        assert client.get("/api/me").status_code == 401
        with world.console.db.read() as s:
            actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["login", "logout"]


def test_the_cookie_is_secure_over_https(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        client = world.as_user(None)
        client.base_url = client.base_url.copy_with(scheme="https")
        response = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
        assert "secure" in {p.strip().lower() for p in response.headers["set-cookie"].split(";")}


def test_wrong_password_unknown_user_and_inactive_user_are_all_401(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        client = world.as_user(None)
        for username, password in (("ann", "wrong password"), ("nobody", PASSWORD)):
            response = client.post("/api/login", json={"username": username, "password": password})
            assert (response.status_code, response.json()["error"]) == (401, "invalid_credentials")
            assert "set-cookie" not in response.headers
        with world.console.db.transaction() as s:
            s.execute(update(User).where(User.username == "bob").values(active=False))
        response = client.post("/api/login", json={"username": "bob", "password": PASSWORD})
        assert response.status_code == 401


def test_logins_are_rate_limited_per_username_and_ip(tmp_path: Path) -> None:
    with console_world(tmp_path, login_max_failures=3) as world:
        client = world.as_user(None)
        for _ in range(3):
            assert client.post("/api/login", json={"username": "ann", "password": "nope nope"}).status_code == 401
        response = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
        assert response.status_code == 429
        assert response.json()["error"] == "rate_limited" and int(response.headers["retry-after"]) > 0
        assert client.post("/api/login", json={"username": "bob", "password": PASSWORD}).status_code == 200


def test_changes_without_the_csrf_token_are_refused(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        client = world.as_user("admin")
        new_team = {"name": "green"}
        no_token = client.post("/api/teams", json=new_team, headers={"X-CSRF-Token": ""})
        assert (no_token.status_code, no_token.json()["error"]) == (403, "csrf_missing")
        wrong = client.post("/api/teams", json=new_team, headers={"X-CSRF-Token": "guess"})
        assert (wrong.status_code, wrong.json()["error"]) == (403, "csrf_invalid")
        logout = client.post("/api/logout", headers={"X-CSRF-Token": ""})
        assert logout.status_code == 403
        foreign = client.post("/api/teams", json=new_team, headers={"Origin": "https://evil.example"})
        assert (foreign.status_code, foreign.json()["error"]) == (403, "bad_origin")
        assert client.post("/api/teams", json=new_team).status_code == 201  # with the token (login set it)
        anonymous = world.as_user(None).post("/api/teams", json=new_team)
        assert anonymous.status_code == 401


def test_sessions_end_when_idle_too_long_or_past_their_lifetime(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        client = world.as_user("ann")
        assert client.get("/api/me").status_code == 200
        idle = world.console.settings.session_idle_s
        with world.console.db.transaction() as s:
            s.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(seconds=idle + 1)))
        assert client.get("/api/me").status_code == 401

        client = world.as_user("ann")
        with world.console.db.transaction() as s:
            s.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert client.get("/api/me").status_code == 401


def test_admin_manages_users_and_deactivation_or_reset_ends_their_sessions(tmp_path: Path) -> None:
    with console_world(tmp_path) as world:
        admin = world.as_user("admin")
        created = admin.post(
            "/api/users",
            json={"username": "cat", "password": "a long password", "role": "agent", "team_ids": [world.ids["blue"]]},
        )
        assert created.status_code == 201
        cat = created.json()["user"]
        assert cat["teams"] == [{"id": world.ids["blue"], "name": "blue"}]
        taken = admin.post("/api/users", json={"username": "cat", "password": "another password"})
        assert taken.status_code == 409
        unknown_team = admin.post("/api/users", json={"username": "dan", "password": "x" * 9, "team_ids": [999]})
        assert unknown_team.status_code == 400

        cat_client = world.as_user(None)
        login(cat_client, "cat", "a long password")
        changed = admin.patch(f"/api/users/{cat['id']}", json={"role": "supervisor", "team_ids": []})
        assert changed.json()["user"]["role"] == "supervisor" and changed.json()["user"]["teams"] == []
        assert cat_client.get("/api/me").json()["user"]["role"] == "supervisor"  # read fresh on every request

        reset = admin.post(f"/api/users/{cat['id']}/password", json={"password": "a new long password"})
        assert reset.status_code == 204
        assert cat_client.get("/api/me").status_code == 401
        login(cat_client, "cat", "a new long password")
        assert admin.delete(f"/api/users/{cat['id']}").status_code == 204
        assert cat_client.get("/api/me").status_code == 401
        users = {u["username"]: u for u in admin.get("/api/users").json()["users"]}
        assert users["cat"]["active"] is False

        agent = world.as_user("ann")
        assert agent.get("/api/users").status_code == 403
        assert agent.post("/api/users", json={"username": "eve", "password": "x" * 9}).status_code == 403
        with world.console.db.read() as s:
            changes = s.scalars(select(AuditEntry).where(AuditEntry.action == "user_changed")).all()
        assert len(changes) == 4 and all(e.user_id == world.ids["admin"] for e in changes)
        assert PASSWORD not in str([e.details for e in changes])
