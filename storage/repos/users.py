"""Users, teams and the console's login sessions. Password hashing belongs to the console; storage keeps hashes.

Login sessions are looked up by the SHA-256 of the cookie's id (`token_hash`): whoever reads the table cannot log
in with what they read. Times come from the caller (`now=`) so expiry is testable.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import Role, Team, TeamMember, User
from storage.models.base import utcnow
from storage.models.people import LoginSession

__all__ = [
    "create_login_session",
    "create_team",
    "create_user",
    "delete_login_session",
    "delete_user_sessions",
    "get_user",
    "get_user_by_username",
    "list_teams",
    "list_users",
    "load_login_session",
    "purge_login_sessions",
    "set_user_teams",
    "team_members",
    "touch_login_session",
    "user_team_ids",
]


def create_user(
    session: Session, username: str, password_hash: str, *, role: Role = Role.AGENT, active: bool = True
) -> User:
    """Add a user (flushed, so `id` is set). A taken username raises `sqlalchemy.exc.IntegrityError`."""
    if not username or not password_hash:
        raise ValueError("expected a username and a password hash, got an empty one")
    user = User(username=username, password_hash=password_hash, role=Role(role), active=active)
    session.add(user)
    session.flush()
    return user


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


# -- teams ------------------------------------------------------------------------------------------------------


def create_team(session: Session, name: str) -> Team:
    """Add a team (flushed). A taken name raises `sqlalchemy.exc.IntegrityError`."""
    if not name.strip():
        raise ValueError("expected a team name, got an empty one")
    team = Team(name=name.strip())
    session.add(team)
    session.flush()
    return team


def list_teams(session: Session, ids: Iterable[int] | None = None) -> list[Team]:
    stmt = select(Team).order_by(Team.name)
    if ids is not None:
        stmt = stmt.where(Team.id.in_(list(ids)))
    return list(session.scalars(stmt))


def team_members(session: Session) -> dict[int, list[int]]:
    """team id → user ids, for every team that has members."""
    out: dict[int, list[int]] = {}
    for team_id, user_id in session.execute(
        select(TeamMember.team_id, TeamMember.user_id).order_by(TeamMember.user_id)
    ):
        out.setdefault(team_id, []).append(user_id)
    return out


def user_team_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def set_user_teams(session: Session, user_id: int, team_ids: Iterable[int]) -> None:
    """Make the user a member of exactly these teams. An unknown team id raises ValueError."""
    wanted = set(team_ids)
    known = set(session.scalars(select(Team.id).where(Team.id.in_(wanted)))) if wanted else set()
    if wanted - known:
        raise ValueError(f"expected existing team ids, got unknown {sorted(wanted - known)}")
    have = user_team_ids(session, user_id)
    if have - wanted:
        session.execute(delete(TeamMember).where(TeamMember.user_id == user_id, TeamMember.team_id.in_(have - wanted)))
    session.add_all(TeamMember(team_id=t, user_id=user_id) for t in sorted(wanted - have))
    session.flush()


# -- login sessions -----------------------------------------------------------------------------------------------


def create_login_session(
    session: Session, token_hash: str, user_id: int, csrf_token: str, *, lifetime_s: float, now: datetime | None = None
) -> LoginSession:
    now = now or utcnow()
    row = LoginSession(
        token_hash=token_hash,
        user_id=user_id,
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=lifetime_s),
    )
    session.add(row)
    session.flush()
    return row


def load_login_session(
    session: Session, token_hash: str, *, idle_s: float, now: datetime | None = None
) -> tuple[LoginSession, User] | None:
    """The live session and its active user; None when unknown, expired, idle too long, or the user is inactive."""
    now = now or utcnow()
    row = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    login, user = row
    if not user.active or login.expires_at <= now or login.last_seen_at + timedelta(seconds=idle_s) <= now:
        return None
    return login, user


def touch_login_session(session: Session, token_hash: str, *, now: datetime | None = None) -> None:
    """Record activity (the idle timeout counts from here)."""
    session.execute(
        update(LoginSession).where(LoginSession.token_hash == token_hash).values(last_seen_at=now or utcnow())
    )


def delete_login_session(session: Session, token_hash: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash))


def delete_user_sessions(session: Session, user_id: int) -> int:
    """End every session of a user (deactivation, password reset); returns how many there were."""
    result = session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_login_sessions(session: Session, *, idle_s: float, now: datetime | None = None) -> int:
    """Delete sessions past their expiry or idle too long; returns how many."""
    now = now or utcnow()
    stale = (LoginSession.expires_at <= now) | (LoginSession.last_seen_at <= now - timedelta(seconds=idle_s))
    result = session.execute(delete(LoginSession).where(stale))
    return int(getattr(result, "rowcount", 0) or 0)
