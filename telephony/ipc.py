"""Messages between the main process and a SIP worker.

One AF_UNIX SOCK_SEQPACKET socket per worker: every message is one datagram, so there is no framing,
and audio and control share one ordered stream (a `flush` lands after the frames sent before it).
Audio is a fixed binary header plus raw PCM; control is JSON. The first byte names the kind.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

TX_AUDIO = 1  # main -> worker: one 20 ms frame to play on a call
RX_AUDIO = 2  # worker -> main: one 20 ms tick of a call (what arrived, and what was played)
CONTROL = 3  # both ways: JSON commands and events

_TX = struct.Struct("<BII")  # kind, call_id, seq
# kind, call_id, rx seq, timestamp (monotonic s), played tx seq (0 = silence), tx depth, tx received total
_RX = struct.Struct("<BIIdIHI")
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
MAX_DATAGRAM = 64 * 1024


@dataclass(frozen=True, slots=True)
class RxTick:
    call_id: int
    seq: int
    timestamp_s: float
    played_seq: int
    tx_depth: int
    tx_received: int
    pcm: bytes  # empty when nothing arrived this tick


def encode_tx(call_id: int, seq: int, pcm: bytes) -> bytes:
    return _TX.pack(TX_AUDIO, call_id, seq) + pcm


def decode_tx(msg: bytes) -> tuple[int, int, bytes]:
    _, call_id, seq = _TX.unpack_from(msg)
    return call_id, seq, msg[_TX.size :]


def encode_rx(tick: RxTick) -> bytes:
    header = _RX.pack(
        RX_AUDIO,
        tick.call_id,
        tick.seq,
        tick.timestamp_s,
        tick.played_seq,
        min(tick.tx_depth, 0xFFFF),
        tick.tx_received,
    )
    return header + tick.pcm


def decode_rx(msg: bytes) -> RxTick:
    _, call_id, seq, ts, played, depth, received = _RX.unpack_from(msg)
    return RxTick(call_id, seq, ts, played, depth, received, msg[_RX.size :])


def encode_control(obj: dict[str, Any]) -> bytes:
    return bytes([CONTROL]) + json.dumps(obj, separators=(",", ":")).encode()


def decode_control(msg: bytes) -> dict[str, Any]:
    obj = json.loads(msg[1:])
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def kind(msg: bytes) -> int:
    return msg[0] if msg else 0


def rx_header_size() -> int:
    return _RX.size
