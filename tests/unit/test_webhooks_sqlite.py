"""Webhook subscriptions, the delivery queue and real deliveries (dialer/webhooks.py) on SQLite (a migrated file in
tmp_path, WAL on). The same tests run on PostgreSQL in tests/db/test_webhooks_pg.py; they are written once in
tests/db/webhooks_contract.py.
"""

from __future__ import annotations

import pytest

from tests.db.webhooks_contract import WebhooksContract

pytestmark = pytest.mark.unit


class TestWebhooksSqlite(WebhooksContract):
    pass
