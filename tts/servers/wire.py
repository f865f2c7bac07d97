"""Length-prefixed messages over a speech server's pipes: the one framing both the servers and their clients speak.

Every message is a 4-byte big-endian length and that many bytes of payload. JSON messages (start-up, requests,
reply headers) are objects in ASCII JSON of at most `MAX_JSON_BYTES`, checked on both sides; an audio body is
raw bytes, read with a limit the client takes from the header that announced it.

- Server side, blocking: `read_message` from stdin (None at a clean end of input); `write_message` and
  `write_json` to the protocol stream that `take_stdout` takes over.
- Client side: `PipeReader` reads whole messages from the server's stdout before a monotonic deadline, so a
  hung server is a `TimeoutError`, never a hung call; requests go out with `write_json`.

Standard library only and no project imports: the servers load this file as a sibling module from venvs where
the project is not installed (see `tts/servers/__init__.py`).
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import sys
import time
from typing import IO, Any

LENGTH = struct.Struct(">I")
MAX_JSON_BYTES = 64 * 1024  # a request, a reply header or a start-up message: far above any one clause
READ_CHUNK_BYTES = 1 << 20


def read_message(stream: IO[bytes], max_bytes: int = MAX_JSON_BYTES) -> bytes | None:
    """The next message from a blocking buffered stream, or None at a clean end of input (EOF before a length)."""
    header = stream.read(LENGTH.size)
    if not header:
        return None
    if len(header) < LENGTH.size:
        raise EOFError(f"expected a {LENGTH.size}-byte length, got end of input")
    (size,) = LENGTH.unpack(header)
    if size > max_bytes:
        raise ValueError(f"expected a message of at most {max_bytes} bytes, got {size}")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError(f"expected {size} bytes, got {len(payload)} before end of input")
    return payload


def write_message(stream: IO[bytes], payload: bytes) -> None:
    """One message, flushed at once: the peer is blocked waiting for it."""
    stream.write(LENGTH.pack(len(payload)) + payload)
    stream.flush()


def write_json(stream: IO[bytes], obj: dict[str, Any]) -> None:
    """One JSON message; a `ValueError` and nothing written when it is over the limit the peer reads with."""
    payload = json.dumps(obj, ensure_ascii=True).encode()
    if len(payload) > MAX_JSON_BYTES:
        raise ValueError(f"expected a JSON message of at most {MAX_JSON_BYTES} bytes, got {len(payload)}")
    write_message(stream, payload)


def take_stdout() -> IO[bytes]:
    """The server's protocol stream on a dup of fd 1; fd 1 and `sys.stdout` then point at /dev/null, so that no
    stray print (model libraries print freely, sometimes the text itself) can corrupt the pipe."""
    protocol = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # lives as long as the process
    return protocol


class PipeReader:
    """The client's end of a server's stdout: whole messages before a deadline (`time.monotonic()` seconds).

    It polls the fd and reads it unbuffered (no reader thread; no data left behind in a Python buffer between
    polls). A deadline that passes is a `TimeoutError`, a server that closed its output (it died) an `EOFError`,
    a message over the limit or a JSON message that is not an object a `ValueError`. After any of them the pipe
    is out of step: stop the server. `peer` names it in those errors.
    """

    def __init__(self, stream: IO[bytes], peer: str) -> None:
        self._fd = stream.fileno()
        self._peer = peer
        self._poll = select.poll()  # unlike select.select, no limit on the fd number
        self._poll.register(self._fd, select.POLLIN)

    def read_exact(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            timeout_s = deadline - time.monotonic()
            if timeout_s <= 0 or not self._poll.poll(math.ceil(timeout_s * 1000)):
                raise TimeoutError(f"expected {size} bytes from the {self._peer}, got a timeout")
            chunk = os.read(self._fd, min(remaining, READ_CHUNK_BYTES))
            if not chunk:
                raise EOFError(f"expected {size} bytes from the {self._peer}, got end of output (it died)")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def read_message(self, deadline: float, max_bytes: int) -> bytes:
        (size,) = LENGTH.unpack(self.read_exact(LENGTH.size, deadline))
        if size > max_bytes:
            raise ValueError(f"expected a message of at most {max_bytes} bytes from the {self._peer}, got {size}")
        return self.read_exact(size, deadline)

    def read_json(self, deadline: float) -> dict[str, Any]:
        payload = self.read_message(deadline, MAX_JSON_BYTES)
        try:
            obj = json.loads(payload)
        except ValueError as exc:  # not JSON, or not UTF-8; the payload itself stays out of the error
            raise ValueError(f"expected a JSON object from the {self._peer}, got {type(exc).__name__}") from None
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object from the {self._peer}, got {type(obj).__name__}")
        return obj
