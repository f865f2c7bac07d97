"""Mandarin slot rules: the recorded tokens a Mandarin IVR splices to say a number, amount, time, date or
digit string. Pure functions beside the English ones in `tts.splice` (which dispatches here for `language="zh"`).

A token is a recording key (`splice.slug` leaves these unchanged), so the agent records each one once:
"三.wav", "百.wav", "点.wav", "半.wav", "下午.wav", "号.wav", "星期.wav", "元.wav". Numbers are composed
from 零 一…九 两 十 百 千 万 (十四 -> 十 四), which keeps every vocabulary under 40 recordings.

Readings (what a Mandarin IVR says; simplified characters, zh-CN):
- numbers up to 99,999,999: 十五 (一十 -> 十 at the start only: 一百一十), one 零 for a run of internal zeros
  (一百零五, 一千零五, 一万零五百), 两 for a lone 2 before 千 and 万, and before 百 at the start (两百, 两千二百,
  两万, 十二万, but 一千二百).
- amounts: the yuan as a number plus 元 (块 when the text says 块, as "300块"); ¥/￥/人民币 read as 元;
  "1.5万元" -> 一 万 五 千 元. Jiao and fen are spoken as bank IVRs do, 十二元五角三分 (块…毛…分 after 块), with
  零 for a missing jiao (十二元零五分); a lone 2 before a unit is 两 (两元, 两角).
- times: [date] [凌晨 | 上午 | 中午 | 下午 | 晚上] hour (12-hour, 两点 for 2) 点 [半 | minutes 分], minutes 1-9 as
  零 N 分, 30 always 半. A period in the text is kept (早上/早晨 -> 上午, 傍晚/夜里 -> 晚上); without one, the period
  is said only when the hour is 24-hour (0 or 13-23, as in "15:30"), like English "3:30" -> no a.m./p.m.
  The dialogue's "5月14日（周二）下午3点05分" form is accepted: the date comes first.
- dates: month 月 day 号 ("14日" is said 十四号), 星期 + 一…六 / 天 (周二, 礼拜二 -> 星期 二), 今天 明天 后天.
- digits (phone numbers, verification codes): one token each, 1 read 幺 (yāo) as Mandarin speakers do when
  reading digit strings: it cannot be misheard as 七 on a phone line. 0 is 零, 2 is 二.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

DIGITS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")
PHONE_DIGITS = ("零", "幺", "二", "三", "四", "五", "六", "七", "八", "九")
PERIODS = ("凌晨", "上午", "中午", "下午", "晚上")
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "天")  # after 星期, Monday first
RELATIVE_DAYS = ("今天", "明天", "后天")
MAX_NUMBER = 99_999_999
# One value per slot kind that the rules can say (for reports that render each line with an example).
EXAMPLE_VALUES = {"day": "星期二", "date": "3月14日", "time": "下午3点", "amount": "120元", "number": "42",
                  "digits": "201"}  # fmt: skip

_NUMERAL = {"\u3007": 0, "幺": 1, "两": 2, **{d: i for i, d in enumerate(DIGITS)}}
_UNIT = {"十": 10, "百": 100, "千": 1000}
_PERIOD_WORDS = {"凌晨": "凌晨", "早上": "上午", "早晨": "上午", "上午": "上午", "中午": "中午", "下午": "下午",
                 "傍晚": "晚上", "晚上": "晚上", "夜里": "晚上"}  # fmt: skip
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SMALL = "[0-9零\u3007一二两三四五六七八九十]"  # a numeral up to 99, Arabic or Chinese

_DATE = (
    rf"(?:(?P<relative>今天|明天|后天)|(?P<month>{_SMALL}{{1,3}})月(?P<day>{_SMALL}{{1,3}})[日号]?)?"
    r"(?:[（(]?(?:星期|周|礼拜)(?P<weekday>[一二三四五六日天1-7])[)）]?)?"
)
_CLOCK = (
    rf"(?P<period>{'|'.join(_PERIOD_WORDS)})?"
    rf"(?:(?P<hour>{_SMALL}{{1,3}})(?:[:：](?P<colon>[0-9]{{2}})"
    rf"|[点时]钟?(?:(?P<half>半)|(?P<minute>{_SMALL}{{1,3}})分?|整)?))?"
)
_DATE_RE = re.compile(_DATE)
_TIME_RE = re.compile(_DATE + _CLOCK)
_AMOUNT_RE = re.compile(
    r"(?:[¥\uffe5]|rmb|cny|人民币)?"  # \uffe5: the full-width yuan sign
    r"(?P<num>[0-9][0-9,]*(?:\.[0-9]+)?|[零\u3007一二两三四五六七八九十百千万]+)(?P<wan>万)?"
    r"(?P<unit>元|圆|块钱|块)?(?:(?P<jiao>[0-9一二两三四五六七八九])[角毛])?(?:(?P<fen>[0-9一二两三四五六七八九])分)?"
    r"(?:钱|人民币)?"
)


def number_tokens(n: int) -> list[str]:
    """Cardinal number 0-99,999,999: 105 -> 一 百 零 五; 20000 -> 两 万; 1200 -> 一 千 二 百."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"expected a number 0-{MAX_NUMBER}, got {n}")
    if n == 0:
        return ["零"]
    high, low = divmod(n, 10_000)
    tokens = [*(["两"] if high == 2 else _section(high, leading=True)), "万"] if high else []
    if low:
        if high and low < 1000:
            tokens.append("零")
        tokens += _section(low, leading=not high)
    return tokens


def _section(n: int, *, leading: bool) -> list[str]:
    """1-9999 with 千 百 十; `leading`: the first section of the whole number (十五, 两百, not 一十五)."""
    tokens: list[str] = []
    zero = False
    for place, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // place % 10
        if d == 0:
            zero = zero or bool(tokens)
            continue
        if zero:
            tokens.append("零")
            zero = False
        start = leading and not tokens
        if not (unit == "十" and d == 1 and start):
            tokens.append("两" if d == 2 and (unit == "千" or (unit == "百" and start)) else DIGITS[d])
        if unit:
            tokens.append(unit)
    return tokens


def parse_number(text: str) -> int:
    """An integer written in Arabic ("1,200") or Chinese numerals ("一千二百", "两万", "十五", "3万")."""
    s = text.replace(",", "")
    if not s:
        raise ValueError("expected a number, got an empty text")
    total, section, digit = 0, 0, None
    for part in re.findall(r"[0-9]+|.", s):
        if (part.isascii() and part.isdigit()) or part in _NUMERAL:
            if digit:  # two numerals in a row: "一二" is a digit string, not a number
                raise ValueError(f"expected a number like '一千二百' or '1200', got {text!r}")
            digit = _digit(part) if part in _NUMERAL else int(part)
        elif part in _UNIT:
            section += (1 if digit is None else digit) * _UNIT[part]
            digit = None
        elif part == "万" and (section or digit):
            total, section, digit = (section + (digit or 0)) * 10_000, 0, None
        else:
            raise ValueError(f"expected a number like '一千二百' or '1200', got {text!r}")
    return total + section + (digit or 0)


def _digit(ch: str | None) -> int:
    """One numeral, Arabic or Chinese ("5", "五", "幺"); None is 0."""
    if ch is None:
        return 0
    return int(ch) if ch.isascii() else _NUMERAL[ch]


def _count(n: int) -> str:
    """A lone digit before a measure word: 两 for 2 (两元, 两角)."""
    return "两" if n == 2 else DIGITS[n]


def amount_tokens(text: str) -> list[str]:
    """ "300元" -> 三 百 元; "¥1,200" -> 一 千 二 百 元; "1.5万元" -> 一 万 五 千 元; "12.05元" -> 十 二 元 零 五 分."""
    m = _AMOUNT_RE.fullmatch(_compact(text).lower())
    if m is None:
        raise ValueError(f"expected an amount like '300元', '¥1,200' or '1.5万元', got {text!r}")
    try:
        value = Decimal(m["num"].replace(",", "")) if m["num"][0].isascii() else Decimal(parse_number(m["num"]))
    except InvalidOperation:
        raise ValueError(f"expected an amount like '300元', got {text!r}") from None
    cents = value * (10_000 if m["wan"] else 1) * 100 + 10 * _digit(m["jiao"]) + _digit(m["fen"])
    if cents != cents.to_integral_value():
        raise ValueError(f"expected an amount in whole fen (0.01 元), got {text!r}")
    yuan, rest = divmod(int(cents), 100)
    jiao, fen = divmod(rest, 10)
    big, dime = ("块", "毛") if (m["unit"] or "").startswith("块") else ("元", "角")
    tokens = [*(["两"] if yuan == 2 else number_tokens(yuan)), big] if yuan or not rest else []
    if jiao:
        tokens += [_count(jiao), dime]
    if fen:
        tokens += [*(["零"] if yuan and not jiao else []), _count(fen), "分"]
    return tokens


def date_tokens(text: str) -> list[str]:
    """ "3月14日" / "3月14号" -> 三 月 十 四 号; "周二" / "星期二" -> 星期 二; "周日" -> 星期 天; 今天 明天 后天."""
    m = _DATE_RE.fullmatch(_compact(text))
    if m is None or not any(m.groupdict().values()):
        raise ValueError(f"expected a date like '3月14日', '星期二' or '明天', got {text!r}")
    return _date_part(m, text)


def _date_part(m: re.Match[str], text: str) -> list[str]:
    tokens = [m["relative"]] if m["relative"] else []
    if m["month"]:
        month, day = parse_number(m["month"]), parse_number(m["day"])
        if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
            raise ValueError(f"expected a day of the year, got {text!r}")
        tokens += [*number_tokens(month), "月", *number_tokens(day), "号"]
    if m["weekday"]:
        day_of_week = _digit(m["weekday"]) if m["weekday"] not in "日天" else 7  # 1 = Monday, 7 = Sunday
        tokens += ["星期", WEEKDAYS[day_of_week - 1]]
    return tokens


def time_tokens(text: str) -> list[str]:
    """ "下午3点" -> 下午 三 点; "15:30" -> 下午 三 点 半; "上午十点" -> 上午 十 点; "9:05" -> 九 点 零 五 分."""
    m = _TIME_RE.fullmatch(_compact(text))
    if m is None or not any(m.groupdict().values()):
        raise ValueError(f"expected a time like '下午3点', '15:30' or '3点半', got {text!r}")
    tokens = _date_part(m, text)
    hour = None if m["hour"] is None else parse_number(m["hour"])
    minute = 30 if m["half"] else parse_number(m["colon"] or m["minute"] or "0")
    if not (0 <= (hour or 0) <= 23 and 0 <= minute <= 59):
        raise ValueError(f"expected a time of day, got {text!r}")
    period = _PERIOD_WORDS[m["period"]] if m["period"] else None
    if period is None and hour is not None and (hour == 0 or hour > 12):
        period = next(p for end, p in ((6, "凌晨"), (19, "下午"), (24, "晚上")) if hour < end)
    tokens += [period] if period else []
    if hour is not None:
        h12 = hour - 12 if hour > 12 else hour
        tokens += [*(["两"] if h12 == 2 else number_tokens(h12)), "点"]
        if minute == 30:
            tokens.append("半")
        elif minute:
            tokens += [*(["零", DIGITS[minute]] if minute < 10 else number_tokens(minute)), "分"]
    return tokens


def digit_tokens(text: str) -> list[str]:
    """A digit string, one token per digit, 1 read 幺: "138-0013" -> 幺 三 八 零 零 幺 三; separators skipped."""
    tokens = []
    for ch in text:
        if (ch.isascii() and ch.isdigit()) or ch in _NUMERAL:
            tokens.append(PHONE_DIGITS[_digit(ch)])
        elif ch.isalnum():
            raise ValueError(f"expected digits like '138 0013 8000', got {text!r}")
    if not tokens:
        raise ValueError(f"expected at least one digit, got {text!r}")
    return tokens


def slot_tokens(kind: str, value: str) -> list[str]:
    """The tokens that speak `value` as a Mandarin slot of `kind` (first names: `tts.splice.slot_tokens`)."""
    if kind in ("day", "date"):
        return date_tokens(value)
    if kind == "time":
        return time_tokens(value)
    if kind == "amount":
        return amount_tokens(value)
    if kind == "number":
        return number_tokens(parse_number(_compact(value)))
    if kind == "digits":
        return digit_tokens(value)
    raise ValueError(f"expected a Mandarin slot kind (day, date, time, number, amount, digits), got {kind!r}")


def vocabulary(kind: str) -> list[str]:
    """Every token any value of a slot kind may need (first names: the names themselves, `voice_profile`)."""
    small = [*DIGITS[1:], "十"]  # 1-99 (months, days, hours) need no 零, 两, 百
    day = ["星期", *WEEKDAYS, *RELATIVE_DAYS]
    date = [*small, "月", "号", *day]
    numbers = [*DIGITS, "两", "十", "百", "千", "万"]
    by_kind = {
        "day": day,
        "date": date,
        "time": [*PERIODS, *DIGITS, "两", "十", "点", "半", "分", *date],
        "number": numbers,
        "amount": [*numbers, "元", "块", "角", "毛", "分"],
        "digits": list(PHONE_DIGITS),
    }
    if kind not in by_kind:
        raise ValueError(f"expected a Mandarin slot kind in {tuple(by_kind)}, got {kind!r}")
    return list(dict.fromkeys(by_kind[kind]))


def _compact(text: str) -> str:
    """Mandarin text has no spaces between words: drop any (" 下午 3 点 " -> "下午3点")."""
    return re.sub(r"\s+", "", text)
