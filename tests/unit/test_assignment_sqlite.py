"""Sales-rep assignment (dialer/assignment.py) on SQLite: a migrated file in tmp_path, WAL on.

The same tests run on PostgreSQL in tests/db/test_assignment_pg.py; they are written once in
tests/db/assignment_contract.py.
"""

from __future__ import annotations

import pytest

from tests.db.assignment_contract import AssignmentContract, AssignmentRaceContract

pytestmark = pytest.mark.unit


class TestAssignmentSqlite(AssignmentContract):
    pass


class TestAssignmentRaceSqlite(AssignmentRaceContract):
    pass
