"""The campaign service on a real PostgreSQL: the tests of tests/db/campaigns_contract.py."""

from __future__ import annotations

import pytest

from storage import Database
from tests.db.campaigns_contract import CampaignContract

pytestmark = pytest.mark.db


@pytest.fixture
def db(pg_db: Database) -> Database:
    return pg_db


class TestCampaignsPostgres(CampaignContract):
    pass
