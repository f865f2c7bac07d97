"""The campaign service on SQLite (a migrated file in tmp_path, WAL on).

The same tests run on PostgreSQL in tests/db/test_campaigns_pg.py; they are written once in
tests/db/campaigns_contract.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database, migrate
from tests.db.campaigns_contract import CampaignContract

pytestmark = pytest.mark.unit


@pytest.fixture(scope="session")
def migrated_campaigns_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head; each test gets a copy (migrating takes longer than copying)."""
    path = tmp_path_factory.mktemp("campaigns") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")  # its engine is disposed, so the WAL is checkpointed into the file
    return path


@pytest.fixture
def db(migrated_campaigns_sqlite: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "callcenter.db"
    shutil.copyfile(migrated_campaigns_sqlite, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


class TestCampaignsSqlite(CampaignContract):
    pass
