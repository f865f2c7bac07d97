"""Splicing recorded pieces into one utterance, and the slot rules that say which pieces to splice.

Slot rules follow Asterisk's SayNumber / SayDate / SayTime: a value is spoken as a sequence of vocabulary
tokens, each one recording ("120 dollars" -> "1" "hundred" "20" "dollars"; "3 pm" -> "3" "p-m"). A token is
the file stem of its recording (`3.wav`, `p-m.wav`, `tuesday.wav`, `14th.wav`). Mandarin rules
(`language="zh"`: "下午3点" -> "下午" "三" "点") live in `tts.splice_zh`.

Audio: every piece is trimmed of its leading and trailing silence, brought to one active-speech level
(gated RMS, a cheap stand-in for LUFS), and joined with short equal-gain crossfades, so a join is never a
step: each output sample near a join is a weighted mean of neighbouring samples of the two pieces.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from tts import splice_zh
from tts.audio import FloatPcm

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
RELATIVE_DAYS = ("today", "tomorrow")
SLOT_KINDS = ("day", "date", "time", "number", "amount", "digits", "first_name")
LANGUAGES = ("en", "zh")

DEFAULT_CROSSFADE_MS = 8.0
DEFAULT_GAP_MS = 40.0
TARGET_ACTIVE_DBFS = -20.0
PEAK_LIMIT = 0.95
_GATE_BELOW_LOUDEST_DB = 30.0  # frames this far below the loudest frame are pauses, not speech
_TRIM_BELOW_PEAK_DB = 40.0
_TRIM_MARGIN_MS = 15.0


_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # ling (U+3007) and the unified ideographs
_KEY_PART = re.compile(f"[a-z0-9]+|[{_CJK}]+")
MAX_KEY_BYTES = 240  # a file name is at most 255 bytes; 80 Chinese characters take 240


def slug(text: str) -> str:
    """The recording key of a phrase, also its file stem: lower case, English words joined by '-' ("p.m." ->
    "p-m"); Chinese characters kept and punctuation and spaces dropped ("您好，请稍等。" -> "您好请稍等",
    "3月14日" -> "3月14日"). Full-width forms count as their ASCII ones. A key over `MAX_KEY_BYTES` of UTF-8
    is cut and ends in a hash of the whole, so it stays a valid file name and unique."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("\u2019", "")
    key = ""
    for part in _KEY_PART.findall(text):
        key += f"-{part}" if key and key[-1].isascii() and part.isascii() else part
    if len(key.encode()) <= MAX_KEY_BYTES:
        return key
    head = key.encode()[: MAX_KEY_BYTES - 11].decode(errors="ignore").rstrip("-")
    return head + ("-" if head[-1].isascii() else "") + hashlib.sha256(key.encode()).hexdigest()[:10]


# ---- numbers, amounts, times, dates (Asterisk SayNumber rules) ----


def number_tokens(n: int) -> list[str]:
    """Cardinal number: 0-20 and tens are one token each; then hundred / thousand / million."""
    if n < 0:
        return ["minus", *number_tokens(-n)]
    if n <= 20:
        return [str(n)]
    for size, word in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return [*number_tokens(n // size), word, *(number_tokens(rest) if rest else [])]
    tens, units = divmod(n, 10)
    return [str(tens * 10), *([str(units)] if units else [])]


def ordinal_tokens(n: int) -> list[str]:
    """Ordinal for dates 1-31: "14th"; "21st" -> "20" "1st" (Asterisk's h-N files)."""
    if not 1 <= n <= 31:
        raise ValueError(f"expected a day of month 1-31, got {n}")
    if n <= 20 or n % 10 == 0:
        return [_ordinal_name(n)]
    return [str(n - n % 10), _ordinal_name(n % 10)]


def _ordinal_name(n: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n if n < 20 else 0, "th")
    return f"{n}{suffix}"


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(?:(a|p)\.?\s*m\.?|(o'?clock))?$")
_AMOUNT = re.compile(r"^\$?\s*(\d[\d,]*)(?:\.(\d{2}))?(?:\s*dollars?)?$")


def time_tokens(text: str) -> list[str]:
    """ "3 pm" -> 3 p-m; "3:30 p.m." -> 3 30 p-m; "9:05" -> 9 oh 5; "3 o'clock" -> 3 oclock."""
    m = _TIME.match(text.strip().lower())
    if m is None:
        raise ValueError(f"expected a time like '3 pm' or '9:30', got {text!r}")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"expected a time of day, got {text!r}")
    twenty_four_hour = hour > 12 or hour == 0
    tokens = number_tokens(hour % 12 or 12)
    if minute:
        tokens += ["oh", *number_tokens(minute)] if minute < 10 else number_tokens(minute)
    if m.group(3):
        tokens.append(f"{m.group(3)}-m")
    elif twenty_four_hour:
        tokens.append("p-m" if hour >= 12 else "a-m")
    elif m.group(4):
        tokens.append("oclock")
    return tokens


def amount_tokens(text: str) -> list[str]:
    """ "$120" / "120 dollars" -> 1 hundred 20 dollars; "$12.50" -> 12 dollars and 50 cents."""
    m = _AMOUNT.match(text.strip().lower())
    if m is None:
        raise ValueError(f"expected an amount like '$120' or '12.50 dollars', got {text!r}")
    dollars, cents = int(m.group(1).replace(",", "")), int(m.group(2) or 0)
    tokens = [*number_tokens(dollars), "dollar" if dollars == 1 else "dollars"]
    if cents:
        tokens += ["and", *number_tokens(cents), "cent" if cents == 1 else "cents"]
    return tokens


def date_tokens(text: str) -> list[str]:
    """ "March 14" / "March 14th" -> march 14th; "today"/"tomorrow"/weekday names pass through."""
    words = text.strip().lower().replace(",", " ").split()
    if len(words) == 1 and words[0] in (*DAYS, *RELATIVE_DAYS):
        return words
    if len(words) == 2 and words[0] in MONTHS:
        day = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", words[1])
        if day:
            return [words[0], *ordinal_tokens(int(day.group(1)))]
    raise ValueError(f"expected a date like 'March 14' or a day name, got {text!r}")


def slot_tokens(kind: str, value: str, language: str = "en") -> list[str]:
    """The vocabulary tokens that speak `value` as a slot of `kind` in `language` ("en" or "zh")."""
    value = value.strip()
    if kind == "first_name":
        return [slug(value)]
    if language == "zh":
        return splice_zh.slot_tokens(kind, value)
    if language != "en":
        raise ValueError(f"expected a language in {LANGUAGES}, got {language!r}")
    if kind in ("day", "date"):
        return date_tokens(value)
    if kind == "time":
        return time_tokens(value)
    if kind == "amount":
        return amount_tokens(value)
    if kind == "number":
        return number_tokens(int(value.replace(",", "")))
    if kind == "digits":
        return [ch for ch in value if ch.isdigit()]
    raise ValueError(f"expected a slot kind in {SLOT_KINDS}, got {kind!r}")


# ---- audio ----


def _frame_db(x: FloatPcm, rate_hz: int) -> FloatPcm:
    n = max(1, rate_hz // 100)  # 10 ms frames
    usable = len(x) - len(x) % n
    if usable == 0:
        return np.full(1, -120.0, dtype=np.float32)
    power = np.mean(np.square(x[:usable].reshape(-1, n), dtype=np.float64), axis=1)
    db: FloatPcm = (10 * np.log10(power + 1e-12)).astype(np.float32)
    return db


def active_rms_db(x: FloatPcm, rate_hz: int) -> float:
    """Level of the speech only: mean power of the 10 ms frames within 30 dB of the loudest one."""
    db = _frame_db(x, rate_hz)
    active = db[db > db.max() - _GATE_BELOW_LOUDEST_DB]
    return float(10 * np.log10(np.mean(10 ** (active / 10))))


def trim_silence(x: FloatPcm, rate_hz: int, margin_ms: float = _TRIM_MARGIN_MS) -> FloatPcm:
    """Cut leading and trailing frames 40 dB below the loudest, keeping `margin_ms` either side."""
    db = _frame_db(x, rate_hz)
    loud = np.flatnonzero(db > db.max() - _TRIM_BELOW_PEAK_DB)
    if len(loud) == 0:
        return x
    n = max(1, rate_hz // 100)
    margin = int(rate_hz * margin_ms / 1000)
    start = max(0, int(loud[0]) * n - margin)
    end = min(len(x), (int(loud[-1]) + 1) * n + margin)
    return x[start:end]


def match_loudness(x: FloatPcm, rate_hz: int, target_dbfs: float = TARGET_ACTIVE_DBFS) -> FloatPcm:
    """Scale to `target_dbfs` active level; the gain is capped so the peak stays below `PEAK_LIMIT`."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak == 0.0:
        return x
    gain = 10 ** ((target_dbfs - active_rms_db(x, rate_hz)) / 20)
    gain = min(gain, PEAK_LIMIT / peak)
    return (x * gain).astype(np.float32)


def crossfade_join(a: FloatPcm, b: FloatPcm, overlap: int) -> FloatPcm:
    """`a` then `b`, overlapping by `overlap` samples with a raised-cosine crossfade (gains sum to 1)."""
    overlap = min(overlap, len(a), len(b))
    if overlap == 0:
        return np.concatenate([a, b]).astype(np.float32)
    fade_in = (0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)).astype(np.float32)
    mixed = a[-overlap:] * (1 - fade_in) + b[:overlap] * fade_in
    return np.concatenate([a[:-overlap], mixed, b[overlap:]]).astype(np.float32)


def prepare_piece(x: FloatPcm, rate_hz: int, target_dbfs: float = TARGET_ACTIVE_DBFS) -> FloatPcm:
    """A recording ready to splice: trimmed and loudness-matched."""
    return match_loudness(trim_silence(np.asarray(x, dtype=np.float32), rate_hz), rate_hz, target_dbfs)


def splice(
    pieces: Sequence[FloatPcm],
    rate_hz: int,
    *,
    crossfade_ms: float = DEFAULT_CROSSFADE_MS,
    gap_ms: float = DEFAULT_GAP_MS,
) -> FloatPcm:
    """Join prepared pieces: piece, crossfade into `gap_ms` of silence, crossfade into the next piece.

    With a gap, each join is a fade to silence and back, so no join can step; without one, pieces are
    crossfaded directly into each other.
    """
    overlap = int(rate_hz * crossfade_ms / 1000)
    gap = np.zeros(int(rate_hz * gap_ms / 1000) + 2 * overlap, dtype=np.float32)
    out = np.zeros(0, dtype=np.float32)
    for i, piece in enumerate(pieces):
        if i and gap_ms > 0:
            out = crossfade_join(out, gap, overlap)
        out = crossfade_join(out, piece, overlap) if len(out) else _fade_edges(piece, overlap)
    return _fade_edges(out, overlap)


def _fade_edges(x: FloatPcm, overlap: int) -> FloatPcm:
    """Fade the first and last `overlap` samples in and out (the utterance starts and ends at zero)."""
    n = min(overlap, len(x) // 2)
    if n == 0:
        return x.astype(np.float32)
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
    y = x.astype(np.float32, copy=True)
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y
