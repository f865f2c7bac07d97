"""Just enough SIP message handling for the simulator's front: parse, edit Via, build responses.

Not a general SIP parser: it reads what RFC 3261 user agents send over UDP (one message per datagram,
headers folded or compact), keeps header order and spelling, and writes the message back unchanged apart
from the edits made through this module.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

# RFC 3261 §7.3.3 compact forms (plus the common extensions) -> canonical lower-case name.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
    "o": "event",
    "r": "refer-to",
    "u": "allow-events",
}


class SipParseError(ValueError):
    """A datagram that is not a SIP message this module can handle."""


def canonical_name(name: str) -> str:
    low = name.strip().lower()
    return _COMPACT.get(low, low)


@dataclass(slots=True)
class SipMessage:
    """One SIP request or response. `headers` keeps (name as sent, value) in wire order."""

    first_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return not self.first_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        """The request method; for a response, the method named in its CSeq."""
        if self.is_request:
            return self.first_line.split(" ", 1)[0].upper()
        return (self.get("cseq") or " ").split()[-1].upper()

    @property
    def request_uri(self) -> str:
        parts = self.first_line.split(" ")
        if not self.is_request or len(parts) != 3:
            raise SipParseError(f"expected a request line, got {self.first_line!r}")
        return parts[1]

    @property
    def status(self) -> int:
        if self.is_request:
            raise SipParseError("expected a response, got a request")
        return int(self.first_line.split(" ", 2)[1])

    def get(self, name: str) -> str | None:
        """The first value of header `name` (any spelling, compact forms included)."""
        key = canonical_name(name)
        for n, v in self.headers:
            if canonical_name(n) == key:
                return v
        return None

    def vias(self) -> list[str]:
        """Every Via element, topmost first (comma-joined headers split)."""
        out: list[str] = []
        for n, v in self.headers:
            if canonical_name(n) == "via":
                out.extend(e.strip() for e in v.split(",") if e.strip())
        return out

    def to_bytes(self) -> bytes:
        head = "\r\n".join([self.first_line, *(f"{n}: {v}" for n, v in self.headers)])
        return head.encode() + b"\r\n\r\n" + self.body


def parse_message(data: bytes) -> SipMessage:
    """Parse one datagram; raises SipParseError for anything that is not a SIP message."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipParseError("expected a blank line after the headers")
    lines = head.decode("utf-8", "replace").split("\r\n")
    first = lines[0].strip()
    if not (first.startswith("SIP/2.0 ") or first.endswith(" SIP/2.0")):
        raise SipParseError(f"expected a SIP start line, got {first[:40]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation (RFC 3261 §7.3.1)
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise SipParseError(f"expected 'Name: value', got {line[:40]!r}")
        headers.append((name.strip(), value.strip()))
    msg = SipMessage(first, headers, body)
    length = msg.get("content-length")
    if length is not None and length.isdigit():
        msg.body = body[: int(length)]
    return msg


@dataclass(frozen=True, slots=True)
class Via:
    """One Via element: `SIP/2.0/UDP host[:port];param[=value]...`."""

    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]

    @property
    def branch(self) -> str:
        return self.params.get("branch") or ""

    def reply_address(self) -> tuple[str, int]:
        """Where a response to this hop goes (RFC 3261 §18.2.2 with RFC 3581 rport)."""
        host = self.params.get("received") or self.host
        rport = self.params.get("rport")
        if rport and rport.isdigit():
            return host, int(rport)
        return host, self.port or 5060


def parse_via(element: str) -> Via:
    proto, _, rest = element.strip().partition(" ")
    parts = proto.split("/")
    if len(parts) != 3 or not rest:
        raise SipParseError(f"expected 'SIP/2.0/<transport> host', got {element[:60]!r}")
    sent_by, *raw_params = rest.strip().split(";")
    host, port = _split_hostport(sent_by.strip())
    params: dict[str, str | None] = {}
    for p in raw_params:
        k, eq, v = p.strip().partition("=")
        params[k.lower()] = v if eq else None
    return Via(parts[2].upper(), host, port, params)


def _split_hostport(text: str) -> tuple[str, int | None]:
    if text.startswith("["):  # IPv6 reference
        host, _, tail = text[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = text.partition(":")
    if port and not port.isdigit():
        raise SipParseError(f"expected a numeric port, got {text!r}")
    return host, int(port) if port else None


def format_via(via: Via) -> str:
    host = f"[{via.host}]" if ":" in via.host else via.host
    sent_by = f"{host}:{via.port}" if via.port else host
    params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in via.params.items())
    return f"SIP/2.0/{via.transport} {sent_by}{params}"


def top_via(msg: SipMessage) -> Via:
    vias = msg.vias()
    if not vias:
        raise SipParseError("expected a Via header")
    return parse_via(vias[0])


def replace_top_via(msg: SipMessage, element: str) -> None:
    _edit_top_via(msg, lambda rest: [element, *rest])


def push_via(msg: SipMessage, element: str) -> None:
    """Insert `element` as the new topmost Via."""
    for i, (n, _) in enumerate(msg.headers):
        if canonical_name(n) == "via":
            msg.headers.insert(i, ("Via", element))
            return
    msg.headers.insert(0, ("Via", element))


def pop_via(msg: SipMessage) -> None:
    """Remove the topmost Via element."""
    _edit_top_via(msg, lambda rest: rest)


def _edit_top_via(msg: SipMessage, edit: Callable[[list[str]], list[str]]) -> None:
    for i, (n, v) in enumerate(msg.headers):
        if canonical_name(n) != "via":
            continue
        elements = [e.strip() for e in v.split(",") if e.strip()]
        new = edit(elements[1:])
        if new:
            msg.headers[i] = (n, ", ".join(new))
        else:
            del msg.headers[i]
        return
    raise SipParseError("expected a Via header")


def stamp_received(msg: SipMessage, addr: tuple[str, int]) -> None:
    """Record where a request really came from in its top Via (RFC 3261 §18.2.1, RFC 3581 §4)."""
    via = top_via(msg)
    params = dict(via.params)
    if via.host != addr[0] or "rport" in params:
        params["received"] = addr[0]
    if "rport" in params:
        params["rport"] = str(addr[1])
    replace_top_via(msg, format_via(Via(via.transport, via.host, via.port, params)))


def request_user(uri: str) -> str | None:
    """The user part of a `sip:`/`sips:` URI, percent-decoded; None when there is none."""
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        return None
    userinfo, at, _ = rest.partition("@")
    if not at:
        return None
    return unquote(userinfo.split(":", 1)[0].split(";", 1)[0]) or None


def new_tag() -> str:
    return secrets.token_hex(6)


def make_response(request: SipMessage, status: int, reason: str, to_tag: str | None = None) -> SipMessage:
    """A response to `request` (Via, From, To, Call-ID, CSeq copied; `to_tag` added to To if absent)."""
    headers: list[tuple[str, str]] = [(n, v) for n, v in request.headers if canonical_name(n) == "via"]
    for name in ("from", "to", "call-id", "cseq"):
        value = request.get(name)
        if value is None:
            raise SipParseError(f"expected a {name} header in the request")
        if name == "to" and to_tag and ";tag=" not in value.replace(" ", "").lower():
            value = f"{value};tag={to_tag}"
        headers.append((name.title() if name != "cseq" else "CSeq", value))
    headers += [("Server", "callcenter-simulator"), ("Content-Length", "0")]
    return SipMessage(f"SIP/2.0 {status} {reason}", headers)
