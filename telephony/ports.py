"""Free loopback ports for local SIP/RTP peers (tests, benchmarks): every peer binds to 127.0.0.1 only."""

from __future__ import annotations

import itertools
import os
import socket

# Ports come from [10000, 32000): below the kernel's ephemeral range (32768-60999), where peers bound to port 0
# (and every outgoing socket) land, so a port handed out here cannot be taken before its peer binds it.
# Each pytest process starts at its own offset so that parallel runs rarely meet.
_LOW, _SPAN = 10000, 22000
_OFFSET = (os.getpid() % 100) * 200
_counter = itertools.count()


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port(span: int = 1) -> int:
    """A port p such that p .. p+span-1 are free on 127.0.0.1 (UDP and TCP) right now."""
    for _ in range(2000):
        p = _LOW + (_OFFSET + next(_counter) * 2) % _SPAN
        if p + span <= _LOW + _SPAN and all(_bindable(p + k) for k in range(span)):
            for _ in range(span // 2):
                next(_counter)
            return p
    raise RuntimeError("no free loopback port range found")
