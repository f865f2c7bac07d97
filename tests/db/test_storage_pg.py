"""Storage on a real PostgreSQL: the repository and race tests of tests/db/storage_contract.py, the migrations,
and a `kill -9` of a dialer process holding claims (that one on SQLite as well)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text, update
from sqlalchemy.engine import make_url

from storage import Database, migrate
from storage.models import AttemptState, Base, CallAttempt, Lead, LeadStatus
from storage.models.base import utcnow
from storage.repos import LEASE_EXPIRED, claim_next_attempt, expire_leases
from tests.db.storage_contract import ClaimRaceContract, RepositoryContract, make_campaign

pytestmark = pytest.mark.db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(pg_db: Database) -> Database:
    return pg_db


class TestRepositoriesPostgres(RepositoryContract):
    pass


class TestClaimRacePostgres(ClaimRaceContract):
    WORKERS = 6


@pytest.fixture
def scratch_pg_url(pg_url: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_match_the_models_and_go_down_and_up(scratch_pg_url: str) -> None:
    assert migrate.current(scratch_pg_url) is None
    migrate.upgrade(scratch_pg_url)
    assert migrate.current(scratch_pg_url) == migrate.head()
    database = Database(scratch_pg_url)
    try:
        with database.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
            columns = {c["name"]: c for c in inspect(conn).get_columns("call_records")}
            assert type(columns["transcript"]["type"]).__name__ == "JSONB"
        migrate.downgrade(scratch_pg_url, "base")
        with database.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
        migrate.upgrade(scratch_pg_url)
        assert migrate.current(scratch_pg_url) == migrate.head()
    finally:
        database.dispose()


# A dialer process: claims attempts on the campaign, reports them as one JSON line, then hangs until killed.
# mode "held": both claims committed, the second one marked dialing; mode "open": one claim, never committed.
_DIALER = """
import json, sys, time
from storage import Database
from storage.repos import claim_next_attempt, mark_dialing
url, campaign_id, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
db = Database(url)
if mode == "held":
    with db.transaction() as s:
        a = claim_next_attempt(s, campaign_id, "doomed", lease_s=60)
        b = claim_next_attempt(s, campaign_id, "doomed", lease_s=60)
        mark_dialing(s, b.attempt_id, "doomed")
    print(json.dumps({"undialed": a.attempt_id, "dialing": b.attempt_id, "dialing_lead": b.lead_id}), flush=True)
else:
    s = db.sessionmaker()
    s.begin()
    a = claim_next_attempt(s, campaign_id, "doomed", lease_s=60)
    print(json.dumps({"uncommitted": a.attempt_id, "lead": a.lead_id}), flush=True)
time.sleep(600)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Database]]:
    if request.param == "postgresql":
        database = request.getfixturevalue("pg_db")
        yield request.getfixturevalue("pg_url"), database
        return
    url = f"sqlite:///{tmp_path / 'callcenter.db'}"
    migrate.upgrade(url)
    database = Database(url)
    yield url, database
    database.dispose()


def _run_dialer_and_kill(url: str, campaign_id: int, mode: str) -> dict[str, int]:
    with subprocess.Popen(
        [sys.executable, "-c", _DIALER, url, str(campaign_id), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line, "the dialer process exited before claiming"
            return dict(json.loads(line))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_kill_9_with_committed_claims(any_db: tuple[str, Database]) -> None:
    """After kill -9: the undialed claim is taken over once, the dialing one is ended, its lead gets attempt 2."""
    url, db = any_db
    cid = make_campaign(db, leads=4)
    with db.transaction() as s:
        s.execute(update(Lead).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    held = _run_dialer_and_kill(url, cid, "held")
    later = utcnow() + timedelta(seconds=61)  # past the dead dialer's leases
    with db.transaction() as s:
        expired = expire_leases(s, now=later)
    assert [e.attempt_id for e in expired] == [held["dialing"]]
    claims = []
    with db.transaction() as s:
        while (c := claim_next_attempt(s, cid, "restarted", lease_s=30, now=later)) is not None:
            claims.append(c)
    assert [c.attempt_id for c in claims if c.reclaimed] == [held["undialed"]]
    assert sorted((c.lead_id, c.attempt_no) for c in claims if c.lead_id == held["dialing_lead"]) == [
        (held["dialing_lead"], 2)
    ]
    with db.read() as s:
        attempts = s.execute(select(CallAttempt.lead_id, CallAttempt.attempt_no, CallAttempt.state)).all()
        leads = {lead.id: lead for lead in s.scalars(select(Lead))}
        dialing = s.get_one(CallAttempt, held["dialing"])
    assert (dialing.state, dialing.disposition) == (AttemptState.ENDED, LEASE_EXPIRED)
    for lead_id, lead in leads.items():  # every lead: its attempt count matches its attempt rows, none lost
        assert lead.attempts == sum(1 for a in attempts if a.lead_id == lead_id)
        assert lead.status is LeadStatus.CALLING
    assert len(attempts) == 5 and len({(a.lead_id, a.attempt_no) for a in attempts}) == 5


def test_kill_9_inside_a_claim_transaction_loses_nothing(any_db: tuple[str, Database]) -> None:
    """A dialer killed before committing its claim leaves no trace: the lead is claimed afresh as attempt 1."""
    url, db = any_db
    cid = make_campaign(db, leads=1)
    with db.transaction() as s:
        s.execute(update(Lead).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    doomed = _run_dialer_and_kill(url, cid, "open")
    with db.transaction() as s:  # SQLite: the dead process's write lock is gone; PostgreSQL: its row locks too
        c = claim_next_attempt(s, cid, "restarted", lease_s=30)
        assert c is not None and (c.lead_id, c.attempt_no, c.reclaimed) == (doomed["lead"], 1, False)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CallAttempt)) == 1
