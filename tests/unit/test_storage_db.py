"""Engines, sessions, migrations and the `db` CLI on SQLite; the models' privacy of `repr`."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError
from typer.testing import CliRunner

from storage import DEFAULT_URL, Database, make_engine, migrate, resolve_url
from storage.cli import app
from storage.models import Base, Campaign, Lead, User

pytestmark = pytest.mark.unit


def test_url_comes_from_argument_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLCENTER_DB_URL", raising=False)
    assert resolve_url() == resolve_url(DEFAULT_URL)
    monkeypatch.setenv("CALLCENTER_DB_URL", "sqlite:////tmp/x.db")
    assert resolve_url().database == "/tmp/x.db"
    assert resolve_url("sqlite:///y.db").database == "y.db"
    assert resolve_url("postgresql://u:pw@db:5432/cc").drivername == "postgresql+psycopg"
    assert resolve_url("postgres://u@db/cc").drivername == "postgresql+psycopg"
    assert resolve_url("postgresql+psycopg://u@db/cc").drivername == "postgresql+psycopg"


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'cc.db'}", busy_timeout_s=2.5)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "dir" / "cc.db").exists()


def test_writers_take_the_lock_at_begin_and_readers_never_wait(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    migrate.upgrade(url)
    db = Database(url, busy_timeout_s=0.2)
    try:
        with db.transaction() as writer:
            writer.add(User(username="w", password_hash="h"))
            writer.flush()
            with db.read() as reader:  # WAL: a reader sees the last commit while a writer works
                assert reader.scalar(text("SELECT count(*) FROM users")) == 0
            with pytest.raises(OperationalError, match="locked"), db.transaction() as other:
                other.execute(text("SELECT 1"))  # BEGIN IMMEDIATE waits for the writer, then gives up
        with db.read() as reader:
            assert reader.scalar(text("SELECT count(*) FROM users")) == 1
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), db.transaction() as s:
            s.add(Lead(campaign_id=42, phone_e164="+4930123456"))
    finally:
        db.dispose()


def test_migrations_match_the_models_and_go_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("call_attempts")}
            assert {"uq_call_attempts_open_lead", "ix_call_attempts_lease"} <= indexes
        migrate.downgrade(url, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()


def test_cli_upgrade_and_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    before = runner.invoke(app, ["current", "--url", url])
    assert before.exit_code == 1 and "none (empty database)" in before.output
    up = runner.invoke(app, ["upgrade", "--url", url])
    assert up.exit_code == 0 and f"at revision {migrate.head()}" in up.output
    monkeypatch.setenv("CALLCENTER_DB_URL", url)
    after = runner.invoke(app, ["current"])
    assert after.exit_code == 0 and f"revision {migrate.head()}, code head {migrate.head()}" in after.output


def test_cli_reports_an_unreachable_database_without_its_password() -> None:
    url = "postgresql://caller:s3cret@127.0.0.1:1/callcenter"  # nothing listens on port 1
    result = CliRunner().invoke(app, ["current", "--url", url])
    assert result.exit_code == 2
    assert "error: postgresql+psycopg://caller:***@127.0.0.1:1/callcenter" in result.output
    assert "s3cret" not in result.output


def test_repr_shows_no_personal_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        with db.transaction() as s:
            campaign = Campaign(name="c", script_id="s", language="en")
            s.add(campaign)
            s.flush()
            lead = Lead(campaign_id=campaign.id, phone_e164="+4930987654", name="Erika Mustermann")
            assert "+49" not in repr(lead) and "Erika" not in repr(lead)
            s.add(lead)
            s.flush()
            assert repr(lead) == f"<Lead {lead.id}>"
    finally:
        db.dispose()
    for mapper in Base.registry.mappers:  # no model overrides the base's repr
        assert "__repr__" not in vars(mapper.class_), mapper.class_.__name__
