"""Webhook subscriptions, the delivery queue and real deliveries (dialer/webhooks.py) on a real PostgreSQL: the
tests of tests/db/webhooks_contract.py (concurrent senders there claim with `FOR UPDATE SKIP LOCKED`)."""

from __future__ import annotations

import pytest

from storage import Database
from tests.db.webhooks_contract import WebhooksContract

pytestmark = pytest.mark.db


@pytest.fixture
def db(pg_db: Database) -> Database:
    return pg_db


class TestWebhooksPostgres(WebhooksContract):
    pass
