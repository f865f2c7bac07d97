"""Webhooks, the pure parts (dialer/webhooks.py): payloads, the signed envelope, signature checks, the retry schedule.

The storage and delivery tests (a real HTTP receiver, retries, concurrent senders) are in
tests/db/webhooks_contract.py, run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from dialer.webhooks import (
    RetryPolicy,
    TryOutcome,
    WebhookSender,
    after_try,
    call_completed_payload,
    envelope_body,
    lead_qualified_payload,
    retry_delay_s,
    sign,
    verify_signature,
)
from storage import Database
from storage.models import DeliveryStatus, Lead

pytestmark = pytest.mark.unit

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
SECRET = "whsec-test-0123456789abcdef"
BODY = b'{"data":{"lead_id":7},"event":"call.completed","id":1}'


def stamp(at: datetime = T0) -> int:
    return int(at.timestamp())


def test_a_signature_verifies_and_matches_the_documented_recipe() -> None:
    header = sign(SECRET, BODY, timestamp_s=stamp())
    expected = hmac.new(SECRET.encode(), f"{stamp()}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={stamp()},v1={expected}"
    assert verify_signature(SECRET, header, BODY, now=T0)
    assert verify_signature(SECRET, header, BODY.decode(), now=T0 + timedelta(seconds=300))


@pytest.mark.parametrize(
    "body, secret",
    [(BODY.replace(b"7", b"8"), SECRET), (BODY + b" ", SECRET), (BODY, SECRET + "x"), (b"", SECRET)],
)
def test_a_tampered_body_or_a_wrong_secret_fails(body: bytes, secret: str) -> None:
    assert not verify_signature(secret, sign(SECRET, BODY, timestamp_s=stamp()), body, now=T0)


@pytest.mark.parametrize("offset_s", [-301, 301, 86400])
def test_a_signature_outside_the_tolerance_fails(offset_s: int) -> None:
    header = sign(SECRET, BODY, timestamp_s=stamp(T0 + timedelta(seconds=offset_s)))
    assert not verify_signature(SECRET, header, BODY, now=T0)
    assert verify_signature(SECRET, header, BODY, now=T0, tolerance_s=abs(offset_s))


def test_a_changed_timestamp_fails() -> None:
    mac = sign(SECRET, BODY, timestamp_s=stamp()).split("v1=")[1]
    assert not verify_signature(SECRET, f"t={stamp() + 1},v1={mac}", BODY, now=T0)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "v1=abc",
        "t=123",
        "t=abc,v1=00",
        "t=-5,v1=00",
        f"t={stamp()},t={stamp()},v1=00",
        f"t={stamp()};v1=00",
    ],
)
def test_malformed_headers_fail(header: str) -> None:
    assert not verify_signature(SECRET, header, BODY, now=T0)


def test_any_v1_entry_may_match_during_secret_rotation() -> None:
    good = sign(SECRET, BODY, timestamp_s=stamp()).split("v1=")[1]
    assert verify_signature(SECRET, f"t={stamp()},v1={'0' * 64},v1={good}", BODY, now=T0)
    assert verify_signature(SECRET, f"t={stamp()}, v1={good}, v0=legacy", BODY, now=T0)


def test_the_envelope_is_compact_sorted_utf8_json() -> None:
    body = envelope_body(17, "lead.qualified", T0, {"grade": "A", "contact": {"name": "张伟"}})
    assert (
        body
        == (
            '{"created_at":"2030-03-04T09:00:00Z","data":{"contact":{"name":"张伟"},"grade":"A"},'
            '"event":"lead.qualified","id":17}'
        ).encode()
    )
    assert envelope_body(17, "lead.qualified", T0, {"contact": {"name": "张伟"}, "grade": "A"}) == body


def test_call_completed_payload_holds_no_personal_data() -> None:
    payload = call_completed_payload(
        attempt_id=3,
        lead_id=7,
        campaign_id=2,
        attempt_no=1,
        disposition="answered",
        sip_status=200,
        outcome="callback",
        grade="B",
        score=0.62,
        started_at=T0,
        answered_at=T0 + timedelta(seconds=8),
        ended_at=T0 + timedelta(seconds=95, microseconds=500000),
        duration_s=87.5,
        retry_at=T0 + timedelta(days=1),
    )
    assert payload == {
        "attempt_id": 3,
        "lead_id": 7,
        "campaign_id": 2,
        "attempt_no": 1,
        "disposition": "answered",
        "sip_status": 200,
        "outcome": "callback",
        "grade": "B",
        "score": 0.62,
        "started_at": "2030-03-04T09:00:00Z",
        "answered_at": "2030-03-04T09:00:08Z",
        "ended_at": "2030-03-04T09:01:35.500000Z",
        "duration_s": 87.5,
        "retry_at": "2030-03-05T09:00:00Z",
    }
    with pytest.raises(ValueError):
        call_completed_payload(
            attempt_id=1, lead_id=1, campaign_id=1, attempt_no=1, disposition="x", ended_at=T0.replace(tzinfo=None)
        )


def test_lead_qualified_payload_carries_the_contact_only() -> None:
    lead = Lead(
        id=7,
        campaign_id=2,
        phone_e164="+4930123456",
        name="Ana Silva",
        company="Harbor",
        industry="insurance",
        region="DE-BE",
        grade="A",
        intent_score=0.91,
        category="potential",
        assigned_rep_id=4,
        custom_fields={"notes": "private"},
    )
    payload = lead_qualified_payload(lead, qualified_at=T0, attempt_id=31)
    assert payload == {
        "lead_id": 7,
        "campaign_id": 2,
        "attempt_id": 31,
        "grade": "A",
        "score": 0.91,
        "category": "potential",
        "qualified_at": "2030-03-04T09:00:00Z",
        "assigned_rep_id": 4,
        "contact": {
            "phone_e164": "+4930123456",
            "name": "Ana Silva",
            "company": "Harbor",
            "industry": "insurance",
            "region": "DE-BE",
        },
    }
    assert "private" not in json.dumps(payload)


def test_retry_delays_double_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy()
    assert [retry_delay_s(n, policy, 0.0) for n in range(1, 11)] == [
        10.0,
        20.0,
        40.0,
        80.0,
        160.0,
        320.0,
        640.0,
        1280.0,
        2560.0,
        3600.0,
    ]
    assert retry_delay_s(3, policy, 0.999) == pytest.approx(40 * (1 - 0.25 * 0.999))
    assert retry_delay_s(500, policy, 0.5) == 3600 * 0.875  # no overflow for absurd try counts
    for bad in ({"base_delay_s": 0}, {"base_delay_s": 10, "max_delay_s": 5}, {"max_tries": 0}, {"jitter": 1.0}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


def test_after_a_try_the_delivery_is_delivered_retried_or_given_up() -> None:
    policy = RetryPolicy(max_tries=3)
    ok = after_try(TryOutcome(1, 1, None), policy, now=T0, u=0.5)
    assert ok == {"status": DeliveryStatus.DELIVERED, "delivered_at": T0, "next_try_at": None, "last_error": None}
    retry = after_try(TryOutcome(1, 2, "http 503"), policy, now=T0, u=0.0)
    assert retry == {
        "status": DeliveryStatus.PENDING,
        "next_try_at": T0 + timedelta(seconds=20),
        "last_error": "http 503",
    }
    failed = after_try(TryOutcome(1, 3, "ConnectError"), policy, now=T0, u=0.0)
    assert failed == {"status": DeliveryStatus.FAILED, "next_try_at": None, "last_error": "ConnectError"}
    assert len(after_try(TryOutcome(1, 1, "x" * 400), policy, now=T0, u=0.0)["last_error"]) == 255


@pytest.mark.parametrize(
    "kwargs",
    [{"concurrency": 0}, {"timeout_s": 0}, {"timeout_s": 60, "lease_s": 60}, {"poll_s": 0}],
)
def test_the_sender_refuses_unsafe_settings(kwargs: dict[str, float]) -> None:
    db = Database("sqlite://")
    try:
        with pytest.raises(ValueError):
            WebhookSender(db, **kwargs)  # type: ignore[arg-type]
    finally:
        db.dispose()
