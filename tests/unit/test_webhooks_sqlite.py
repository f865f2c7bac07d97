"""Webhook subscriptions, the delivery queue and real deliveries (dialer/webhooks.py) on SQLite (a migrated file in
tmp_path, WAL on). The same tests run on PostgreSQL in tests/db/test_webhooks_pg.py; they are written once in
tests/db/webhooks_contract.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database, migrate
from tests.db.webhooks_contract import WebhooksContract

pytestmark = pytest.mark.unit


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head; each test gets a copy (migrating takes longer than copying)."""
    path = tmp_path_factory.mktemp("webhooks") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "callcenter.db"
    shutil.copyfile(migrated_sqlite, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


class TestWebhooksSqlite(WebhooksContract):
    pass
