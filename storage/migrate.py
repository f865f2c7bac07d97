"""Alembic, driven from code: `upgrade(url)` for tests, the CLI and service start-up.

The Alembic configuration is built here (script location: `storage/migrations`), so installed copies need no
`alembic.ini`; `storage/alembic.ini` exists for developers running `alembic` itself (e.g. `revision
--autogenerate`). The URL is resolved like everywhere else (`storage.db.resolve_url`).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from storage.db import make_engine, resolve_url

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current", "downgrade", "head", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic `Config` for our migrations against `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py reads the URL from here; rendering keeps the password (Config interpolates '%', hence the escape)
    rendered = resolve_url(url).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Migrate the database at `url` (default: `$CALLCENTER_DB_URL`, else the SQLite file) up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | URL | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str | URL | None = None) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision in the code."""
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if revision is None:
        raise RuntimeError("expected one migration head, found none")
    return revision
