"""The storage repositories and the claim races on SQLite (a migrated file in tmp_path, WAL on).

The same tests run on PostgreSQL in tests/db/test_storage_pg.py; they are written once in tests/db/storage_contract.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database, migrate
from tests.db.storage_contract import ClaimRaceContract, RepositoryContract

pytestmark = pytest.mark.unit


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head; each test gets a copy (migrating takes longer than copying)."""
    path = tmp_path_factory.mktemp("storage") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")  # its engine is disposed, so the WAL is checkpointed into the file
    return path


@pytest.fixture
def db(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "callcenter.db"
    shutil.copyfile(migrated_sqlite, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


class TestRepositoriesSqlite(RepositoryContract):
    pass


class TestClaimRaceSqlite(ClaimRaceContract):
    pass
