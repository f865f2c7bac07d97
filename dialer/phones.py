"""E.164 normalisation of the phone numbers people type into lead files, with a reason code for each reject.

`normalize(raw, default_region)` gives a `PhoneResult`: the E.164 number, or one reason (`REASONS`):

- `empty`: nothing but white space;
- `malformed`: not readable as a number (no digits, letters around it, too long, a national number with no
  default region to read it in, an unknown country code);
- `impossible`: a number, but of a length its country never uses (`phonenumbers.is_possible_number` fails);
- `invalid`: of a possible length, but in no numbering range its country assigns (`is_valid_number` fails).

Beyond `phonenumbers.parse` we accept what spreadsheets do to numbers: `4930123456.0` and `1.5551234567E10`
(a number stored in a float cell) and full-width digits (Chinese input methods). A number is read in the default
region first, as `phonenumbers` does (so the region's own international prefix works: `00` in most of the world,
`011` in North America); a number starting `00` that does not read as valid there is read as international
(`0049…` in a North American file), and with no default region `00` always means `+`.

Speed: `phonenumbers` takes ~15-30 µs a number, mostly Python overhead of its general parser (Unicode digit
folding character by character, patterns looked up in a cache on every match, one match per number type). The
usual lead-file cell, digits with spaces, dashes, dots, brackets and an optional `+`, takes a fast path that calls
the same `phonenumbers` steps in the same order on the ASCII digits only, and checks validity with one
precompiled pattern per (region, length) that is the union of the patterns `phonenumbers` tries one after the
other. Anything else (letters, extensions, other scripts' digits, RFC 3966) goes to `phonenumbers.parse`.
tests/unit/test_phones.py checks both paths against `phonenumbers` itself on generated numbers. The private
helpers used here are in `phonenumbers`' type stubs; the version is pinned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

import phonenumbers
import phonenumbers.phonenumberutil as _pnu
from phonenumbers import PhoneMetadata, PhoneNumberDesc, ValidationResult

__all__ = [
    "EMPTY",
    "IMPOSSIBLE",
    "INVALID",
    "MALFORMED",
    "REASONS",
    "PhoneResult",
    "check_region",
    "e164_of_code",
    "normalize",
    "normalize_code",
    "normalize_codes",
    "reason_of_code",
]

EMPTY: Final = "empty"
MALFORMED: Final = "malformed"
IMPOSSIBLE: Final = "impossible"
INVALID: Final = "invalid"
REASONS: Final = (EMPTY, MALFORMED, IMPOSSIBLE, INVALID)
# Codes: a kept number is its E.164 digits as a positive int (a country code never starts with 0, so the int
# keeps every digit); a reject is minus one minus its index in REASONS. Ints cross process boundaries cheaply.
_EMPTY, _MALFORMED, _IMPOSSIBLE, _INVALID = -1, -2, -3, -4

_MAX_INPUT_CHARS = 250  # phonenumbers refuses longer strings as TOO_LONG
_MIN_NSN, _MAX_NSN = 2, 17  # national significant number lengths phonenumbers accepts while parsing
_NON_GEO = "001"
# full-width forms (U+FF01..U+FF5E) of digits and of + - ( ) . to ASCII
_FULL_WIDTH = {0xFF00 + ord(c) - 0x20: ord(c) for c in "0123456789+-()."}
# a float cell written out as text: 4930123456.0, 1.5551234567E10, 1.5551234567E+10
_EXCEL_FLOAT = re.compile(r"[0-9]+\.0+|[0-9](?:\.[0-9]+)?[eE]\+?[0-9]{1,2}")
_SEPARATORS = re.compile(r"[\s\-.()/\u2010-\u2015]+")
_SIMPLE = re.compile(r"(\+?)([0-9]+)")
_HAS_DIGIT = re.compile(r"\d")
_AROUND_DIGITS = re.compile(r"^[^+0-9]+|[^0-9]+$")
_POSSIBLE = (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY)


@dataclass(frozen=True, slots=True)
class PhoneResult:
    """Either `e164` (`+4930123456`) or `reason` (one of `REASONS`), never both."""

    e164: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.e164 is not None


def normalize(raw: str, default_region: str | None) -> PhoneResult:
    """The E.164 form of `raw`, read as a national number of `default_region` (ISO 3166 code) unless it has
    a `+` or international prefix; or why it is not a number we can call."""
    code = normalize_code(raw, default_region)
    return PhoneResult(e164=e164_of_code(code)) if code > 0 else PhoneResult(reason=reason_of_code(code))


def normalize_codes(raws: Iterable[str], default_region: str | None) -> list[int]:
    """`normalize_code` over many cells (the unit of work a normalising worker process gets)."""
    region = check_region(default_region)
    return [normalize_code(raw, region) for raw in raws]


def e164_of_code(code: int) -> str:
    return f"+{code}"


def reason_of_code(code: int) -> str:
    return REASONS[-code - 1]


def check_region(region: str | None) -> str | None:
    """`region` upper-cased; ValueError if `phonenumbers` does not know it."""
    if region is None:
        return None
    upper = region.strip().upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"expected an ISO 3166 region code known to phonenumbers, got {region!r}")
    return upper


def normalize_code(raw: str, default_region: str | None) -> int:
    """Like `normalize`, as an int code (see the module constants). `default_region` must be upper case (see
    `check_region`); an unknown one reads like None."""
    text = raw.strip()
    if not text:
        return _EMPTY
    if len(text) > _MAX_INPUT_CHARS or not _HAS_DIGIT.search(text):
        return _MALFORMED
    if not text.isascii():
        text = text.translate(_FULL_WIDTH)
    if _EXCEL_FLOAT.fullmatch(text):
        text = _float_digits(text)
    simple = _SIMPLE.fullmatch(_SEPARATORS.sub("", text))
    if simple is None:
        return _slow(text, default_region)
    plus, digits = simple.group(1) == "+", simple.group(2)
    if len(digits) < 3 and (plus or len(digits) < 2 or len(_AROUND_DIGITS.sub("", text)) != 2):
        return _MALFORMED  # phonenumbers takes two bare digits (junk around them ignored), else three at least
    if not plus and digits.startswith("00"):
        if default_region is None:
            plus, digits = True, digits[2:]
        elif (code := _digits_code(False, digits, default_region)) > 0:
            return code
        else:  # "00" is not this region's international prefix (North America: 011), but people write it
            return code if (international := _digits_code(True, digits[2:], None)) < 0 else international
    return _digits_code(plus, digits, default_region)


def _digits_code(plus: bool, digits: str, region: str | None) -> int:
    split = _split_digits(plus, digits, _region_metadata(region), region)
    return split if isinstance(split, int) else _checked(*split)


def _float_digits(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimal literals through
        return text
    return str(int(value)) if value == value.to_integral_value() else text


def _slow(text: str, region: str | None) -> int:
    compact = _SEPARATORS.sub("", text)
    if not compact.startswith("00"):
        return _parsed_code(text, region)
    if region is None:
        return _parsed_code("+" + compact[2:], None)
    code = _parsed_code(text, region)
    return code if code > 0 or (international := _parsed_code("+" + compact[2:], None)) < 0 else international


def _parsed_code(text: str, region: str | None) -> int:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return _MALFORMED
    return _checked(number.country_code or 0, _pnu.national_significant_number(number))


def _split_digits(plus: bool, digits: str, meta: PhoneMetadata | None, region: str | None) -> tuple[int, str] | int:
    """(country code, national significant number) of ASCII `digits`: `phonenumbers.parse`'s steps for input
    that is digits only (its `_maybe_extract_country_code`, then the national prefix), or a reject code."""
    found = _country_code_in(plus, digits, meta)
    if isinstance(found, int):
        return found
    country_code, national = found
    if country_code == 0:  # no country code in the number: the default region's
        assert meta is not None
        country_code, national = int(meta.country_code or 0), digits
    elif _region_of_code(country_code) != region:
        meta = _metadata_for_code(country_code)
    if len(national) < _MIN_NSN:
        return _MALFORMED
    national = _strip_national_prefix(national, meta)
    if len(national) < _MIN_NSN or len(national) > _MAX_NSN:
        return _MALFORMED
    return country_code, national


def _country_code_in(plus: bool, digits: str, meta: PhoneMetadata | None) -> tuple[int, str] | int:
    """(country code, rest) when the number carries one (`+`, the region's international prefix, or the region's
    own code without `+`), (0, digits) when it is national, or a reject code."""
    if plus:
        if len(digits) <= _MIN_NSN:
            return _MALFORMED
        country_code, national = _pnu._extract_country_code(digits)
        if country_code != 0:
            return country_code, national
        # like phonenumbers: an unknown code after "+" is read again as if the "+" were not there
        found = _country_code_in(False, digits, meta)
        return _MALFORMED if isinstance(found, int) or found[0] == 0 else found
    if meta is None:
        return _MALFORMED  # a national number and no region to read it in
    idd = meta.international_prefix
    stripped, full = _pnu._parse_prefix_as_idd(_pattern(idd), digits) if idd else (False, digits)
    if stripped:
        if len(full) <= _MIN_NSN:
            return _MALFORMED
        country_code, national = _pnu._extract_country_code(full)
        return (country_code, national) if country_code != 0 else _MALFORMED
    return _strip_own_country_code(digits, meta)


def _strip_own_country_code(full: str, meta: PhoneMetadata) -> tuple[int, str]:
    """A national number that starts with its own country code written without `+` (`4930…` in Germany)."""
    own = str(meta.country_code)
    if not full.startswith(own):
        return 0, ""
    _, potential, _ = _pnu._maybe_strip_national_prefix_carrier_code(full[len(own) :], meta)
    general = meta.general_desc
    if (
        not _pnu._match_national_number(full, general, False) and _pnu._match_national_number(potential, general, False)
    ) or _pnu._test_number_length(full, meta) == ValidationResult.TOO_LONG:
        return int(meta.country_code or 0), potential
    return 0, ""


def _strip_national_prefix(national: str, meta: PhoneMetadata | None) -> str:
    if meta is None:
        return national
    _, potential, _ = _pnu._maybe_strip_national_prefix_carrier_code(national, meta)
    result = _pnu._test_number_length(potential, meta)
    if result in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY, ValidationResult.INVALID_LENGTH):
        return national
    return potential


def _checked(country_code: int, nsn: str) -> int:
    meta = _metadata_for_code(country_code)
    if meta is None or _pnu._test_number_length(nsn, meta) not in _POSSIBLE:
        return _IMPOSSIBLE
    if not _is_valid(country_code, nsn):
        return _INVALID
    return int(f"{country_code}{nsn}")


# --- metadata and validity tables, built lazily and kept for the process's life (a few hundred entries) ---

_REGION_META: dict[str | None, PhoneMetadata | None] = {None: None}
_CODE_META: dict[int, PhoneMetadata | None] = {}
_CODE_REGION: dict[int, str] = {}
_PATTERNS: dict[str, re.Pattern[str]] = {}
_TYPE_TABLES: dict[tuple[str, int, int], tuple[re.Pattern[str], re.Pattern[str]] | None] = {}


def _pattern(regex: str) -> re.Pattern[str]:
    try:
        return _PATTERNS[regex]
    except KeyError:
        pattern = _PATTERNS[regex] = re.compile(regex)
        return pattern


def _region_metadata(region: str | None) -> PhoneMetadata | None:
    try:
        return _REGION_META[region]
    except KeyError:
        meta = PhoneMetadata.metadata_for_region(region, None) if region else None
        _REGION_META[region] = meta
        return meta


def _metadata_for_code(country_code: int) -> PhoneMetadata | None:
    try:
        return _CODE_META[country_code]
    except KeyError:
        meta = PhoneMetadata.metadata_for_region_or_calling_code(country_code, _region_of_code(country_code))
        _CODE_META[country_code] = meta
        return meta


def _region_of_code(country_code: int) -> str:
    try:
        return _CODE_REGION[country_code]
    except KeyError:
        region = _CODE_REGION[country_code] = phonenumbers.region_code_for_country_code(country_code)
        return region


def _is_valid(country_code: int, nsn: str) -> bool:
    """`phonenumbers.is_valid_number`, on a country code and national significant number."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if regions is None:
        return False
    if len(regions) == 1:
        return _valid_in(regions[0], country_code, nsn)
    for region in regions:  # a shared country code (+1, +7, +44, …): its region_code_for_number, then validity
        meta = _region_metadata(region)
        if meta is None:
            continue
        if meta.leading_digits is not None:
            if _pattern(meta.leading_digits).match(nsn):
                return _valid_in(region, country_code, nsn)
        elif _valid_in(region, country_code, nsn):
            return True
    return False


def _valid_in(region: str, country_code: int, nsn: str) -> bool:
    key = (region, country_code, len(nsn))
    try:
        table = _TYPE_TABLES[key]
    except KeyError:
        table = _TYPE_TABLES[key] = _type_table(region, country_code, len(nsn))
    return table is not None and table[0].fullmatch(nsn) is not None and table[1].fullmatch(nsn) is not None


def _type_table(region: str, country_code: int, length: int) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """(general pattern, union of the type patterns) for numbers of `length` digits, or None: never valid.

    `phonenumbers._number_type_helper` tries the general description, then each type in turn, each with its own
    possible lengths; a number is valid when it matches the general one and any type. Full-matching the union
    of the type patterns that allow `length` is the same test in one call.
    """
    meta = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if meta is None:
        return None
    if region != _NON_GEO and country_code != phonenumbers.country_code_for_valid_region(region):
        return None
    general = _pattern_for(meta.general_desc, length)
    kinds = [meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip, meta.personal_number, meta.pager]
    kinds += [meta.uan, meta.voicemail, meta.fixed_line]
    if not meta.same_mobile_and_fixed_line_pattern:
        kinds.append(meta.mobile)
    patterns = [p for p in (_pattern_for(d, length) for d in kinds) if p is not None]
    if general is None or not patterns:
        return None
    return re.compile(general), re.compile("|".join(f"(?:{p})" for p in patterns))


def _pattern_for(desc: PhoneNumberDesc | None, length: int) -> str | None:
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return desc.national_number_pattern
