"""Text plumbing for the slot extractors: normalisation that remembers where each character came from,
English number words to digits, and Chinese numerals to numbers.

Extractors match on normalised text (NFKC, lower case, straight apostrophes, number words as digits) but a
slot quotes the customer's own words, so every normalised character keeps the span it came from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"}


@dataclass(frozen=True, slots=True)
class Norm:
    """Normalised text; normalised character i came from `source[starts[i]:ends[i]]`."""

    text: str
    source: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original(self, start: int, end: int) -> str:
        """The customer's own words behind normalised `text[start:end]`."""
        if end <= start:
            return ""
        return self.source[self.starts[start] : self.ends[end - 1]].strip()


def normalize(source: str) -> Norm:
    """NFKC (full-width digits and colons become ASCII), lower case, straight apostrophes."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(source):
        for c in unicodedata.normalize("NFKC", ch).lower():
            chars.append(_APOSTROPHES.get(c, c))
            starts.append(i)
            ends.append(i + 1)
    return Norm("".join(chars), source, tuple(starts), tuple(ends))


def substitute(norm: Norm, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> Norm:
    """`re.sub` that keeps the map to the original: each replacement character maps to the whole match."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in pattern.finditer(norm.text):
        s, e = m.span()
        if s == e:
            continue
        chars.append(norm.text[pos:s])
        starts.extend(norm.starts[pos:s])
        ends.extend(norm.ends[pos:s])
        new = repl(m)
        chars.append(new)
        starts.extend([norm.starts[s]] * len(new))
        ends.extend([norm.ends[e - 1]] * len(new))
        pos = e
    chars.append(norm.text[pos:])
    starts.extend(norm.starts[pos:])
    ends.extend(norm.ends[pos:])
    return Norm("".join(chars), norm.source, tuple(starts), tuple(ends))


# --- English number words -------------------------------------------------------------------------------

_UNITS = dict(zip("zero one two three four five six seven eight nine".split(), range(10), strict=True))
_TEENS = dict(
    zip(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split(),
        range(10, 20),
        strict=True,
    )
)
_TENS = dict(zip("twenty thirty forty fifty sixty seventy eighty ninety".split(), range(20, 100, 10), strict=True))
_SCALES = {"thousand": 1000, "million": 1_000_000}
_TEEN_ORDINALS = "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
_ORDINALS = {
    **dict(zip("first second third fourth fifth sixth seventh eighth ninth".split(), range(1, 10), strict=True)),
    **dict(zip(_TEEN_ORDINALS.split(), range(10, 20), strict=True)),
    "twentieth": 20,
    "thirtieth": 30,
}
_CARDINAL_WORDS = [*_UNITS, *_TEENS, *_TENS, "hundred", *_SCALES]
# "second" is a unit of time far more often than a date: it starts a number only after "the" ("the second").
_START_WORDS = "|".join(sorted([*_CARDINAL_WORDS, *(w for w in _ORDINALS if w != "second")], key=len, reverse=True))
_NEXT_WORDS = "|".join(sorted([*_CARDINAL_WORDS, *_ORDINALS], key=len, reverse=True))
_NUMBER_RUN = re.compile(
    rf"\b(?:a(?=[\s-]+(?:hundred|thousand|million)\b)|(?<=the\s)second|{_START_WORDS})\b"
    rf"(?:(?:[\s-]+|\s+and\s+)(?:{_NEXT_WORDS})\b)*"
)


def _kind(word: str) -> tuple[str, int]:
    """(kind, value) of a number word; ordinals share the kind of their cardinal ("ordinal" marks the end)."""
    if word == "a":
        return "unit", 1
    for kind, table in (("unit", _UNITS), ("teen", _TEENS), ("tens", _TENS), ("scale", _SCALES)):
        if word in table:
            return kind, table[word]
    if word == "hundred":
        return "hundred", 100
    value = _ORDINALS[word]
    return ("unit" if value < 10 else "teen" if value < 20 else "tens"), value


_FITS_AFTER = {
    "unit": ("", "tens", "hundred", "scale"),
    "teen": ("", "hundred", "scale"),
    "tens": ("", "hundred", "scale"),
    "hundred": ("unit", "teen", "tens"),
    "scale": ("unit", "teen", "tens", "hundred"),
}


def _ordinal_suffix(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


class _NumberRun:
    """Reads a run of number words into digits: "twenty five" → 25, "three thirty" → "3 30"."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.total = 0
        self.current = 0
        self.last = ""

    def flush(self, suffix: str = "") -> None:
        if self.last:
            n = self.total + self.current
            self.out.append(f"{n}{_ordinal_suffix(n) if suffix else ''}")
        self.total = self.current = 0
        self.last = ""

    def feed(self, word: str) -> None:
        if word == "and":
            if self.last not in ("hundred", "scale"):
                self.flush()
                self.out.append("and")
            return
        kind, value = _kind(word)
        if self.last not in _FITS_AFTER[kind]:
            self.flush()
            if kind in ("hundred", "scale") or word == "second":  # "thousand" alone: keep the word
                self.out.append(word)
                return
        if kind == "hundred":
            self.current *= 100
        elif kind == "scale":
            self.total += self.current * value
            self.current = 0
        else:
            self.current += value
        self.last = kind
        if word in _ORDINALS:
            self.flush(suffix="ordinal")


def _run_to_digits(m: re.Match[str]) -> str:
    run = _NumberRun()
    for word in re.split(r"[\s-]+", m.group(0)):
        run.feed(word)
    run.flush()
    return " ".join(run.out)


def english_numbers(norm: Norm) -> Norm:
    """Number words as digits: "five hundred" → "500", "the fifteenth" → "the 15th", "a hundred" → "100"."""
    return substitute(norm, _NUMBER_RUN, _run_to_digits)


# --- Chinese numerals -----------------------------------------------------------------------------------

ZH_DIGITS = {
    "零": 0,
    "\u3007": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_ZEROS = "零\u3007"
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_ZH_TOKEN = re.compile(r"\d+(?:\.\d+)?|.", re.DOTALL)


class _ZhNumber:
    """Accumulates a Chinese numeral; a digit left after a unit is one unit lower: 两万五 = 25000."""

    def __init__(self) -> None:
        self.total = 0.0
        self.section = 0.0
        self.digit: float | None = None
        self.unit = 1
        self.zero = False
        self.seen = False

    def feed(self, tok: str) -> bool:
        self.seen = True
        if tok[0].isdigit() or (tok in ZH_DIGITS and tok not in _ZH_ZEROS):
            if self.digit is not None:  # two digits in a row ("二零二六", "五六"): not one number
                return False
            self.digit = float(tok) if tok[0].isdigit() else float(ZH_DIGITS[tok])
            return True
        if tok in _ZH_ZEROS:
            self.zero = True
            return self.digit is None
        if tok in _ZH_UNITS:
            self.section += (1.0 if self.digit is None else self.digit) * _ZH_UNITS[tok]
        elif tok in _ZH_BIG:
            value = self.section + (self.digit or 0.0)
            self.total = (self.total + value) * _ZH_BIG[tok] if tok == "亿" else self.total + value * _ZH_BIG[tok]
            self.section = 0.0
        else:
            return False
        self.unit = _ZH_UNITS.get(tok) or _ZH_BIG[tok]
        self.digit, self.zero = None, False
        return True

    def value(self) -> float | None:
        if not self.seen:
            return None
        last = 0.0
        if self.digit is not None:
            last = self.digit if self.zero or self.unit == 1 else self.digit * self.unit / 10
        return self.total + self.section + last


def zh_number(text: str) -> float | None:
    """A Chinese or mixed numeral as a number: 十五, 三十五, 两万五, 一百零五, 1.5万, 3,000; None if not one."""
    acc = _ZhNumber()
    for tok in _ZH_TOKEN.findall(text.replace(",", "")):
        if not acc.feed(tok):
            return None
    return acc.value()
