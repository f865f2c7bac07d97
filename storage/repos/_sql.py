"""Dialect helpers the repositories share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_for(session: Session, model: type[Base]) -> Any:
    """`INSERT` with `on_conflict_do_nothing` / `on_conflict_do_update` (SQLite and PostgreSQL spell it alike)."""
    name = dialect_name(session)
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"expected sqlite or postgresql, got {name}")


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
