"""The campaign service on SQLite (a migrated file in tmp_path, WAL on).

The same tests run on PostgreSQL in tests/db/test_campaigns_pg.py; they are written once in
tests/db/campaigns_contract.py.
"""

from __future__ import annotations

import pytest

from tests.db.campaigns_contract import CampaignContract

pytestmark = pytest.mark.unit


class TestCampaignsSqlite(CampaignContract):
    pass
