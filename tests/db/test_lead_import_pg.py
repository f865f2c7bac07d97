"""The lead import's storage tests (tests/db/lead_import_contract.py) on a real PostgreSQL."""

from __future__ import annotations

import pytest

from storage import Database
from tests.db.lead_import_contract import LeadImportContract

pytestmark = pytest.mark.db


@pytest.fixture
def db(pg_db: Database) -> Database:
    return pg_db


class TestLeadImportPostgres(LeadImportContract):
    pass
