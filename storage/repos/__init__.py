"""The first operations other packages need, as plain functions over a `Session` (the caller owns the transaction)."""

from storage.repos.attempts import (
    LEASE_EXPIRED,
    Claim,
    ExpiredAttempt,
    claim_next_attempt,
    expire_leases,
    finish_attempt,
    mark_dialing,
    open_attempt_count,
    release_attempt,
    renew_lease,
)
from storage.repos.audit import AuditAction, audit_trail, record_audit
from storage.repos.lists import (
    DO_NOT_CALL,
    add_do_not_call,
    add_existing_customers,
    do_not_call_among,
    existing_customers_among,
    is_do_not_call,
)
from storage.repos.records import get_call_record, save_call_record
from storage.repos.users import create_user, get_user_by_username
from storage.repos.variants import load_variant_stats, upsert_variant_stats

__all__ = [
    "DO_NOT_CALL",
    "LEASE_EXPIRED",
    "AuditAction",
    "Claim",
    "ExpiredAttempt",
    "add_do_not_call",
    "add_existing_customers",
    "audit_trail",
    "claim_next_attempt",
    "create_user",
    "do_not_call_among",
    "existing_customers_among",
    "expire_leases",
    "finish_attempt",
    "get_call_record",
    "get_user_by_username",
    "is_do_not_call",
    "load_variant_stats",
    "mark_dialing",
    "open_attempt_count",
    "record_audit",
    "release_attempt",
    "renew_lease",
    "save_call_record",
    "upsert_variant_stats",
]
