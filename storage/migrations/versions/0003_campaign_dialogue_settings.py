"""Campaign dialogue settings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

What the robot says on the campaign's behalf (`dialogue.CampaignPolicy`: the advisor's name, the company and
product, the callback number, the AI disclosure and recording notice, handoff wait): a JSON column, empty for
existing campaigns (the policy's defaults). SQLite adds a column with a constant default in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "campaigns", sa.Column("dialogue_settings", JSON_TYPE, nullable=False, server_default=sa.text("'{}'"))
    )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("dialogue_settings")
