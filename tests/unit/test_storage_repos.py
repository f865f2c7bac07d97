"""The storage repositories and the claim races on SQLite (a migrated file in tmp_path, WAL on).

The same tests run on PostgreSQL in tests/db/test_storage_pg.py; they are written once in tests/db/storage_contract.py.
"""

from __future__ import annotations

import pytest

from tests.db.storage_contract import ClaimRaceContract, RepositoryContract

pytestmark = pytest.mark.unit


class TestRepositoriesSqlite(RepositoryContract):
    pass


class TestClaimRaceSqlite(ClaimRaceContract):
    pass
