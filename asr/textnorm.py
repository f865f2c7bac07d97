"""English text normalisation for word error rates, applied to reference and hypothesis alike.

Whisper writes "press 1", "I'm" and "#" where a reference says "press one", "I am" and "pound": these are the
same words on a telephone line, so both sides are spelled out before comparing (the convention of published
ASR evaluations, e.g. Whisper's English normaliser). Spelling variants ("log in" / "login") are not merged.
"""

from __future__ import annotations

import re

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen \
seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"), (100, "hundred"))

_SYMBOLS = {"*": " star ", "#": " pound ", "&": " and ", "%": " percent ", "+": " plus ", "@": " at "}

# Contractions whose expansion is unambiguous ("he's" could be "he is" or "he has": left alone).
_CONTRACTIONS = {
    "i'm": "i am",
    "you're": "you are",
    "we're": "we are",
    "they're": "they are",
    "that's": "that is",
    "it's": "it is",
    "what's": "what is",
    "there's": "there is",
    "let's": "let us",
    "i've": "i have",
    "you've": "you have",
    "we've": "we have",
    "they've": "they have",
    "i'll": "i will",
    "you'll": "you will",
    "we'll": "we will",
    "they'll": "they will",
    "can't": "can not",
    "cannot": "can not",
    "won't": "will not",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "weren't": "were not",
    "haven't": "have not",
    "hasn't": "has not",
    "couldn't": "could not",
    "wouldn't": "would not",
    "shouldn't": "should not",
}


def number_words(n: int) -> str:
    """0 ≤ n < 10^12 spelled out without "and": 1205 → "one thousand two hundred five"."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{number_words(high)} {name}" + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError(n)  # unreachable: every n ≥ 100 meets a scale


def _digits(match: re.Match[str]) -> str:
    text = match.group(0).replace(",", "")
    if len(text) > 12:
        return " ".join(_ONES[int(d)] for d in text)
    return " " + number_words(int(text)) + " "


def normalize_en(text: str) -> str:
    """Lower case; symbols, numbers and contractions spelled out; letters, digits-free words and apostrophes."""
    s = text.lower().replace("\u2019", "'")  # typographic apostrophe
    for symbol, spoken in _SYMBOLS.items():
        s = s.replace(symbol, spoken)
    s = re.sub(r"\d[\d,]*", _digits, s)
    s = re.sub(r"[^a-z' ]+", " ", s.replace("-", " "))
    words = [_CONTRACTIONS.get(w, w).strip("'") for w in s.split()]
    return " ".join(w for w in " ".join(words).split() if w)
