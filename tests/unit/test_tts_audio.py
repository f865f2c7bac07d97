import itertools
import struct

import numpy as np
import pytest

from tts.audio import Framer, Resampler, float_to_int16
from tts.espeak_engine import parse_wav_stream
from tts.text import split_clauses

pytestmark = pytest.mark.unit


def _sine(freq_hz: float, rate_hz: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * rate_hz / len(x))


@pytest.mark.parametrize(("rate_hz", "frame_len"), [(8000, 160), (16000, 320)])
def test_framer_cuts_20ms_frames_and_pads_only_the_tail(rate_hz: int, frame_len: int) -> None:
    framer = Framer(rate_hz)
    framer.push(np.arange(frame_len - 10, dtype=np.int16))
    assert framer.pop() is None  # not a whole frame yet
    framer.push(np.arange(frame_len + 30, dtype=np.int16))
    first, second = framer.pop(), framer.pop()
    assert first is not None and second is not None
    assert np.array_equal(first, np.concatenate([np.arange(frame_len - 10), np.arange(10)]))
    assert np.array_equal(second, np.arange(10, frame_len + 10))
    assert framer.pop() is None and framer.buffered_samples == 20
    framer.flush()
    last = framer.pop()
    assert last is not None and len(last) == frame_len
    assert np.array_equal(last[:20], np.arange(frame_len + 10, frame_len + 30)) and not last[20:].any()
    framer.flush()  # on a frame boundary: nothing to pad
    assert framer.pop() is None


@pytest.mark.parametrize("out_rate_hz", [8000, 16000])
def test_streaming_resample_keeps_length_and_pitch_across_odd_chunks(out_rate_hz: int) -> None:
    x = _sine(440.0, 22050, 1.0)
    resampler = Resampler(22050, out_rate_hz)
    cuts = [0, 1, 777, 5000, 12345, len(x)]
    parts = [resampler.push(x[a:b], last=b == len(x)) for a, b in itertools.pairwise(cuts)]
    y = np.concatenate(parts)
    assert abs(len(y) - out_rate_hz) <= 2  # the flushed tail is included
    assert abs(_peak_hz(y, out_rate_hz) - 440.0) < 2.0
    one_shot = Resampler(22050, out_rate_hz).push(x, last=True)
    assert len(one_shot) == len(y)
    assert np.max(np.abs(one_shot.astype(int) - y.astype(int))) <= 2


def test_resampler_removes_content_above_the_new_nyquist() -> None:
    y = Resampler(22050, 8000).push(_sine(6000.0, 22050, 1.0), last=True)
    assert np.sqrt(np.mean(y.astype(np.float64) ** 2)) < 100  # a 6 kHz tone cannot survive at 8 kHz


def test_resampler_passes_through_at_equal_rates_and_refuses_after_flush() -> None:
    resampler = Resampler(8000, 8000)
    x = _sine(300.0, 8000, 0.1)
    assert np.array_equal(resampler.push(x, last=True), float_to_int16(x))
    with pytest.raises(RuntimeError, match="already flushed"):
        resampler.push(x)


def test_float_to_int16_clips_overshoot() -> None:
    out = float_to_int16(np.array([-1.5, -1.0, 0.0, 0.5, 1.2], dtype=np.float32))
    assert out.tolist() == [-32767, -32767, 0, 16384, 32767]


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("Hi, this is Sarah. Do you have a minute?", ["Hi,", "this is Sarah.", "Do you have a minute?"]),
        ("Would three p.m. work? Dr. Smith agreed.", ["Would three p.m. work?", "Dr. Smith agreed."]),
        ("It costs 1,000 dollars; or 3.5 a month!", ["It costs 1,000 dollars;", "or 3.5 a month!"]),
        ("您好，请问您现在方便吗？", ["您好，", "请问您现在方便吗？"]),
        ("  ...  ", []),
        ("", []),
    ],
)
def test_split_clauses(text: str, clauses: list[str]) -> None:
    assert split_clauses(text) == clauses


def test_split_clauses_cuts_long_clauses_at_word_boundaries() -> None:
    clauses = split_clauses("one two three four five six seven", max_chars=10)
    assert clauses == ["one two", "three four", "five six", "seven"]
    assert " ".join(clauses) == "one two three four five six seven"


def _wav_header(rate_hz: int, bits: int = 16) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate_hz, rate_hz * 2, 2, bits)
    return b"RIFF" + struct.pack("<I", 0x7FFFF024) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt


def test_parse_wav_stream_reads_a_pipe_wav_with_unset_sizes() -> None:
    body = np.array([0, 16384, -16384, 32767], dtype="<i2").tobytes()
    rate, samples = parse_wav_stream(_wav_header(22050) + b"data" + struct.pack("<I", 0x7FFFF000) + body + b"\x01")
    assert rate == 22050
    assert samples.tolist() == pytest.approx([0.0, 0.5, -0.5, 32767 / 32768])


def test_parse_wav_stream_rejects_other_input() -> None:
    with pytest.raises(ValueError, match="RIFF/WAVE"):
        parse_wav_stream(b"not a wav at all")
    with pytest.raises(ValueError, match="16-bit"):
        parse_wav_stream(_wav_header(22050, bits=8) + b"data" + struct.pack("<I", 0))
