"""Free loopback ports for tests: every SIP/RTP peer in the suite binds to 127.0.0.1 only."""

from __future__ import annotations

import itertools
import os
import socket

# Each pytest process draws from its own slice so that parallel runs do not collide.
_BASE = 20000 + (os.getpid() % 200) * 100
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
        p = _BASE + (next(_counter) * 2) % 20000
        if all(_bindable(p + k) for k in range(span)):
            for _ in range(span // 2):
                next(_counter)
            return p
    raise RuntimeError("no free loopback port range found")
