"""Engines and sessions from one URL: SQLite (WAL) by default, PostgreSQL (psycopg 3) by URL.

The URL comes from the caller, else `CALLCENTER_DB_URL`, else `sqlite:///./data/callcenter.db`.
`postgresql://…` URLs are routed to psycopg 3 (`postgresql+psycopg://…`).

SQLite: every connection gets `journal_mode=WAL` (readers never block the writer), `foreign_keys=ON`, a busy
timeout, and `synchronous=NORMAL` (safe with WAL: a power cut may lose the last commits, never corrupt). Python's
sqlite3 module starts transactions lazily, at the first write, so a transaction that reads and then writes can
fail at once with "database is locked" when another writer got there first (WAL snapshots cannot be upgraded).
We therefore open transactions ourselves: `Database.transaction()` begins `IMMEDIATE` (takes the write lock
up front, waiting up to the busy timeout), `Database.read()` begins a plain deferred snapshot.

Sessions are synchronous. Async code calls storage through a thread so the event loop never waits on disk or
network I/O (STYLE 10):

    def _claim() -> Claim | None:
        with db.transaction() as s:
            return claim_next_attempt(s, campaign_id, worker_id, lease_s=30)

    claim = await asyncio.to_thread(_claim)

A long-running service with many callers may pass its own bounded `ThreadPoolExecutor` to
`loop.run_in_executor` instead; size it to the engine's pool (`pool_size` + `max_overflow`) so threads never
queue on connections. Never share one Session between threads; ORM objects returned from a finished session are
detached (attributes already loaded stay readable; `expire_on_commit=False`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["DEFAULT_URL", "ENV_URL", "Database", "make_engine", "resolve_url"]

ENV_URL = "CALLCENTER_DB_URL"
DEFAULT_URL = "sqlite:///./data/callcenter.db"
_BEGIN_OPTION = "callcenter_sqlite_begin"


def resolve_url(url: str | URL | None = None) -> URL:
    """The URL to use: the argument, else `$CALLCENTER_DB_URL`, else the default SQLite file.

    A bare `postgresql://` (or `postgres://`) URL is routed to psycopg 3.
    """
    parsed = make_url(url if url is not None else os.environ.get(ENV_URL) or DEFAULT_URL)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(
    url: str | URL | None = None,
    *,
    busy_timeout_s: float = 10.0,
    foreign_keys: bool = True,
    echo: bool = False,
    **kwargs: Any,
) -> Engine:
    """An engine for `url` (see `resolve_url`), with the SQLite settings described in the module docstring.

    `foreign_keys=False` is for migrations only: SQLite's batch mode recreates tables, which enforced foreign
    keys would block. Extra keyword arguments go to `create_engine` (pool sizes and the like).
    """
    parsed = resolve_url(url)
    # errors never quote a statement's parameters: they hold phone numbers, names and transcripts
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, echo=echo, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    # the pool hands each connection to one thread at a time; sqlite3's own thread check would refuse that
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", busy_timeout_s)
    engine = create_engine(parsed, echo=echo, connect_args=connect_args, **kwargs)
    _install_sqlite_hooks(engine, busy_timeout_ms=int(busy_timeout_s * 1000), foreign_keys=foreign_keys)
    return engine


def _install_sqlite_hooks(engine: Engine, *, busy_timeout_ms: int, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # autocommit mode at the driver level: we emit BEGIN ourselves in _on_begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine and its session factories.

    `transaction()` is the way to write (and to read-then-write); `read()` is for read-only work. On SQLite the
    first takes the single write lock at BEGIN; on PostgreSQL both are ordinary READ COMMITTED transactions.
    """

    def __init__(self, url: str | URL | None = None, *, engine: Engine | None = None, **engine_kwargs: Any) -> None:
        self.engine = engine if engine is not None else make_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        reader = self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}) if self.is_sqlite else self.engine
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._read_sessionmaker = sessionmaker(bind=reader, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back if it raises."""
        with self.sessionmaker() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; closed (its transaction rolled back) at the end, loaded objects stay readable."""
        with self._read_sessionmaker() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection (call before the process exits or forks)."""
        self.engine.dispose()
