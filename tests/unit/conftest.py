"""Fixtures the unit tier shares: a migrated SQLite database per test (storage, campaigns, dialer, reps, webhooks).

The storage contract tests (tests/db/*_contract.py) run on it here and on PostgreSQL in tests/db/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database, migrate


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head; each test gets a copy (migrating takes longer than copying)."""
    path = tmp_path_factory.mktemp("storage") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")  # its engine is disposed, so the WAL is checkpointed into the file
    return path


@pytest.fixture
def db(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite file (WAL on) in the test's tmp_path."""
    path = tmp_path / "callcenter.db"
    shutil.copyfile(migrated_sqlite, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()
