"""The simulator's public SIP port: refusals are answered here, everything else is relayed to baresip.

Why this exists: baresip-python 0.5.2a3 can refuse an incoming call only with `486 Busy Here`
(`Call.reject()` and `Call.hangup()` on an unanswered call both send 486; the native command ignores any
status argument). A customer simulator must also produce `603 Decline`, `480 Temporarily Unavailable`
after ringing, and `404 Not Found`. So the front owns the public port, acts as the UAS for personas that
never answer, and relays every other message statelessly (RFC 3261 §16.11) to baresip on a private loopback
port. baresip's Contact names its own port, so in-dialog requests (the ACK for 200, BYE) go to baresip
directly; only the INVITE transaction (INVITE, CANCEL, ACK for a failure) passes through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from telephony.simulator.sipmsg import (
    SipMessage,
    SipParseError,
    make_response,
    new_tag,
    parse_message,
    pop_via,
    push_via,
    request_user,
    stamp_received,
    top_via,
)

log = logging.getLogger(__name__)

T1_S = 0.5  # RFC 3261 timer values for an INVITE server transaction over UDP
T2_S = 4.0
TIMER_H_S = 64 * T1_S
MAX_PENDING_REFUSALS = 256  # beyond this, new refusals get a stateless 503


@dataclass(frozen=True, slots=True)
class Relay:
    """Hand the INVITE to baresip: the persona answers (or rings, then answers)."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """Answer the INVITE here: ring for `ring_s` (None: until CANCEL, at most `max_ring_s`), then `status`.

    `persona_id` None means "do not report this call" (unknown persona, overload).
    """

    persona_id: str | None
    status: int
    reason: str
    ring_s: float | None = 0.0
    max_ring_s: float = 120.0
    call_index: int = 0


Decision = Relay | Refuse


@dataclass(frozen=True, slots=True)
class RefusalRecord:
    """What happened to one refused call, for its timeline."""

    persona_id: str
    call_index: int
    sip_call_id: str | None
    received_monotonic_s: float
    received_wall_s: float
    ringing_monotonic_s: float | None
    final_status: int
    final_monotonic_s: float
    cancelled: bool


class SipFront:
    """UDP SIP front on `listen`; relays to the baresip stack at `backend`."""

    def __init__(
        self,
        listen: tuple[str, int],
        backend: tuple[str, int],
        decide: Callable[[str | None], Decision],
        on_refusal: Callable[[RefusalRecord], None],
    ) -> None:
        self._listen = listen
        self._backend = backend
        self._decide = decide
        self._on_refusal = on_refusal
        self._transport: asyncio.DatagramTransport | None = None
        self._refusals: dict[str, _Refusal] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> int:
        """Bind the public port; returns it (useful when `listen` asked for port 0)."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self._datagram), local_addr=self._listen)
        self._transport = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        return self.port

    async def close(self, timeout_s: float = 2.0) -> None:
        """Finish ringing refusals with 480, then release the port."""
        for refusal in list(self._refusals.values()):
            refusal.shutdown()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout_s)
        for task in self._tasks:
            task.cancel()
        if self._transport is not None:
            self._transport.close()

    def send(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(msg.to_bytes(), addr)

    def _datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # keep-alive (RFC 5626 CRLF)
        try:
            msg = parse_message(data)
            if addr == self._backend:
                self._from_backend(msg)
            elif msg.is_request:
                self._from_caller(msg, addr)
        except SipParseError as exc:
            log.warning("dropped an unparsable SIP datagram (%d bytes): %s", len(data), type(exc).__name__)

    def _from_backend(self, msg: SipMessage) -> None:
        if msg.is_request:
            log.warning("dropped a request from the backend: no route through the front")
            return
        via = top_via(msg)
        if (via.host, via.port) != (self._listen[0], self.port):
            return  # not a response to anything we relayed
        pop_via(msg)
        self.send(msg, top_via(msg).reply_address())

    def _from_caller(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        stamp_received(msg, addr)
        branch = top_via(msg).branch
        refusal = self._refusals.get(branch)
        if refusal is not None:
            refusal.on_request(msg)
            return
        if msg.method == "INVITE" and ";tag=" not in (msg.get("to") or "").replace(" ", ""):
            decision = self._decide(request_user(msg.request_uri))
            if isinstance(decision, Refuse):
                self._start_refusal(msg, addr, branch, decision)
                return
        self._relay(msg, addr)

    def _start_refusal(self, invite: SipMessage, addr: tuple[str, int], branch: str, plan: Refuse) -> None:
        if len(self._refusals) >= MAX_PENDING_REFUSALS:
            self.send(make_response(invite, 503, "Service Unavailable", new_tag()), addr)
            return
        refusal = _Refusal(self, invite, addr, plan)
        self._refusals[branch] = refusal
        task = asyncio.get_running_loop().create_task(refusal.run(), name=f"sip-refusal-{branch[-8:]}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._refusal_done(t, branch, refusal))

    def _refusal_done(self, task: asyncio.Task[None], branch: str, refusal: _Refusal) -> None:
        self._tasks.discard(task)
        self._refusals.pop(branch, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("refusal transaction failed", exc_info=task.exception())
        record = refusal.record()
        if record is not None:
            self._on_refusal(record)

    def _relay(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        forwards = msg.get("max-forwards")
        hops = int(forwards) if forwards and forwards.isdigit() else 70
        if hops <= 0 and msg.method != "ACK":
            self.send(make_response(msg, 483, "Too Many Hops", new_tag()), addr)
            return
        msg.headers = [(n, v) for n, v in msg.headers if n.lower() != "max-forwards"]
        msg.headers.append(("Max-Forwards", str(max(hops - 1, 0))))
        push_via(msg, f"SIP/2.0/UDP {self._listen[0]}:{self.port};branch={_relay_branch(msg)};rport")
        self.send(msg, self._backend)


def _relay_branch(msg: SipMessage) -> str:
    """A stateless proxy's branch (RFC 3261 §16.11): a function of the incoming top Via, so that the
    CANCEL and the ACK for a failure get the same branch as the INVITE they belong to."""
    via = top_via(msg)
    digest = hashlib.sha1(f"{via.branch}|{via.host}|{via.port}".encode()).hexdigest()
    return f"z9hG4bK-sim{digest[:20]}"


class _Refusal:
    """One INVITE server transaction that ends in a failure response (RFC 3261 §17.2.1)."""

    def __init__(self, front: SipFront, invite: SipMessage, addr: tuple[str, int], plan: Refuse) -> None:
        self._front = front
        self._invite = invite
        self._addr = addr
        self._plan = plan
        self._to_tag = new_tag()
        self._last: SipMessage | None = None
        self._wake = asyncio.Event()
        self._acked = asyncio.Event()
        self._cancelled = False
        self._stopping = False
        self._received = (time.monotonic(), time.time())
        self._ringing_at: float | None = None
        self._final: tuple[int, float] | None = None

    def on_request(self, msg: SipMessage) -> None:
        if msg.method == "INVITE" and self._last is not None:
            self._front.send(self._last, self._addr)  # retransmitted INVITE
        elif msg.method == "ACK":
            self._acked.set()
        elif msg.method == "CANCEL":
            self._front.send(make_response(msg, 200, "OK"), self._addr)
            if self._final is None:
                self._cancelled = True
                self._wake.set()

    def shutdown(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self._respond(100, "Trying", tag=False)
        ring_s = self._plan.ring_s if self._plan.ring_s is not None else self._plan.max_ring_s
        if ring_s > 0:
            self._respond(180, "Ringing")
            self._ringing_at = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), ring_s)
        if self._cancelled:
            self._respond(487, "Request Terminated")
        elif self._stopping:
            self._respond(480, "Temporarily Unavailable")
        else:
            self._respond(self._plan.status, self._plan.reason)
        await self._retransmit_until_ack()

    def _respond(self, status: int, reason: str, tag: bool = True) -> None:
        response = make_response(self._invite, status, reason, self._to_tag if tag else None)
        self._last = response
        if status >= 200:
            self._final = (status, time.monotonic())
        self._front.send(response, self._addr)

    async def _retransmit_until_ack(self) -> None:
        deadline = time.monotonic() + (T1_S if self._stopping else TIMER_H_S)
        interval = T1_S
        while not self._acked.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.info("no ACK for a final response within timer H")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked.wait(), min(interval, remaining))
            if not self._acked.is_set() and self._last is not None:
                self._front.send(self._last, self._addr)
            interval = min(2 * interval, T2_S)

    def record(self) -> RefusalRecord | None:
        if self._plan.persona_id is None or self._final is None:
            return None
        return RefusalRecord(
            persona_id=self._plan.persona_id,
            call_index=self._plan.call_index,
            sip_call_id=self._invite.get("call-id"),
            received_monotonic_s=self._received[0],
            received_wall_s=self._received[1],
            ringing_monotonic_s=self._ringing_at,
            final_status=self._final[0],
            final_monotonic_s=self._final[1],
            cancelled=self._cancelled,
        )


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("SIP front socket error: %s", exc)
