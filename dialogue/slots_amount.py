"""`parse_amount`: a sum of money (a budget, a price) from English or Mandarin words.

When an utterance holds several numbers the one that most looks like money wins: a currency beats a
magnitude word (k, thousand, 万), which beats a period attached to it, which beats a bare number; ties go to
the first. A bare number (no currency, magnitude or period) counts only from 10 up and not before a unit of
something else ("3 kids", "三个人", "35岁"). A range is reduced to its midpoint ("5-6k" → 5500, "五六千" →
5500): the customer gave an estimate, and its middle is the best single figure for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from dialogue.slots_text import ZH_DIGITS, Norm, english_numbers, normalize, substitute, zh_number
from dialogue.slots_time import language_code
from dialogue.slots_types import Amount, Period

_PREFIX = {"$": "USD", "us$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP", "¥": "CNY"}
_PREFIX.update({"rmb": "CNY", "cny": "CNY"})
_SUFFIX_EN = {"dollar": "USD", "buck": "USD", "usd": "USD", "euro": "EUR", "eur": "EUR", "pound": "GBP", "quid": "GBP"}
_SUFFIX_EN.update({"gbp": "GBP", "yuan": "CNY", "rmb": "CNY", "kuai": "CNY", "cny": "CNY", "renminbi": "CNY"})
_SUFFIX_ZH = {"块": "CNY", "块钱": "CNY", "元": "CNY", "圆": "CNY", "人民币": "CNY", "美元": "USD", "美金": "USD"}
_SUFFIX_ZH.update({"刀": "USD", "欧元": "EUR", "英镑": "GBP", "日元": "JPY", "港币": "HKD", "港元": "HKD"})
_MULT = {"k": 1e3, "grand": 1e3, "thousand": 1e3, "hundred": 100.0, "m": 1e6, "mil": 1e6, "million": 1e6}
_MULT.update({"mn": 1e6, "bn": 1e9, "billion": 1e9, "w": 1e4})  # "w": 万 in Chinese chat ("1.5w")
_WEEKS_PER_MONTH = 52 / 12
# "a few hundred", "几千", "十几万": a vague count reads as 3 ("a couple" as 2), so the budget is still stated.
_FEW_EN = re.compile(r"\ba\s+(few|couple(?:\s+of)?)\s+(?=hundred|thousand|grand|k\b)")
_FEW_VALUES = {"few": "3", "couple": "2"}
_FEW_ZH = re.compile("几(?=[十百千万块元])")

_PERIODS: dict[str, Period] = {"month": "month", "year": "year", "once": "once"}


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_NUM_EN = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_PERIOD_EN = (
    r"(?P<per>(?:a|per|each|every|/)\s*(?:month|mo|year|yr|annum|week|wk)\b|monthly|annually|yearly|weekly|"
    r"(?:1|one)[- ]?(?:off|time)\b|once\b|up\s*front|in\s+total|total\b|flat\b)"
)


def _amount_en(g: str) -> str:
    """One English amount; `g` suffixes the group names so that a range can hold two."""
    return (
        rf"(?:(?P<pre{g}>{_alt(_PREFIX)})\s*)?(?P<num{g}>{_NUM_EN})\s*"
        rf"(?P<mult{g}>k|grand|thousand|hundred|million|mil|mn|m|bn|billion)?\b"
        rf"(?:\s*(?P<cur{g}>dollars?|bucks?|usd|euros?|eur|pounds?|quid|gbp|yuan|rmb|kuai|cny|renminbi)\b)?"
    )


_PERIOD_ANY_EN = re.compile(rf"\b{_PERIOD_EN}")  # "monthly budget of 500": a period said apart from the number
_SINGLE_EN = re.compile(rf"(?<![\w.,]){_amount_en('')}(?:\s*{_PERIOD_EN})?")
_RANGE_EN = re.compile(
    rf"(?<![\w.,])(?:between\s+)?{_amount_en('a')}\s*(?:-|~|to|and|or)\s*{_amount_en('b')}(?:\s*{_PERIOD_EN})?"
)
_NOT_MONEY_EN = re.compile(
    r"\s*(?:%|percent|people|persons|employees|staff|users|seats|students|kids|children|years?|months?|weeks?|"
    r"days?|hours?|hrs?|minutes?|mins?|times|am|pm|a\.m|p\.m|o'?clock|st|nd|rd|th|x)\b"
)

_ZH_NUM = rf"(?:\d{{1,3}}(?:,\d{{3}})+|[0-9.{''.join(ZH_DIGITS)}十百千万亿])+"


def _amount_zh(g: str) -> str:
    """One Mandarin amount; `g` suffixes the group names so that a range can hold two."""
    return (
        rf"(?:(?P<pre{g}>[$€£¥])\s*)?(?P<num{g}>{_ZH_NUM})\s*(?P<mult{g}>k|w)?(?![a-z])\s*"
        rf"(?P<cur{g}>{_alt(_SUFFIX_ZH)}|rmb)?(?!儿)"
    )


_SINGLE_ZH = re.compile(_amount_zh(""))
_RANGE_ZH = re.compile(
    rf"(?<![0-9.{''.join(ZH_DIGITS)}十百千万亿]){_amount_zh('a')}\s*(?:到|至|-|~|或)\s*{_amount_zh('b')}"
)
_COMPACT_ZH = re.compile(
    r"(?P<d1>[一二两三四五六七八九])(?P<d2>[一二两三四五六七八九])(?P<u>[十百千万]+)(?P<cur>块钱?|元)?"
)
_PERIOD_ZH = re.compile(
    r"(?P<month>每个?月|一个?月|包月|月付|月费|每月)|(?P<year>每年|一年|年付|年费|包年|全年)|"
    r"(?P<week>每周|每个?星期|一周|一个?星期|每礼拜)|(?P<once>一次性|一次|总共|一共|总价)"
)
_NOT_MONEY_ZH = re.compile(r"\s*(?:个|岁|年|月|天|号|日|点|小时|分钟|人|位|次|%|周|星期|倍|家|台|套|口)")


@dataclass(frozen=True, slots=True)
class _Candidate:
    value: float
    currency: str | None
    period: str | None
    start: int
    end: int
    score: int


def parse_amount(text: str, language: str) -> Amount | None:
    """The amount of money the customer names; None if there is none. Currency only when said."""
    lang = language_code(language)
    if lang == "en":
        norm = substitute(english_numbers(normalize(text)), _FEW_EN, lambda m: _FEW_VALUES[m.group(1).split()[0]] + " ")
    else:
        norm = substitute(normalize(text), _FEW_ZH, lambda _m: "三")
    candidates = _candidates_en(norm.text) if lang == "en" else _candidates_zh(norm.text)
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (c.score, -c.start))
    return _amount(best, norm)


def _amount(c: _Candidate, norm: Norm) -> Amount:
    value, period = c.value, c.period
    if period == "week":
        value, period = value * _WEEKS_PER_MONTH, "month"
    return Amount(round(value, 2), c.currency, _period(period), norm.original(c.start, c.end))


def _period(kind: str | None) -> Period | None:
    return _PERIODS.get(kind or "")


# --- English --------------------------------------------------------------------------------------------


def _candidates_en(t: str) -> list[_Candidate]:
    anywhere = _PERIOD_ANY_EN.search(t)
    default_period = _period_en(anywhere.group("per")) if anywhere else None
    found = [_range_en(m, default_period) for m in _RANGE_EN.finditer(t)]
    out = [c for c in found if c is not None]
    for m in _SINGLE_EN.finditer(t):
        if any(m.start() < c.end and c.start < m.end() for c in out):
            continue
        c = _single_en(m, "", default_period)
        if c is not None and (c.score > 0 or not _NOT_MONEY_EN.match(t, m.end())):
            out.append(c)
    return out


def _period_en(per: str | None) -> str | None:
    if not per:
        return None
    if "week" in per or "wk" in per:
        return "week"
    if "mo" in per:
        return "month"
    return "year" if "y" in per or "annum" in per else "once"


def _value_en(m: re.Match[str], g: str) -> tuple[float, str | None, bool]:
    """(value, currency, has a magnitude word) of one amount's named groups (suffix `g`)."""
    value = float(m.group(f"num{g}").replace(",", ""))
    mult = m.group(f"mult{g}")
    currency = _PREFIX.get(m.group(f"pre{g}") or "") or _SUFFIX_EN.get((m.group(f"cur{g}") or "").rstrip("s"))
    return value * (_MULT[mult] if mult else 1.0), currency, bool(mult)


def _single_en(m: re.Match[str], g: str, default_period: str | None) -> _Candidate | None:
    value, currency, magnitude = _value_en(m, g)
    attached = _period_en(m.group("per"))
    score = 4 * bool(currency) + 2 * magnitude + bool(attached)
    if score == 0 and value < 10:
        return None
    return _Candidate(value, currency, attached or default_period, m.start(), m.end(), score)


def _range_en(m: re.Match[str], default_period: str | None) -> _Candidate | None:
    a, cur_a, mag_a = _value_en(m, "a")
    b, cur_b, mag_b = _value_en(m, "b")
    if mag_b and not mag_a and float(m.group("numa").replace(",", "")) < float(m.group("numb").replace(",", "")):
        a *= _MULT[m.group("multb")]  # "5-6k": the magnitude belongs to both ends
    currency = cur_a or cur_b
    if not (currency or mag_a or mag_b or m.group("per")) or not 0 < a < b:
        return None
    attached = _period_en(m.group("per"))
    score = 4 * bool(currency) + 2 * (mag_a or mag_b) + bool(attached)
    return _Candidate((a + b) / 2, currency, attached or default_period, m.start(), m.end(), score)


# --- Mandarin -------------------------------------------------------------------------------------------


def _candidates_zh(t: str) -> list[_Candidate]:
    """Period words are blanked first, so that 一年三万 does not read 一 as an amount."""
    periods = list(_PERIOD_ZH.finditer(t))
    default_period = periods[0].lastgroup if periods else None
    for p in periods:
        t = t[: p.start()] + " " * (p.end() - p.start()) + t[p.end() :]
    return [_with_period_words(c, periods) for c in _found_zh(t, default_period)]


def _with_period_words(c: _Candidate, periods: list[re.Match[str]]) -> _Candidate:
    """Quote the period words next to the amount too ("每个月两百", "一年三万")."""
    for p in periods:
        if p.end() == c.start or p.start() == c.end:
            return replace(c, start=min(c.start, p.start()), end=max(c.end, p.end()))
    return c


def _found_zh(t: str, default_period: str | None) -> list[_Candidate]:
    out: list[_Candidate] = []
    for m in _COMPACT_ZH.finditer(t):
        out.extend(_compact_zh(m, default_period))
    for m in _RANGE_ZH.finditer(t):
        if not any(m.start() < c.end and c.start < m.end() for c in out):
            out.extend(_range_zh(m, default_period))
    for m in _SINGLE_ZH.finditer(t):
        if not any(m.start() < c.end and c.start < m.end() for c in out):
            out.extend(_single_zh(m, t, default_period))
    return out


def _value_zh(m: re.Match[str], g: str) -> tuple[float, str | None, bool] | None:
    num = m.group(f"num{g}").strip(".,")
    value = zh_number(num)
    if value is None:
        return None
    mult = m.group(f"mult{g}")
    currency = _PREFIX.get(m.group(f"pre{g}") or "") or _SUFFIX_ZH.get(m.group(f"cur{g}") or "")
    if m.group(f"cur{g}") == "rmb":
        currency = "CNY"
    magnitude = bool(mult) or any(u in num for u in "百千万亿")
    return value * (_MULT[mult] if mult else 1.0), currency, magnitude


def _single_zh(m: re.Match[str], t: str, default_period: str | None) -> list[_Candidate]:
    got = _value_zh(m, "")
    if got is None:
        return []
    value, currency, magnitude = got
    score = 4 * bool(currency) + 2 * magnitude
    if score == 0 and (value < 10 or _NOT_MONEY_ZH.match(t, m.end())):
        return []
    return [_Candidate(value, currency, default_period, m.start(), m.end(), score)]


def _range_zh(m: re.Match[str], default_period: str | None) -> list[_Candidate]:
    a_got, b_got = _value_zh(m, "a"), _value_zh(m, "b")
    if a_got is None or b_got is None:
        return []
    (a, cur_a, mag_a), (b, cur_b, mag_b) = a_got, b_got
    unit = m.group("numb")[-1]
    if mag_b and not mag_a and unit in "十百千万":
        a = a * (zh_number("一" + unit) or 1.0)  # "5到6千": the unit belongs to both ends
    currency = cur_a or cur_b
    if not (currency or mag_a or mag_b) or not 0 < a < b:
        return []
    score = 4 * bool(currency) + 2
    return [_Candidate((a + b) / 2, currency, default_period, m.start(), m.end(), score)]


def _compact_zh(m: re.Match[str], default_period: str | None) -> list[_Candidate]:
    """五六千, 一两万, 三四百: two neighbouring digits before a unit are a range."""
    low, high = zh_number(m.group("d1") + m.group("u")), zh_number(m.group("d2") + m.group("u"))
    if low is None or high is None or high - low != zh_number("一" + m.group("u")):
        return []
    currency = "CNY" if m.group("cur") else None
    score = 4 * bool(currency) + 2
    return [_Candidate((low + high) / 2, currency, default_period, m.start(), m.end(), score)]
