"""Sales-rep assignment (dialer/assignment.py) on SQLite: a migrated file in tmp_path, WAL on.

The same tests run on PostgreSQL in tests/db/test_assignment_pg.py; they are written once in
tests/db/assignment_contract.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database, migrate
from tests.db.assignment_contract import AssignmentContract, AssignmentRaceContract

pytestmark = pytest.mark.unit


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head; each test gets a copy (migrating takes longer than copying)."""
    path = tmp_path_factory.mktemp("assignment") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "callcenter.db"
    shutil.copyfile(migrated_sqlite, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


class TestAssignmentSqlite(AssignmentContract):
    pass


class TestAssignmentRaceSqlite(AssignmentRaceContract):
    pass
