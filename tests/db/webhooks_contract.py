"""Webhook storage and delivery tests (dialer/webhooks.py), written once and run on both databases.

Subclasses provide a `db` fixture (a migrated, empty `Database`): tests/unit/test_webhooks_sqlite.py on SQLite,
tests/db/test_webhooks_pg.py on PostgreSQL. Deliveries go to a real HTTP server on 127.0.0.1 (a thread of this
process) that checks every signature. Time is virtual: `deliver_due(now)` gets `now`, and the receiver verifies
signatures against the same clock.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import delete, select

from dialer.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    RetryPolicy,
    TryOutcome,
    WebhookSender,
    call_completed_payload,
    claim_due,
    create_webhook,
    enqueue,
    record_result,
    verify_signature,
)
from storage import Database
from storage.models import DeliveryStatus, Webhook, WebhookDelivery
from tests.ports import free_port

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
SECRET = "whsec-contract-0123456789"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Hit:
    path: str
    delivery_id: int
    event: str
    signed: bool  # the signature verified with the receiver's secret at the receiver's `now`
    body: dict[str, Any]


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # senders open several connections at once; the default backlog (5) resets some


class Receiver:
    """A real HTTP server in a thread: /ok → 204, /fail → 500, /slow → 200 once released (the sender times out
    first), /redirect → 302 to /ok (which a sender must not follow)."""

    def __init__(self) -> None:
        self.secret = SECRET
        self.now = T0
        self.hits: list[Hit] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def _record(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        signed = verify_signature(self.secret, handler.headers.get(SIGNATURE_HEADER, ""), raw, now=self.now)
        hit = Hit(
            handler.path,
            int(handler.headers.get(DELIVERY_HEADER, "0")),
            handler.headers.get(EVENT_HEADER, ""),
            signed,
            json.loads(raw),
        )
        with self._lock:
            self.hits.append(hit)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._record(self)
                if self.path == "/slow":
                    receiver.release.wait(timeout=10)
                status = {"/ok": 204, "/fail": 500, "/redirect": 302}.get(self.path, 200)
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", receiver.url("/ok"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def delivery(db: Database, delivery_id: int) -> WebhookDelivery:
    with db.read() as s:
        return s.get_one(WebhookDelivery, delivery_id)


def add_hook(db: Database, url: str, events: list[str], *, active: bool = True) -> int:
    with db.transaction() as s:
        hook, _ = create_webhook(s, url, events, secret=SECRET)
        hook.active = active
        return hook.id


def call_event(db: Database, now: datetime = T0, lead_id: int = 7) -> list[int]:
    payload = call_completed_payload(
        attempt_id=lead_id * 10, lead_id=lead_id, campaign_id=2, attempt_no=1, disposition="answered", grade="A"
    )
    with db.transaction() as s:
        return enqueue(s, "call.completed", payload, now=now)


def deliver(db: Database, now: datetime, *, timeout_s: float = 10.0) -> list[TryOutcome]:
    """One `deliver_due(now)` round by a fresh sender on a loop of its own (its httpx client never outlives it)."""

    async def main() -> list[TryOutcome]:
        async with WebhookSender(db, rng=random.Random(7), timeout_s=timeout_s) as sender:
            return await sender.deliver_due(now)

    return asyncio.run(main())


class WebhooksContract:
    """Subscriptions, the queue and real deliveries on one database (the subclass's `db` fixture)."""

    @pytest.fixture
    def receiver(self) -> Iterator[Receiver]:
        r = Receiver()
        yield r
        r.close()

    def test_create_webhook_validates_and_generates_a_secret(self, db: Database) -> None:
        with db.transaction() as s:
            hook, secret = create_webhook(s, "https://crm.example/hooks", ["lead.qualified", "lead.qualified"])
            assert len(secret) >= 43 and hook.secret == secret and hook.events == ["lead.qualified"]
            _, given = create_webhook(s, "http://10.0.0.5:8080/in", ["call.completed"], secret=SECRET)
            assert given == SECRET
        bad: list[tuple[str, list[str], str | None]] = [
            ("ftp://crm.example/x", ["lead.qualified"], None),
            ("https:///no-host", ["lead.qualified"], None),
            ("crm.example/x", ["lead.qualified"], None),
            ("https://crm.example/x", [], None),
            ("https://crm.example/x", ["lead.updated"], None),
            ("https://crm.example/x", ["lead.qualified"], "short"),
        ]
        for url, events, secret_arg in bad:
            with pytest.raises(ValueError), db.transaction() as s:
                create_webhook(s, url, events, secret=secret_arg)
        with db.read() as s:
            assert len(s.scalars(select(Webhook)).all()) == 2

    def test_enqueue_makes_one_delivery_per_active_subscription(self, db: Database) -> None:
        calls = add_hook(db, "https://a.example/", ["call.completed"])
        both = add_hook(db, "https://b.example/", ["call.completed", "lead.qualified"])
        add_hook(db, "https://c.example/", ["lead.qualified"], active=False)
        leads = add_hook(db, "https://d.example/", ["lead.qualified"])
        ids = call_event(db)
        with db.transaction() as s:
            lead_ids = enqueue(s, "lead.qualified", {"lead_id": 7, "grade": "A", "contact": {"name": "x"}}, now=at(5))
        with db.read() as s:
            rows = {d.id: d for d in s.scalars(select(WebhookDelivery))}
        assert sorted(rows[i].webhook_id for i in ids) == [calls, both]
        assert sorted(rows[i].webhook_id for i in lead_ids) == [both, leads]
        first = rows[ids[0]]
        assert (first.status, first.attempts, first.next_try_at, first.created_at) == (
            DeliveryStatus.PENDING,
            0,
            T0,
            T0,
        )
        assert first.payload["lead_id"] == 7 and first.event == "call.completed"
        with db.transaction() as s:  # nobody subscribed: nothing queued
            s.execute(delete(Webhook))
            assert enqueue(s, "call.completed", {"lead_id": 8}, now=T0) == []

    def test_enqueue_refuses_unknown_events_and_undocumented_personal_data(self, db: Database) -> None:
        add_hook(db, "https://a.example/", ["call.completed", "lead.qualified"])
        bad: list[tuple[str, dict[str, Any]]] = [
            ("call.started", {"lead_id": 1}),
            ("call.completed", {"lead_id": 1, "phone_e164": "+4930123456"}),
            ("lead.qualified", {"lead_id": 1, "phone": "+4930123456", "name": "x"}),  # contact fields go in `contact`
            ("call.completed", {"lead_id": 1, "contact": {"name": "x"}}),
            ("call.completed", {"transcript": []}),
            ("lead.qualified", {"lead_id": 1, "contact": {"name": "x", "custom_fields": {}}}),
            ("lead.qualified", {"lead_id": 1, "contact": "x"}),
        ]
        for event, payload in bad:
            with pytest.raises(ValueError), db.transaction() as s:
                enqueue(s, event, payload, now=T0)
        with db.read() as s:
            assert s.scalars(select(WebhookDelivery)).all() == []

    def test_a_delivery_reaches_a_real_receiver_signed(self, db: Database, receiver: Receiver) -> None:
        hook = add_hook(db, receiver.url("/ok"), ["call.completed"])
        (did,) = call_event(db)
        receiver.now = at(2)
        assert deliver(db, at(2)) == [TryOutcome(did, 1, None)]
        assert deliver(db, at(3)) == []  # delivered: never sent again
        (hit,) = receiver.hits
        assert hit.signed and (hit.path, hit.delivery_id, hit.event) == ("/ok", did, "call.completed")
        assert hit.body["id"] == did and hit.body["event"] == "call.completed"
        assert hit.body["created_at"] == "2030-03-04T09:00:00Z"
        assert hit.body["data"]["lead_id"] == 7 and hit.body["data"]["disposition"] == "answered"
        row = delivery(db, did)
        assert (row.webhook_id, row.status, row.attempts, row.delivered_at) == (
            hook,
            DeliveryStatus.DELIVERED,
            1,
            at(2),
        )
        assert (row.next_try_at, row.last_error) == (None, None)

    def test_a_failing_receiver_is_retried_with_backoff_then_given_up(self, db: Database, receiver: Receiver) -> None:
        add_hook(db, receiver.url("/fail"), ["call.completed"])
        (did,) = call_event(db)
        now = T0
        for n in range(1, 11):
            receiver.now = now
            assert deliver(db, now) == [TryOutcome(did, n, "http 500")]
            row = delivery(db, did)
            assert (row.attempts, row.last_error) == (n, "http 500")
            if n == 10:
                break
            assert row.status is DeliveryStatus.PENDING and row.next_try_at is not None
            full_s = min(3600.0, 10.0 * 2 ** (n - 1))
            assert 0.75 * full_s <= (row.next_try_at - now).total_seconds() <= full_s
            assert deliver(db, row.next_try_at - timedelta(microseconds=1)) == []  # not due yet
            now = row.next_try_at
        row = delivery(db, did)
        assert (row.status, row.next_try_at, row.delivered_at) == (DeliveryStatus.FAILED, None, None)
        assert deliver(db, at(10 * 86400)) == []
        assert len(receiver.hits) == 10 and all(h.signed and h.delivery_id == did for h in receiver.hits)

    def test_timeouts_refusals_and_redirects_are_retried(self, db: Database, receiver: Receiver) -> None:
        slow = add_hook(db, receiver.url("/slow"), ["call.completed"])
        refused = add_hook(db, f"http://127.0.0.1:{free_port()}/in", ["call.completed"])  # nothing listens there
        moved = add_hook(db, receiver.url("/redirect"), ["call.completed"])
        ids = call_event(db)
        outcomes = {o.delivery_id: o for o in deliver(db, T0, timeout_s=1.0)}  # /slow answers after the test
        by_hook = {delivery(db, i).webhook_id: outcomes[i].error for i in ids}
        assert by_hook[slow] in ("timeout", "ReadTimeout")
        assert by_hook[refused] == "ConnectError"
        assert by_hook[moved] == "http 302"
        assert {h.path for h in receiver.hits} == {"/slow", "/redirect"}  # the redirect was not followed
        for i in ids:
            row = delivery(db, i)
            assert (
                row.status is DeliveryStatus.PENDING and row.attempts == 1 and row.last_error == by_hook[row.webhook_id]
            )
            assert row.next_try_at is not None and at(7.5) <= row.next_try_at <= at(10)

    def test_a_lease_keeps_other_senders_off_until_it_ends(self, db: Database) -> None:
        add_hook(db, "https://crm.example/", ["call.completed"])
        (did,) = call_event(db)
        policy = RetryPolicy()
        with db.transaction() as s:
            (job,) = claim_due(s, now=T0, lease_s=60, limit=10)
        assert (job.delivery_id, job.attempt, job.lease_until, job.secret) == (did, 1, at(60), SECRET)
        with db.transaction() as s:
            assert claim_due(s, now=at(59), lease_s=60, limit=10) == []
            (again,) = claim_due(s, now=at(60), lease_s=60, limit=10)  # the first sender died holding it
        assert again.attempt == 2
        with db.transaction() as s:  # the first sender's late result is not written over the new try
            assert not record_result(s, TryOutcome(did, 1, None), policy, now=at(61))
            assert record_result(s, TryOutcome(did, 2, None), policy, now=at(62))
            assert not record_result(s, TryOutcome(did, 2, "http 500"), policy, now=at(63))
        row = delivery(db, did)
        assert (row.status, row.attempts, row.delivered_at) == (DeliveryStatus.DELIVERED, 2, at(62))

    def test_deliveries_of_an_inactive_webhook_wait(self, db: Database, receiver: Receiver) -> None:
        hook = add_hook(db, receiver.url("/ok"), ["call.completed"])
        (did,) = call_event(db)
        with db.transaction() as s:
            s.get_one(Webhook, hook).active = False
        assert deliver(db, T0) == []
        with db.transaction() as s:
            s.get_one(Webhook, hook).active = True
        assert deliver(db, at(1)) == [TryOutcome(did, 1, None)]

    def test_two_concurrent_senders_never_deliver_one_delivery_twice(self, db: Database, receiver: Receiver) -> None:
        add_hook(db, receiver.url("/ok"), ["call.completed"])
        add_hook(db, receiver.url("/ok"), ["call.completed"])
        ids = [i for lead in range(20) for i in call_event(db, lead_id=lead)]

        async def drain(sender: WebhookSender) -> list[TryOutcome]:
            done: list[TryOutcome] = []
            while outcomes := await sender.deliver_due(T0):
                assert len(outcomes) <= 3  # a round claims at most `concurrency` deliveries
                done.extend(outcomes)
            return done

        async def main() -> list[list[TryOutcome]]:
            async with WebhookSender(db, concurrency=3) as a, WebhookSender(db, concurrency=3) as b:
                return list(await asyncio.gather(drain(a), drain(b)))

        results = asyncio.run(main())
        assert all(o.ok for r in results for o in r)
        assert sum(len(r) for r in results) == len(ids)  # one POST per delivery, whoever made it
        assert Counter(h.delivery_id for h in receiver.hits) == Counter(ids)
        assert all(h.signed for h in receiver.hits)
        with db.read() as s:
            assert {d.status for d in s.scalars(select(WebhookDelivery))} == {DeliveryStatus.DELIVERED}

    def test_run_delivers_until_stopped(self, db: Database, receiver: Receiver) -> None:
        add_hook(db, receiver.url("/ok"), ["call.completed"])
        ids = [i for lead in range(5) for i in call_event(db, lead_id=lead)]

        async def main() -> None:
            stop = asyncio.Event()
            async with WebhookSender(db, concurrency=2, poll_s=0.05, clock=lambda: at(1)) as sender:
                task = asyncio.create_task(sender.run(stop), name="webhook-sender")
                for _ in range(200):  # a bounded wait for the condition, not a timing assertion
                    if len(receiver.hits) == len(ids):
                        break
                    await asyncio.sleep(0.05)
                stop.set()
                await asyncio.wait_for(task, timeout=10)

        receiver.now = at(1)
        asyncio.run(main())
        assert sorted(h.delivery_id for h in receiver.hits) == sorted(ids)
        assert all(delivery(db, i).status is DeliveryStatus.DELIVERED for i in ids)
