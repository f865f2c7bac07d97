"""Users: create one, find one by username. Password hashing belongs to the console."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Role, User

__all__ = ["create_user", "get_user_by_username"]


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
