"""The db tier: storage tests against a real PostgreSQL (scripts/pg-test-server.sh starts one; `make test` does).

`CALLCENTER_TEST_PG_URL` must name it. When it is unset the PostgreSQL tests FAIL, so a run that was meant to
cover PostgreSQL cannot pass without it; set `CALLCENTER_NO_PG=1` to skip them on purpose instead. The database
the URL names is wiped: its `public` schema is dropped and migrated afresh once per session, and every table is
emptied before each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from storage import Database, migrate
from storage.models import Base

PG_URL_ENV = "CALLCENTER_TEST_PG_URL"
NO_PG_ENV = "CALLCENTER_NO_PG"


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if url:
        return url
    if os.environ.get(NO_PG_ENV) == "1":
        pytest.skip(f"{NO_PG_ENV}=1: PostgreSQL tests skipped on request")
    pytest.fail(
        f"{PG_URL_ENV} is not set: start a server with `url=$(scripts/pg-test-server.sh start)` and export it "
        f"(make test does), or set {NO_PG_ENV}=1 to skip the PostgreSQL tests explicitly"
    )


@pytest.fixture(scope="session")
def pg_migrated(pg_url: str) -> Iterator[Database]:
    """The test database, emptied and migrated to head once per session."""
    database = Database(pg_url)
    with database.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(pg_url)
    yield database
    database.dispose()


@pytest.fixture
def pg_db(pg_migrated: Database) -> Database:
    """The migrated database with every table empty and every id sequence restarted."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with pg_migrated.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return pg_migrated
