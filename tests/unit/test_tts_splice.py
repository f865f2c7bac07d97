import numpy as np
import pytest

from tts.splice import (
    active_rms_db,
    amount_tokens,
    crossfade_join,
    date_tokens,
    number_tokens,
    prepare_piece,
    slot_tokens,
    slug,
    splice,
    time_tokens,
    trim_silence,
)
from tts.voice_profile import DEFAULT_SCRIPT, Script, plan_recording

pytestmark = pytest.mark.unit
RATE = 8000


def tone(freq_hz: float, seconds: float, amplitude: float, phase: float = 0.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t + phase)).astype(np.float32)


def max_step(x: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(x))))


# ---- slot expansion ----


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("3 pm", ["3", "p-m"]),
        ("3 p.m.", ["3", "p-m"]),
        ("3:30 PM", ["3", "30", "p-m"]),
        ("9:05 am", ["9", "oh", "5", "a-m"]),
        ("3 o'clock", ["3", "oclock"]),
        ("15:45", ["3", "40", "5", "p-m"]),
        ("0:15", ["12", "15", "a-m"]),
    ],
)
def test_time_expansion(text: str, tokens: list[str]) -> None:
    assert time_tokens(text) == tokens


@pytest.mark.parametrize(
    ("n", "tokens"),
    [(0, ["0"]), (17, ["17"]), (20, ["20"]), (42, ["40", "2"]), (120, ["1", "hundred", "20"]),
     (1999, ["1", "thousand", "9", "hundred", "90", "9"]), (2000, ["2", "thousand"])],
)  # fmt: skip
def test_number_expansion_follows_say_number(n: int, tokens: list[str]) -> None:
    assert number_tokens(n) == tokens


def test_amounts() -> None:
    assert amount_tokens("$120") == ["1", "hundred", "20", "dollars"]
    assert amount_tokens("120 dollars") == ["1", "hundred", "20", "dollars"]
    assert amount_tokens("$1") == ["1", "dollar"]
    assert amount_tokens("$1,250.05") == ["1", "thousand", "2", "hundred", "50", "dollars", "and", "5", "cents"]


def test_days_and_dates() -> None:
    assert slot_tokens("day", "Tuesday") == ["tuesday"]
    assert slot_tokens("day", "tomorrow") == ["tomorrow"]
    assert date_tokens("March 14th") == ["march", "14th"]
    assert date_tokens("march 21") == ["march", "20", "1st"]
    assert date_tokens("June 30") == ["june", "30th"]


@pytest.mark.parametrize(("kind", "value"), [("time", "half past"), ("day", "Blursday"), ("amount", "lots"),
                                             ("date", "March 32"), ("time", "25:00")])  # fmt: skip
def test_bad_slot_values_raise(kind: str, value: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        slot_tokens(kind, value)


def test_slug_is_the_recording_key() -> None:
    assert slug("One moment, please.") == "one-moment-please"
    assert slug("p.m.") == "p-m"
    assert slug("O'Brien") == "obrien"


@pytest.mark.parametrize(
    ("text", "key"),
    [("3:30 p.m.", "3-30-p-m"), ("O\u2019Brien", "obrien"), ("\uff2f\uff2e\uff25\u3000moment", "one-moment"),
     ("José", "jos"), ("请稍等。", "请稍等"), ("您的预约在", "您的预约在"), ("Acme 客服", "acme客服")],
)  # fmt: skip
def test_slug_of_english_is_unchanged_and_mandarin_keeps_its_characters(text: str, key: str) -> None:
    assert slug(text) == key


def test_slot_tokens_take_a_language() -> None:
    assert slot_tokens("time", "3 pm", "en") == slot_tokens("time", "3 pm") == ["3", "p-m"]
    assert slot_tokens("time", "下午3点", "zh") == ["下午", "三", "点"]
    assert slot_tokens("digits", "2 0 1", "zh") == ["二", "零", "幺"]


# ---- which recordings speak a text ----

HAVE = {"your-appointment-is-on", "at", "tuesday", "3", "30", "p-m", "one-moment-please", "your", "quote", "is",
        "1", "hundred", "20", "dollars", "per", "month"}  # fmt: skip


def test_plan_prefers_the_whole_line_then_splices_slots() -> None:
    assert plan_recording("One moment, please.", DEFAULT_SCRIPT, HAVE) == ["one-moment-please"]
    assert plan_recording("Your appointment is on Tuesday at 3 pm.", DEFAULT_SCRIPT, HAVE) == [
        "your-appointment-is-on", "tuesday", "at", "3", "p-m"]  # fmt: skip
    assert plan_recording("your appointment is on TUESDAY at 3:30 p.m.", DEFAULT_SCRIPT, HAVE) == [
        "your-appointment-is-on", "tuesday", "at", "3", "30", "p-m"]  # fmt: skip


def test_plan_falls_back_to_word_recordings_for_a_fixed_part() -> None:
    assert plan_recording("Your quote is $120 per month.", DEFAULT_SCRIPT, HAVE) == [
        "your", "quote", "is", "1", "hundred", "20", "dollars", "per", "month"]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["Your appointment is on Wednesday at 3 pm.",  # no recording of "wednesday"
     "Your appointment is on Tuesday at 4 pm.",  # no "4"
     "Your appointment is on Blursday at 3 pm.",  # not a day
     "Something else entirely."],
)  # fmt: skip
def test_plan_is_none_when_recordings_cannot_say_it(text: str) -> None:
    assert plan_recording(text, DEFAULT_SCRIPT, HAVE) is None


def test_script_lists_every_required_recording() -> None:
    script = Script.from_dict({"lines": {"a": "Hello there.", "b": "See you {day}."}})
    keys = script.required_keys()
    assert keys["hello-there"] == "line 'a'"
    assert keys["see-you"] == "part of line 'b'"
    assert {"monday", "sunday", "today", "tomorrow"} <= set(keys)
    with pytest.raises(ValueError, match="slot kind"):
        Script.from_dict({"lines": {"c": "At {weather}."}})


# ---- audio ----


def test_loudness_matching_brings_pieces_to_one_level() -> None:
    quiet, loud = tone(220, 0.5, 0.02), tone(330, 0.5, 0.6)
    levels = [active_rms_db(prepare_piece(x, RATE), RATE) for x in (quiet, loud)]
    assert levels == pytest.approx([-20.0, -20.0], abs=0.3)


def test_loudness_gain_never_clips() -> None:
    spiky = tone(220, 0.5, 0.01)
    spiky[100] = 0.9  # one peak far above the speech level
    assert float(np.max(np.abs(prepare_piece(spiky, RATE)))) <= 0.95 + 1e-6


def test_trim_silence_keeps_a_margin() -> None:
    x = np.concatenate([np.zeros(4000), tone(200, 0.25, 0.3), np.zeros(4000)]).astype(np.float32)
    trimmed = trim_silence(x, RATE)
    assert 2000 <= len(trimmed) <= 2000 + 2 * 120 + 160


def test_crossfade_gains_sum_to_one() -> None:
    joined = crossfade_join(np.ones(100, np.float32), np.ones(100, np.float32), 40)
    assert len(joined) == 160
    np.testing.assert_allclose(joined, 1.0, atol=1e-6)


@pytest.mark.parametrize("gap_ms", [0.0, 40.0])
def test_joins_have_no_step_larger_than_inside_the_pieces(gap_ms: float) -> None:
    # Pieces that end and start mid-cycle at very different values: a hard cut would click.
    a = tone(300, 0.3, 0.5, phase=0.3)
    b = tone(180, 0.3, 0.5, phase=np.pi / 2)
    pieces = [prepare_piece(a, RATE), prepare_piece(b, RATE)]
    hard_cut = np.concatenate(pieces)
    assert max_step(hard_cut) > 1.5 * max(max_step(p) for p in pieces)  # the test would catch a click
    out = splice(pieces, RATE, crossfade_ms=8.0, gap_ms=gap_ms)
    assert max_step(out) <= max(max_step(p) for p in pieces) + 1e-6
    assert abs(out[0]) < 0.01 and abs(out[-1]) < 0.01  # the utterance starts and ends at zero


def test_splice_length_is_pieces_plus_gaps() -> None:
    pieces = [np.ones(800, np.float32) * 0.1, np.ones(800, np.float32) * 0.1]
    out = splice(pieces, RATE, crossfade_ms=5.0, gap_ms=40.0)
    assert len(out) == 800 + 800 + 320  # each crossfade overlaps 40 samples with the padded gap
