import pytest

from telephony import ipc

pytestmark = pytest.mark.unit


def test_tx_audio_round_trip() -> None:
    msg = ipc.encode_tx(7, 123456, b"\x01\x02" * 160)
    assert ipc.kind(msg) == ipc.TX_AUDIO
    assert ipc.decode_tx(msg) == (7, 123456, b"\x01\x02" * 160)


def test_rx_tick_round_trip_keeps_every_field() -> None:
    tick = ipc.RxTick(3, 99, 1234.5678, 42, 17, 1000, b"\x00\x7f" * 160)
    msg = ipc.encode_rx(tick)
    assert ipc.kind(msg) == ipc.RX_AUDIO
    assert ipc.decode_rx(msg) == tick
    assert len(msg) == ipc.rx_header_size() + 320


def test_rx_tick_without_audio_is_header_only() -> None:
    tick = ipc.RxTick(1, 1, 0.0, 0, 0, 0, b"")
    assert ipc.decode_rx(ipc.encode_rx(tick)).pcm == b""


def test_control_round_trip_and_rejects_non_objects() -> None:
    cmd = {"op": "call", "call_id": 5, "to": "sip:a@b", "headers": {"X-Lead": "9"}}
    assert ipc.decode_control(ipc.encode_control(cmd)) == cmd
    with pytest.raises(ValueError, match="expected a JSON object"):
        ipc.decode_control(bytes([ipc.CONTROL]) + b"[1, 2]")
