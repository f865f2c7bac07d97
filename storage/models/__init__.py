"""The tables (SQLAlchemy 2 declarative models). `Base.metadata` is what Alembic compares migrations against."""

from storage.models.base import (
    AttemptState,
    Base,
    CampaignStatus,
    DeliveryStatus,
    LeadStatus,
    Role,
    UTCDateTime,
    utcnow,
)
from storage.models.calls import CallAttempt, CallRecord, TranscriptTurn
from storage.models.campaigns import (
    Campaign,
    DoNotCall,
    ExistingCustomer,
    FollowUp,
    ImportBatch,
    ImportRowReport,
    Lead,
    LeadAssignment,
)
from storage.models.integrations import VariantStat, Webhook, WebhookDelivery
from storage.models.people import AuditEntry, SalesRep, Team, TeamMember, User

__all__ = [
    "AttemptState",
    "AuditEntry",
    "Base",
    "CallAttempt",
    "CallRecord",
    "Campaign",
    "CampaignStatus",
    "DeliveryStatus",
    "DoNotCall",
    "ExistingCustomer",
    "FollowUp",
    "ImportBatch",
    "ImportRowReport",
    "Lead",
    "LeadAssignment",
    "LeadStatus",
    "Role",
    "SalesRep",
    "Team",
    "TeamMember",
    "TranscriptTurn",
    "UTCDateTime",
    "User",
    "VariantStat",
    "Webhook",
    "WebhookDelivery",
    "utcnow",
]
