"""Sales-rep assignment (dialer/assignment.py) on a real PostgreSQL: the tests of tests/db/assignment_contract.py,
with more racing threads than on SQLite (PostgreSQL runs them truly concurrently: row locks, not one writer)."""

from __future__ import annotations

import pytest

from storage import Database
from tests.db.assignment_contract import AssignmentContract, AssignmentRaceContract

pytestmark = pytest.mark.db


@pytest.fixture
def db(pg_db: Database) -> Database:
    return pg_db


class TestAssignmentPostgres(AssignmentContract):
    pass


class TestAssignmentRacePostgres(AssignmentRaceContract):
    WORKERS = 8
