"""Clause splitting: the unit of streaming synthesis.

VITS and FastSpeech2 are not autoregressive, so the smallest unit a model can render is a clause. Short
clauses make the first frame early (≈0.2 s for Piper); cutting inside a clause would break its prosody, so
a clause is only cut at a word boundary when it exceeds `max_chars`.
"""

from __future__ import annotations

import re

# A clause ends after one of these marks when whitespace follows (ASCII) or at once (CJK full-width marks).
_ASCII_END = ",;:.?!"
_CJK_END = "\uff0c\u3001\uff1b\uff1a\u3002\uff1f\uff01"  # full-width , enumeration-comma ; : . ? !
_BOUNDARY = re.compile(rf"(?<=[{re.escape(_ASCII_END)}])\s+|(?<=[{_CJK_END}])\s*")

# A period after these words does not end a clause ("Dr. Smith", "three p.m. works").
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "no", "approx", "dept"})

DEFAULT_MAX_CHARS = 160


def _ends_with_abbreviation(piece: str) -> bool:
    if not piece.endswith("."):
        return False
    word = piece.rsplit(maxsplit=1)[-1].rstrip(".").lower()
    # "p.m." / "e.g." (an inner period) and single letters ("J. Smith") are abbreviations too.
    return word in _ABBREVIATIONS or "." in word or (len(word) == 1 and word.isalpha())


def _cut_long(clause: str, max_chars: int) -> list[str]:
    """Cut a clause longer than `max_chars` at word boundaries into pieces of at most `max_chars`
    (a single longer word stays whole)."""
    pieces: list[str] = []
    current = ""
    for word in clause.split():
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def split_clauses(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Split `text` into clauses at `, ; : . ? !` (and their CJK forms), keeping the punctuation.

    Abbreviations do not end a clause; empty pieces and pieces without a letter or digit are dropped
    (a lone "..." has nothing to say); clauses longer than `max_chars` are cut at word boundaries.
    """
    if max_chars < 1:
        raise ValueError(f"expected max_chars >= 1, got {max_chars}")
    merged: list[str] = []
    for piece in _BOUNDARY.split(text.strip()):
        if merged and _ends_with_abbreviation(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    clauses: list[str] = []
    for clause in merged:
        clause = " ".join(clause.split())
        if any(ch.isalnum() for ch in clause):
            clauses.extend(_cut_long(clause, max_chars))
    return clauses
