"""The declarative base, the column types every table shares, and the enumerations stored as strings.

Times are stored in UTC and always come back timezone-aware (`UTCDateTime`), on SQLite as on PostgreSQL.
Enumerations are VARCHAR columns with a CHECK constraint (no native PostgreSQL ENUM types, which need their own
migrations). JSON is `JSONB` on PostgreSQL and `JSON` (text) on SQLite; it is not mutation-tracked: assign a new
value rather than editing one in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer, MetaData, TypeDecorator, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

__all__ = [
    "JSON_TYPE",
    "AttemptState",
    "Base",
    "BigId",
    "CampaignStatus",
    "DeliveryStatus",
    "LeadStatus",
    "Role",
    "UTCDateTime",
    "str_enum",
    "utcnow",
]

# Names for every constraint and index, so migrations (and SQLite's batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids where rows pile up (leads, attempts, audit); SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out. Naive datetimes are refused: their zone is a guess."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("expected a timezone-aware datetime, got a naive one")
        value = value.astimezone(UTC)
        # SQLite stores text; one zone and one format keep its string comparisons chronological
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A VARCHAR + CHECK column type that stores the members' values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON_TYPE,
        list[Any]: JSON_TYPE,
    }

    def __repr__(self) -> str:
        # Primary key only: rows hold phone numbers, names and transcripts, which must not reach logs.
        state = inspect(self)
        key = ",".join(map(str, state.identity)) if state.identity is not None else "transient"
        return f"<{type(self).__name__} {key}>"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class LeadStatus(StrEnum):
    """Where a lead is in the dialer's queue.

    queued: due at `next_attempt_at`; calling: an attempt holds it; done: no more calls (attempts used up or an
    outcome reached); do_not_call: the person asked not to be called (also on the do-not-call list).
    """

    QUEUED = "queued"
    CALLING = "calling"
    DONE = "done"
    DO_NOT_CALL = "do_not_call"


class AttemptState(StrEnum):
    """claimed: leased, not dialed yet (an expired lease may be re-claimed); dialing: the INVITE may have gone
    out (an expired lease ends the attempt, never re-dials it); ended: final."""

    CLAIMED = "claimed"
    DIALING = "dialing"
    ENDED = "ended"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
