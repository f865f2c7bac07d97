"""Outgoing webhooks: `call.completed` and `lead.qualified`, signed with HMAC-SHA256 and retried with backoff.

Three layers (docs/webhooks.md shows payloads and a receiver's verification code):

- Pure: payload builders (`call_completed_payload`, `lead_qualified_payload`), the envelope (`envelope_body`),
  signing (`sign`, `verify_signature`) and the retry schedule (`retry_delay_s`, `after_try`).
- Storage, over a caller's `Session`: `create_webhook`, `enqueue` (one `WebhookDelivery` per active subscriber),
  and the delivery queue (`claim_due`, `record_result`). A claim leases a delivery by pushing its `next_try_at`
  forward `lease_s` and counting the try (`attempts + 1`); the result is written only while that try is still
  the delivery's latest (`attempts` unchanged), so two senders never hold one delivery at once.
- I/O: `WebhookSender`, an asyncio loop that claims due deliveries (storage through `asyncio.to_thread`) and POSTs
  them with httpx, at most `concurrency` at a time, each bounded by `timeout_s` in total, never following redirects.

Delivery is at least once: a sender that dies after the POST but before recording it leaves the delivery to be
sent again when its lease ends. Receivers deduplicate on `Callcenter-Delivery` (the delivery id, the same on every
retry). Privacy: payloads carry ids, campaign, disposition, grade, score and times; only `lead.qualified` carries
the lead's contact (phone, name, company, industry, region), because the CRM receiving it must reach the lead.
`enqueue` refuses payload keys outside these lists. Log lines and `last_error` hold ids, status codes and
exception class names: never URLs (they may embed tokens), bodies, phone numbers or names.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session

from storage import Database
from storage.models import DeliveryStatus, Lead, Webhook, WebhookDelivery
from storage.models.base import utcnow
from storage.repos._sql import dialect_name

__all__ = [
    "CALL_COMPLETED",
    "DELIVERY_HEADER",
    "EVENTS",
    "EVENT_HEADER",
    "LEAD_QUALIFIED",
    "SIGNATURE_HEADER",
    "DeliveryJob",
    "RetryPolicy",
    "TryOutcome",
    "WebhookSender",
    "after_try",
    "call_completed_payload",
    "claim_due",
    "create_webhook",
    "enqueue",
    "envelope_body",
    "lead_qualified_payload",
    "record_result",
    "retry_delay_s",
    "sign",
    "verify_signature",
]

log = logging.getLogger(__name__)

CALL_COMPLETED = "call.completed"
LEAD_QUALIFIED = "lead.qualified"
EVENTS = (CALL_COMPLETED, LEAD_QUALIFIED)
EVENT_HEADER = "Callcenter-Event"
DELIVERY_HEADER = "Callcenter-Delivery"
SIGNATURE_HEADER = "Callcenter-Signature"
USER_AGENT = "callcenter-webhooks/1"

# What each event's payload may hold (enqueue refuses anything else): the privacy promise, enforced at the seam.
_CALL_KEYS = frozenset(
    {"attempt_id", "lead_id", "campaign_id", "attempt_no", "disposition", "sip_status", "outcome", "grade", "score"}
    | {"started_at", "answered_at", "ended_at", "duration_s", "retry_at"}
)
_LEAD_KEYS = frozenset(
    {"lead_id", "campaign_id", "attempt_id", "grade", "score", "category", "qualified_at", "assigned_rep_id", "contact"}
)
_CONTACT_KEYS = frozenset({"phone_e164", "name", "company", "industry", "region"})
_ALLOWED_KEYS = {CALL_COMPLETED: _CALL_KEYS, LEAD_QUALIFIED: _LEAD_KEYS}


# --- payloads and envelope ------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` (`2030-03-04T09:00:00Z`); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime, got a naive one")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def call_completed_payload(
    *,
    attempt_id: int,
    lead_id: int,
    campaign_id: int,
    attempt_no: int,
    disposition: str,
    sip_status: int | None = None,
    outcome: str | None = None,
    grade: str | None = None,
    score: float | None = None,
    started_at: datetime | None = None,
    answered_at: datetime | None = None,
    ended_at: datetime | None = None,
    duration_s: float | None = None,
    retry_at: datetime | None = None,
) -> dict[str, Any]:
    """The `call.completed` payload: ids, disposition, SIP status, outcome, grade, score, times, the next attempt's
    time (`retry_at`, None when the lead is done). No phone, name or transcript."""
    return {
        "attempt_id": attempt_id,
        "lead_id": lead_id,
        "campaign_id": campaign_id,
        "attempt_no": attempt_no,
        "disposition": disposition,
        "sip_status": sip_status,
        "outcome": outcome,
        "grade": grade,
        "score": score,
        "started_at": _iso(started_at),
        "answered_at": _iso(answered_at),
        "ended_at": _iso(ended_at),
        "duration_s": duration_s,
        "retry_at": _iso(retry_at),
    }


def lead_qualified_payload(lead: Lead, *, qualified_at: datetime, attempt_id: int | None = None) -> dict[str, Any]:
    """The `lead.qualified` payload: ids, grade, score, category, the assigned rep (if any) and the lead's `contact`.

    `attempt_id`: the call that qualified the lead. `contact` is the minimum a CRM needs to reach the lead (phone,
    name, company, industry, region); custom fields, transcripts and recordings stay here.
    """
    return {
        "lead_id": lead.id,
        "campaign_id": lead.campaign_id,
        "attempt_id": attempt_id,
        "grade": lead.grade,
        "score": lead.intent_score,
        "category": lead.category,
        "qualified_at": _iso(qualified_at),
        "assigned_rep_id": lead.assigned_rep_id,
        "contact": {
            "phone_e164": lead.phone_e164,
            "name": lead.name,
            "company": lead.company,
            "industry": lead.industry,
            "region": lead.region,
        },
    }


def _check_payload(event: str, payload: Mapping[str, Any]) -> None:
    if event not in _ALLOWED_KEYS:
        raise ValueError(f"expected an event in {EVENTS}, got {event!r}")
    extra = set(payload) - _ALLOWED_KEYS[event]
    contact = payload.get("contact")
    if isinstance(contact, Mapping):
        extra |= {f"contact.{k}" for k in set(contact) - _CONTACT_KEYS}
    elif contact is not None:
        extra.add("contact")
    if extra:
        raise ValueError(f"expected only the documented {event} payload keys, got extra keys {sorted(extra)}")


def envelope_body(delivery_id: int, event: str, created_at: datetime, payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, keys sorted, UTF-8.

    `{"created_at": "...Z", "data": {...payload}, "event": "lead.qualified", "id": 17}`; `id` is the delivery id.
    """
    envelope = {"id": delivery_id, "event": event, "created_at": _iso(created_at), "data": dict(payload)}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


# --- signing --------------------------------------------------------------------------------------------------


def _mac(secret: str, timestamp_s: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp_s: int) -> str:
    """The `Callcenter-Signature` header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    return f"t={timestamp_s},v1={_mac(secret, timestamp_s, body)}"


def _parse_signature(header: str) -> tuple[int, list[str]] | None:
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            if timestamp is not None or not value.isdigit():
                return None
            timestamp = int(value)
        elif key == "v1":
            macs.append(value)
    return (timestamp, macs) if timestamp is not None and macs else None


def verify_signature(secret: str, header: str, body: bytes | str, *, now: datetime, tolerance_s: float = 300.0) -> bool:
    """True when `header` is a valid signature of `body` with `secret`, made within `tolerance_s` of `now`.

    For receivers. Pass the raw request body (before any JSON parsing). Any `v1=` entry may match (several appear
    while a secret is rotated). A timestamp further than `tolerance_s` from `now`, in either direction, fails: a
    captured request cannot be replayed later (receivers also drop repeated `Callcenter-Delivery` ids).
    """
    parsed = _parse_signature(header)
    if parsed is None:
        return False
    timestamp_s, macs = parsed
    if abs(now.timestamp() - timestamp_s) > tolerance_s:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    expected = _mac(secret, timestamp_s, raw)
    return any(hmac.compare_digest(expected, mac) for mac in macs)


# --- retry schedule -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Try n (1-based) that fails waits `min(max_delay_s, base_delay_s * 2**(n-1))`, minus up to `jitter` of it
    (random, so that many deliveries failing together do not retry together); after `max_tries` failed tries the
    delivery is `failed`. Defaults: 10 s, 20 s, 40 s, … capped at 1 h; ten tries span about 1.4 h."""

    base_delay_s: float = 10.0
    max_delay_s: float = 3600.0
    max_tries: int = 10
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if not (0 < self.base_delay_s <= self.max_delay_s and self.max_tries >= 1 and 0 <= self.jitter < 1):
            raise ValueError(f"expected 0 < base <= max delay, max_tries >= 1, 0 <= jitter < 1, got {self}")


def retry_delay_s(tries: int, policy: RetryPolicy, u: float) -> float:
    """The wait after failed try number `tries` (>= 1); `u` in [0, 1) is the jitter draw."""
    full = min(policy.max_delay_s, policy.base_delay_s * 2.0 ** min(tries - 1, 60))
    return full * (1.0 - policy.jitter * u)


@dataclass(frozen=True, slots=True)
class TryOutcome:
    """What one POST came to: `error` is None on a 2xx, else `http <status>` or the exception's class name."""

    delivery_id: int
    attempt: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def after_try(outcome: TryOutcome, policy: RetryPolicy, *, now: datetime, u: float) -> dict[str, Any]:
    """The delivery's new column values after a try (a pure decision; `record_result` writes them)."""
    if outcome.ok:
        return {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_try_at": None, "last_error": None}
    error = (outcome.error or "error")[:255]
    if outcome.attempt >= policy.max_tries:
        return {"status": DeliveryStatus.FAILED, "next_try_at": None, "last_error": error}
    delay = timedelta(seconds=retry_delay_s(outcome.attempt, policy, u))
    return {"status": DeliveryStatus.PENDING, "next_try_at": now + delay, "last_error": error}


# --- storage: subscriptions, the queue ------------------------------------------------------------------------


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        raise ValueError("expected an http(s) URL with a host, at most 2048 characters")


def create_webhook(session: Session, url: str, events: Sequence[str], secret: str | None = None) -> tuple[Webhook, str]:
    """Subscribe `url` to `events` (a non-empty subset of `EVENTS`); returns the flushed row and its secret.

    Without `secret`, one is generated (`secrets.token_urlsafe(32)`, 256 bits); show it to the admin once.
    """
    _check_url(url)
    wanted = sorted(set(events))
    if not wanted or any(e not in EVENTS for e in wanted):
        raise ValueError(f"expected events among {EVENTS}, got {list(events)!r}")
    if secret is not None and not 16 <= len(secret) <= 255:
        raise ValueError("expected a secret of 16 to 255 characters")
    secret = secret if secret is not None else secrets.token_urlsafe(32)
    webhook = Webhook(url=url, secret=secret, events=wanted, active=True)
    session.add(webhook)
    session.flush()
    return webhook, secret


def enqueue(session: Session, event: str, payload: Mapping[str, Any], *, now: datetime) -> list[int]:
    """One pending delivery of `event` per active webhook subscribed to it, due at `now`; returns their ids.

    Call it in the transaction that records what happened (the call's end, the lead's grade): the event is
    queued exactly when that commits. Refuses unknown events and undocumented payload keys (`ValueError`).
    """
    _check_payload(event, payload)
    hooks = session.execute(select(Webhook.id, Webhook.events).where(Webhook.active.is_(True))).all()
    rows = [
        WebhookDelivery(
            webhook_id=hook_id,
            event=event,
            payload=dict(payload),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_try_at=now,
            created_at=now,
        )
        for hook_id, events in hooks
        if event in (events or ())
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A claimed delivery: try number `attempt` of `delivery_id`, to send before `lease_until`."""

    delivery_id: int
    webhook_id: int
    url: str
    secret: str
    event: str
    payload: dict[str, Any]
    created_at: datetime
    attempt: int
    lease_until: datetime


def claim_due(session: Session, *, now: datetime, lease_s: float, limit: int) -> list[DeliveryJob]:
    """Lease up to `limit` pending deliveries due at `now` (of active webhooks), oldest due first.

    The lease is `next_try_at = now + lease_s` with `attempts + 1`: nobody else claims them until it ends, and a
    sender that died holding them is replaced when it does. On PostgreSQL concurrent claimers skip each other's
    locked rows; on SQLite `BEGIN IMMEDIATE` serialises them. Commit promptly.
    """
    lease_until = now + timedelta(seconds=lease_s)
    due = and_(
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_try_at <= now,
        exists().where(Webhook.id == WebhookDelivery.webhook_id, Webhook.active.is_(True)),
    )
    pick = select(WebhookDelivery.id).where(due).order_by(WebhookDelivery.next_try_at, WebhookDelivery.id).limit(limit)
    if dialect_name(session) == "postgresql":
        pick = pick.with_for_update(skip_locked=True, of=WebhookDelivery)
    # Two statements on purpose: inside `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`
    # PostgreSQL may re-run the subquery per row, and each re-run skips the rows just updated: it claims them all.
    picked = list(session.scalars(pick))
    if not picked:
        return []
    claimed = session.scalars(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(picked), due)
        .values(next_try_at=lease_until, attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return []
    d, w = WebhookDelivery, Webhook
    rows = session.execute(
        select(d.id, d.webhook_id, w.url, w.secret, d.event, d.payload, d.created_at, d.attempts)
        .join(w, w.id == d.webhook_id)
        .where(d.id.in_(claimed))
        .order_by(d.next_try_at, d.id)
    ).all()
    return [
        DeliveryJob(row[0], row[1], row[2], row[3], row[4], dict(row[5]), row[6], row[7], lease_until) for row in rows
    ]


def record_result(
    session: Session, outcome: TryOutcome, policy: RetryPolicy, *, now: datetime, u: float | None = None
) -> bool:
    """Write a try's outcome (see `after_try`; `u`: the jitter draw, random by default).

    False when the try is no longer the delivery's latest (its lease ended and another sender claimed it, or it
    was already settled): nothing is written.
    """
    values = after_try(outcome, policy, now=now, u=random.random() if u is None else u)
    done = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == outcome.delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.attempts == outcome.attempt,
        )
        .values(**values)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return done is not None


# --- the sender -----------------------------------------------------------------------------------------------


class WebhookSender:
    """Delivers due webhook deliveries: `deliver_due(now)` once, or `run(stop_event)` until the event is set.

    Each round claims at most `concurrency` deliveries (so every claimed POST starts at once and ends within
    `timeout_s`, well inside `lease_s`) and sends them concurrently. A 2xx is delivered; anything else (including
    3xx: redirects are not followed, a timeout, a refused connection) is retried per `policy`. Pass `client` to
    share an `httpx.AsyncClient` (its timeouts and redirects are then yours); otherwise the sender owns one and
    `aclose()` (or `async with`) closes it.
    """

    def __init__(
        self,
        db: Database,
        *,
        client: httpx.AsyncClient | None = None,
        policy: RetryPolicy | None = None,
        concurrency: int = 8,
        timeout_s: float = 10.0,
        lease_s: float = 60.0,
        poll_s: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1 or not 0 < timeout_s < lease_s or poll_s <= 0:
            raise ValueError("expected concurrency >= 1, 0 < timeout_s < lease_s and poll_s > 0")
        self._db = db
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._policy = policy or RetryPolicy()
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._clock = clock
        self._rng = rng or random.Random()

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def deliver_due(self, now: datetime) -> list[TryOutcome]:
        """One round at `now`: claim, POST (signed with `now`'s timestamp), record; returns the outcomes."""
        jobs = await asyncio.to_thread(self._claim, now)
        if not jobs:
            return []
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self._send_and_record(job, now), name=f"webhook-{job.delivery_id}") for job in jobs
            ]
        return [t.result() for t in tasks]

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set: rounds back to back while they come full, else every `poll_s`."""
        while not stop.is_set():
            outcomes = await self.deliver_due(self._clock())
            if len(outcomes) >= self._concurrency:
                continue
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass

    def _claim(self, now: datetime) -> list[DeliveryJob]:
        with self._db.transaction() as s:
            return claim_due(s, now=now, lease_s=self._lease_s, limit=self._concurrency)

    def _record(self, outcome: TryOutcome, now: datetime, u: float) -> bool:
        with self._db.transaction() as s:
            return record_result(s, outcome, self._policy, now=now, u=u)

    async def _send_and_record(self, job: DeliveryJob, now: datetime) -> TryOutcome:
        outcome = TryOutcome(job.delivery_id, job.attempt, await self._post(job, now))
        recorded = await asyncio.to_thread(self._record, outcome, now, self._rng.random())
        if not outcome.ok:
            log.info(
                "webhook delivery %d (webhook %d) try %d failed: %s",
                job.delivery_id,
                job.webhook_id,
                job.attempt,
                outcome.error,
            )
        if not recorded:
            log.warning(
                "webhook delivery %d: try %d outlived its lease; result not recorded", job.delivery_id, job.attempt
            )
        return outcome

    async def _post(self, job: DeliveryJob, now: datetime) -> str | None:
        """POST one delivery; None on a 2xx, else the error (status code or exception class, never the body)."""
        body = envelope_body(job.delivery_id, job.event, job.created_at, job.payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: job.event,
            DELIVERY_HEADER: str(job.delivery_id),
            SIGNATURE_HEADER: sign(job.secret, body, timestamp_s=int(now.timestamp())),
        }
        try:
            async with (
                asyncio.timeout(self._timeout_s),
                self._client.stream("POST", job.url, content=body, headers=headers) as response,
            ):
                status = response.status_code  # the body is never read: a receiver cannot make us buffer it
        except TimeoutError:
            return "timeout"
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            return type(exc).__name__
        return None if 200 <= status < 300 else f"http {status}"
