"""Variant statistics for the scripts library's mining: atomic increments and snapshots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import VariantStat
from storage.models.base import utcnow
from storage.repos._sql import insert_for

__all__ = ["load_variant_stats", "upsert_variant_stats"]


def upsert_variant_stats(
    session: Session,
    script_id: str,
    variant_id: str,
    *,
    uses: int,
    conversions: int,
    increment: bool = True,
    now: datetime | None = None,
) -> None:
    """Add `uses`/`conversions` to a variant's counts (`increment=True`, safe with concurrent writers: one
    statement), or set them (`increment=False`, for restoring a snapshot). Creates the row if needed."""
    if uses < 0 or conversions < 0 or (not increment and conversions > uses):
        raise ValueError(f"expected counts >= 0 and conversions <= uses, got {uses} uses, {conversions} conversions")
    now = now or utcnow()
    stmt = insert_for(session, VariantStat).values(
        script_id=script_id, variant_id=variant_id, uses=uses, conversions=conversions, updated_at=now
    )
    new = stmt.excluded
    if increment:
        changes = {"uses": VariantStat.uses + new.uses, "conversions": VariantStat.conversions + new.conversions}
    else:
        changes = {"uses": new.uses, "conversions": new.conversions}
    session.execute(
        stmt.on_conflict_do_update(index_elements=["script_id", "variant_id"], set_={**changes, "updated_at": now})
    )


def load_variant_stats(session: Session, script_id: str | None = None) -> dict[str, dict[str, tuple[int, int]]]:
    """script id → variant id → (uses, conversions)."""
    stmt = select(VariantStat.script_id, VariantStat.variant_id, VariantStat.uses, VariantStat.conversions)
    if script_id is not None:
        stmt = stmt.where(VariantStat.script_id == script_id)
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for row in session.execute(stmt):
        out.setdefault(row.script_id, {})[row.variant_id] = (row.uses, row.conversions)
    return out
