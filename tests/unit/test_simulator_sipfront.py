"""The simulator's SIP front: message edits and the refusal transaction, with a fake transport (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from telephony.simulator import sipfront
from telephony.simulator.sipfront import Refuse, Relay, SipFront
from telephony.simulator.sipmsg import (
    make_response,
    parse_message,
    pop_via,
    push_via,
    request_user,
    stamp_received,
    top_via,
)

pytestmark = pytest.mark.unit

CALLER = ("127.0.0.1", 5080)
BACKEND = ("127.0.0.1", 6001)


def invite(branch: str = "z9hG4bKabc", method: str = "INVITE", user: str = "anna", to_tag: str = "") -> bytes:
    lines = [
        f"{method} sip:{user}@127.0.0.1:5090 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5080;rport;branch={branch}",
        "Max-Forwards: 70",
        "f: <sip:robot@127.0.0.1>;tag=r1",
        f"t: <sip:{user}@127.0.0.1:5090>{to_tag}",
        "i: call-1@robot",
        f"CSeq: 1 {method}",
        "Subject: folded",
        " header",
        "l: 3",
    ]
    return ("\r\n".join(lines) + "\r\n\r\nv=0 and junk").encode()


def test_parse_compact_folded_and_body_length() -> None:
    msg = parse_message(invite())
    assert msg.is_request and msg.method == "INVITE" and msg.request_uri == "sip:anna@127.0.0.1:5090"
    assert msg.get("call-id") == "i: call-1@robot".split(": ")[1] and msg.get("Subject") == "folded header"
    assert msg.body == b"v=0"
    assert request_user(msg.request_uri) == "anna"
    assert request_user("sip:127.0.0.1") is None and request_user("tel:+123") is None
    assert request_user("sip:an%2Dna;x=1@h") == "an-na"


def test_via_stamp_push_pop() -> None:
    msg = parse_message(invite())
    stamp_received(msg, ("127.0.0.1", 40000))
    assert top_via(msg).reply_address() == ("127.0.0.1", 40000)
    push_via(msg, "SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKme")
    assert top_via(msg).branch == "z9hG4bKme" and len(msg.vias()) == 2
    pop_via(msg)
    assert top_via(msg).branch == "z9hG4bKabc" and len(msg.vias()) == 1
    assert b"Via: SIP/2.0/UDP 127.0.0.1:5080;rport=40000;branch=z9hG4bKabc;received=127.0.0.1" in msg.to_bytes()


def test_response_copies_dialog_headers_and_adds_a_tag() -> None:
    response = make_response(parse_message(invite()), 603, "Decline", to_tag="t1")
    assert response.first_line == "SIP/2.0 603 Decline" and response.status == 603
    assert response.get("to") == "<sip:anna@127.0.0.1:5090>;tag=t1"
    assert response.get("cseq") == "1 INVITE" and response.get("content-length") == "0"
    assert response.method == "INVITE"


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def statuses(self, addr: tuple[str, int] = CALLER) -> list[int]:
        return [parse_message(d).status for d, a in self.sent if a == addr and d.startswith(b"SIP/2.0")]


def front_with(decision: Any, records: list[Any]) -> tuple[SipFront, FakeTransport]:
    front = SipFront(("127.0.0.1", 5090), BACKEND, lambda user: decision, records.append)
    transport = FakeTransport()
    front._transport = transport  # type: ignore[assignment]
    front.port = 5090
    return front, transport


@pytest.fixture
def fast_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sipfront, "T1_S", 0.01)
    monkeypatch.setattr(sipfront, "T2_S", 0.04)
    monkeypatch.setattr(sipfront, "TIMER_H_S", 0.3)


def test_refusal_rings_then_retransmits_the_final_until_ack(fast_timers: None) -> None:
    records: list[Any] = []

    async def main() -> FakeTransport:
        front, transport = front_with(Refuse("anna", 603, "Decline", ring_s=0.05, call_index=4), records)
        front._datagram(invite(), CALLER)
        await asyncio.sleep(0.2)
        front._datagram(invite(method="ACK"), CALLER)
        await asyncio.sleep(0.1)
        return transport

    transport = asyncio.run(main())
    statuses = transport.statuses()
    assert statuses[:3] == [100, 180, 603] and len(statuses) >= 5 and set(statuses[2:]) == {603}
    assert len(records) == 1 and (records[0].final_status, records[0].call_index) == (603, 4)
    assert records[0].sip_call_id == "call-1@robot" and not records[0].cancelled


def test_cancel_while_ringing_gives_200_and_487(fast_timers: None) -> None:
    records: list[Any] = []

    async def main() -> FakeTransport:
        front, transport = front_with(Refuse("anna", 480, "Temporarily Unavailable", ring_s=None), records)
        front._datagram(invite(), CALLER)
        await asyncio.sleep(0.02)
        front._datagram(invite(), CALLER)  # a retransmitted INVITE gets the last response again
        front._datagram(invite(method="CANCEL"), CALLER)
        await asyncio.sleep(0.02)
        front._datagram(invite(method="ACK"), CALLER)
        sent_at_ack = len(transport.sent)
        await asyncio.sleep(0.1)
        assert len(transport.sent) == sent_at_ack, "the ACK should stop the retransmissions"
        return transport

    transport = asyncio.run(main())
    statuses = transport.statuses()
    assert statuses[:5] == [100, 180, 180, 200, 487] and set(statuses[4:]) == {487}
    assert len(records) == 1 and records[0].cancelled and records[0].final_status == 487


def test_unanswered_final_gives_up_at_timer_h(fast_timers: None) -> None:
    async def main() -> FakeTransport:
        front, transport = front_with(Refuse(None, 404, "Not Found"), [])
        front._datagram(invite(), CALLER)
        await asyncio.sleep(0.5)
        return transport

    statuses = asyncio.run(main()).statuses()
    assert statuses[0] == 100 and 404 in statuses and len(statuses) < 20


def test_relay_adds_our_via_and_cancel_shares_the_invites_branch() -> None:
    async def main() -> FakeTransport:
        front, transport = front_with(Relay(), [])
        front._datagram(invite(), CALLER)
        front._datagram(invite(method="CANCEL"), CALLER)
        front._datagram(invite(branch="z9hG4bKother"), CALLER)
        return transport

    sent = [parse_message(d) for d, addr in asyncio.run(main()).sent if addr == BACKEND]
    branches = [top_via(m).branch for m in sent]
    assert branches[0] == branches[1] != branches[2] and branches[0].startswith("z9hG4bK")
    assert sent[0].get("max-forwards") == "69" and len(sent[0].vias()) == 2


def test_backend_responses_go_back_to_the_caller_without_our_via() -> None:
    async def main() -> FakeTransport:
        front, transport = front_with(Relay(), [])
        front._datagram(invite(), CALLER)
        relayed = parse_message(transport.sent[0][0])
        response = make_response(relayed, 180, "Ringing", to_tag="b1")
        front._datagram(response.to_bytes(), BACKEND)
        stray = make_response(parse_message(invite()), 200, "OK", to_tag="b2")  # not via us: dropped
        front._datagram(stray.to_bytes(), BACKEND)
        return transport

    transport = asyncio.run(main())
    back = [parse_message(d) for d, addr in transport.sent if addr == CALLER]
    assert [m.status for m in back] == [180] and len(back[0].vias()) == 1
    assert top_via(back[0]).branch == "z9hG4bKabc"


def test_a_refusal_right_after_an_acked_one_is_a_new_transaction(fast_timers: None) -> None:
    """never-home (480) then nobody-here (404) from the same caller socket, as in the SIP test: the second
    INVITE is not taken for the first transaction, gets its own 100 + 404 at once, and no 480 is replayed."""
    records: list[Any] = []
    plans = {"never-home": Refuse("never-home", 480, "Temporarily Unavailable", ring_s=0.02, call_index=3)}

    async def main() -> FakeTransport:
        unknown = Refuse(None, 404, "Not Found")
        front = SipFront(("127.0.0.1", 5090), BACKEND, lambda user: plans.get(user or "", unknown), records.append)
        transport = FakeTransport()
        front._transport = transport  # type: ignore[assignment]
        front.port = 5090
        front._datagram(invite(branch="z9hG4bKfirst", user="never-home"), CALLER)
        await asyncio.sleep(0.05)
        front._datagram(invite(branch="z9hG4bKfirst", method="ACK", user="never-home", to_tag=";tag=x"), CALLER)
        await asyncio.sleep(0)
        del transport.sent[:]
        front._datagram(invite(branch="z9hG4bKsecond", user="nobody-here"), CALLER)
        await asyncio.sleep(0)
        front._datagram(invite(branch="z9hG4bKsecond", method="ACK", user="nobody-here", to_tag=";tag=y"), CALLER)
        await asyncio.sleep(0.1)
        return transport

    transport = asyncio.run(main())
    assert transport.statuses() == [100, 404]
    final = parse_message(transport.sent[-1][0])
    assert top_via(final).branch == "z9hG4bKsecond" and "nobody-here" in (final.get("to") or "")
    assert [(r.persona_id, r.final_status) for r in records] == [("never-home", 480)]
