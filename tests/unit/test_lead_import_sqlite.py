"""The lead import's storage tests (tests/db/lead_import_contract.py) on SQLite: a migrated file in tmp_path.

The same tests run on PostgreSQL in tests/db/test_lead_import_pg.py.
"""

from __future__ import annotations

import pytest

from tests.db.lead_import_contract import LeadImportContract

pytestmark = pytest.mark.unit


class TestLeadImportSqlite(LeadImportContract):
    pass
