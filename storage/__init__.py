"""Storage: SQLAlchemy 2 models, Alembic migrations and small repository functions.

SQLite (WAL) by default, PostgreSQL by URL (`CALLCENTER_DB_URL`). Sessions are synchronous; async code calls
them through `asyncio.to_thread` (see `storage.db`). Docs: docs/storage.md.
"""

from storage.db import DEFAULT_URL, ENV_URL, Database, make_engine, resolve_url

__all__ = ["DEFAULT_URL", "ENV_URL", "Database", "make_engine", "resolve_url"]
