"""Initial schema.

Users and teams, campaigns and leads, imports, do-not-call and customer lists, call attempts and records, sales
reps and assignments, follow-ups, variant stats, the audit log, webhooks and deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Generated with `alembic revision --autogenerate` from storage.models, then reviewed by hand: shared column types
named once below (the generated JSONB variant referenced an unimported `Text`), indexes created with plain
`op.create_index` (no batch mode needed for new tables), and `downgrade` reduced to dropping the tables (their
indexes go with them). The partial unique indexes are the crash-safety guarantees: one open attempt per lead,
one open assignment per lead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Frozen copies of the models' column types (storage.models.base), so later model changes cannot alter history.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "do_not_call",
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("phone_e164", name=op.f("pk_do_not_call")),
    )
    op.create_table(
        "existing_customers",
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("phone_e164", name=op.f("pk_existing_customers")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum("agent", "supervisor", "admin", name="role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "variant_stats",
        sa.Column("script_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("conversions", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("script_id", "variant_id", name=op.f("pk_variant_stats")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("script_id", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("voice_profile_id", sa.String(length=64), nullable=True),
        sa.Column("caller_id", sa.String(length=16), nullable=True),
        sa.Column("max_concurrent_calls", sa.Integer(), nullable=False),
        sa.Column("calls_per_second", sa.Float(), nullable=False),
        sa.Column(
            "calling_windows",
            JSON,
            nullable=False,
        ),
        sa.Column("retry_policy", JSON, nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "running",
                "paused",
                "stopped",
                name="campaign_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint("calls_per_second > 0", name=op.f("ck_campaigns_calls_per_second")),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_campaigns_max_attempts")),
        sa.CheckConstraint("max_concurrent_calls >= 1", name=op.f("ck_campaigns_max_concurrent_calls")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_campaigns_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_team_id"), "campaigns", ["team_id"], unique=False)

    op.create_table(
        "sales_reps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("industries", JSON, nullable=False),
        sa.Column("sales_rating", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sales_reps_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_reps")),
        sa.UniqueConstraint("user_id", name=op.f("uq_sales_reps_user_id")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_team_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_user_id"), "team_members", ["user_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "delivered", "failed", name="delivery_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", UTC_TIME, nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("delivered_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_webhook_deliveries_webhook_id_webhooks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_try_at"], unique=False)
    op.create_index(op.f("ix_webhook_deliveries_webhook_id"), "webhook_deliveries", ["webhook_id"], unique=False)

    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("default_region", sa.String(length=2), nullable=True),
        sa.Column("column_mapping", JSON, nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_kept", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("finished_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_import_batches_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_import_batches_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index(op.f("ix_import_batches_campaign_id"), "import_batches", ["campaign_id"], unique=False)

    op.create_table(
        "import_rows",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batches.id"], name=op.f("fk_import_rows_batch_id_import_batches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_rows")),
        sa.UniqueConstraint("batch_id", "row_no", name=op.f("uq_import_rows_batch_id_row_no")),
    )
    op.create_table(
        "leads",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("industry", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("custom_fields", JSON, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "calling",
                "done",
                "do_not_call",
                name="lead_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("intent_score", sa.Float(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=True),
        sa.Column("assigned_rep_id", sa.Integer(), nullable=True),
        sa.Column("protection_until", UTC_TIME, nullable=True),
        sa.Column("pool_cooldown_rep_id", sa.Integer(), nullable=True),
        sa.Column("pool_cooldown_until", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_rep_id"], ["sales_reps.id"], name=op.f("fk_leads_assigned_rep_id_sales_reps")
        ),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_leads_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_leads_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pool_cooldown_rep_id"], ["sales_reps.id"], name=op.f("fk_leads_pool_cooldown_rep_id_sales_reps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("campaign_id", "phone_e164", name=op.f("uq_leads_campaign_id_phone_e164")),
    )
    op.create_index("ix_leads_due", "leads", ["campaign_id", "status", "next_attempt_at", "id"], unique=False)
    op.create_index(op.f("ix_leads_phone_e164"), "leads", ["phone_e164"], unique=False)
    op.create_index("ix_leads_protection", "leads", ["assigned_rep_id", "protection_until"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("lead_id", BIG_ID, nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_audit_log_lead_id_leads"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_call_id"), "audit_log", ["call_id"], unique=False)
    op.create_index(op.f("ix_audit_log_lead_id"), "audit_log", ["lead_id"], unique=False)
    op.create_index("ix_audit_log_user_at", "audit_log", ["user_id", "at"], unique=False)

    op.create_table(
        "call_attempts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("lead_id", BIG_ID, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", UTC_TIME, nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("claimed", "dialing", "ended", name="attempt_state", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("disposition", sa.String(length=32), nullable=True),
        sa.Column("sip_status", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=True),
        sa.Column("answered_at", UTC_TIME, nullable=True),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_call_attempts_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_call_attempts_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempts")),
        sa.UniqueConstraint("lead_id", "attempt_no", name=op.f("uq_call_attempts_lead_id_attempt_no")),
    )
    op.create_index("ix_call_attempts_expiry", "call_attempts", ["state", "lease_expires_at"], unique=False)
    op.create_index(
        "ix_call_attempts_lease", "call_attempts", ["campaign_id", "state", "lease_expires_at", "id"], unique=False
    )
    op.create_index(
        "uq_call_attempts_open_lead",
        "call_attempts",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text("state IN ('claimed', 'dialing')"),
        postgresql_where=sa.text("state IN ('claimed', 'dialing')"),
    )

    op.create_table(
        "follow_ups",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("lead_id", BIG_ID, nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due_at", UTC_TIME, nullable=True),
        sa.Column("done_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_follow_ups_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["rep_id"], ["sales_reps.id"], name=op.f("fk_follow_ups_rep_id_sales_reps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index("ix_follow_ups_due", "follow_ups", ["rep_id", "done_at", "due_at"], unique=False)
    op.create_index(op.f("ix_follow_ups_lead_id"), "follow_ups", ["lead_id"], unique=False)

    op.create_table(
        "lead_assignments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", BIG_ID, nullable=False),
        sa.Column("assigned_at", UTC_TIME, nullable=False),
        sa.Column("protection_until", UTC_TIME, nullable=False),
        sa.Column("released_at", UTC_TIME, nullable=True),
        sa.Column("release_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_assignments_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["rep_id"], ["sales_reps.id"], name=op.f("fk_lead_assignments_rep_id_sales_reps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_assignments")),
    )
    op.create_index("ix_lead_assignments_rep", "lead_assignments", ["rep_id", "released_at"], unique=False)
    op.create_index(
        "uq_lead_assignments_open",
        "lead_assignments",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text("released_at IS NULL"),
        postgresql_where=sa.text("released_at IS NULL"),
    )

    op.create_table(
        "call_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("attempt_id", BIG_ID, nullable=False),
        sa.Column("transcript", JSON, nullable=False),
        sa.Column("timings", JSON, nullable=False),
        sa.Column("recording_path", sa.String(length=1024), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("signals", JSON, nullable=False),
        sa.Column("handoff", JSON, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["call_attempts.id"], name=op.f("fk_call_records_attempt_id_call_attempts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_records")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_call_records_attempt_id")),
    )


def downgrade() -> None:
    op.drop_table("call_records")
    op.drop_table("lead_assignments")
    op.drop_table("follow_ups")
    op.drop_table("call_attempts")
    op.drop_table("audit_log")
    op.drop_table("leads")
    op.drop_table("import_rows")
    op.drop_table("import_batches")
    op.drop_table("webhook_deliveries")
    op.drop_table("team_members")
    op.drop_table("sales_reps")
    op.drop_table("campaigns")
    op.drop_table("webhooks")
    op.drop_table("variant_stats")
    op.drop_table("users")
    op.drop_table("teams")
    op.drop_table("existing_customers")
    op.drop_table("do_not_call")
