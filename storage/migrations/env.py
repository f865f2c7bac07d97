"""Alembic environment: the URL comes from the Config (`storage.migrate.alembic_config`), or else from
`$CALLCENTER_DB_URL` / the default, resolved by `storage.db.resolve_url`.

SQLite runs in batch mode (`render_as_batch`: ALTER via copy-and-rename) with foreign keys off while migrating,
as Alembic's batch mode needs. Offline mode (`alembic upgrade --sql`) prints the SQL instead of running it.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from storage.db import make_engine, resolve_url
from storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata
if config.config_file_name is not None:  # run by the `alembic` command with storage/alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Migrations must not import the models (they change; a migration is frozen): render our column type as the
    plain SQLAlchemy type it stands for."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return resolve_url(configured or None).render_as_string(hide_password=False)


def _configure(connection: Connection | None = None) -> None:
    url = _url()
    context.configure(
        connection=connection,
        url=None if connection is not None else url,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        # SQLite's DDL is transactional too: a migration that fails halfway leaves the database as it was
        transactional_ddl=True,
        compare_type=True,
        render_item=_render_item,
        literal_binds=connection is None,
    )


def run_offline() -> None:
    _configure()
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(_url(), foreign_keys=False)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
