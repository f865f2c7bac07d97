"""E.164 normalisation: the formats lead files hold, the reasons for rejects, and the fast path's equivalence
with `phonenumbers` itself (the reference is phonenumbers' parse / is_possible_number / is_valid_number)."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer import phones
from dialer.phones import EMPTY, IMPOSSIBLE, INVALID, MALFORMED, PhoneResult, check_region, normalize, normalize_code

pytestmark = pytest.mark.unit


def full_width(text: str) -> str:
    """`text` with its digits and + as the full-width forms Chinese input methods type."""
    return text.translate({ord(c): 0xFF00 + ord(c) - 0x20 for c in "0123456789+"})


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("1-415-555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", None, "+14155552671"),
        ("  +1 (415) 555-2671  ", "DE", "+14155552671"),
        ("030 1234567", "DE", "+49301234567"),
        ("+49 (0)30 1234567", None, "+49301234567"),
        ("0049 30 1234567", None, "+49301234567"),
        ("0049 30 1234567", "DE", "+49301234567"),  # "00" is Germany's own international prefix
        ("0049 30 1234567", "US", "+49301234567"),  # not North America's (011), but people write it
        ("011 49 30 1234567", "US", "+49301234567"),
        ("4930 1234567", "DE", "+49301234567"),  # the country code without "+"
        ("07400 123456", "GB", "+447400123456"),
        ("138 0013 8000", "CN", "+8613800138000"),
        (full_width("+86 138 0013 8000"), None, "+8613800138000"),  # Chinese input methods
        (full_width("13800138000"), "CN", "+8613800138000"),
        ("081234 56789", "IN", "+918123456789"),
        ("4155552671.0", "US", "+14155552671"),  # a float cell written out
        ("4.155552671E9", "US", "+14155552671"),
        ("1.5551234567E10", None, None),  # +1 555 123 4567: 555 is not a real area code
        ("+1 415 555 2671 ext. 12", None, "+14155552671"),  # extensions are dropped
        ("+1 415 555 2671 x12", None, "+14155552671"),
        ("tel:+1-415-555-2671", None, "+14155552671"),
        ("+39 06 1234 5678", None, "+390612345678"),  # Italian leading zero kept
    ],
)
def test_formats_people_and_spreadsheets_write(raw: str, region: str | None, e164: str | None) -> None:
    result = normalize(raw, region)
    if e164 is None:
        assert result.reason is not None
    else:
        assert result == PhoneResult(e164=e164) and result.ok


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "US", EMPTY),
        ("   \t", "US", EMPTY),
        ("n/a", "US", MALFORMED),
        ("call me", None, MALFORMED),
        ("+", None, MALFORMED),
        ("5", "US", MALFORMED),
        ("4 1", "DE", MALFORMED),
        ("1" * 300, "US", MALFORMED),
        ("030 1234567", None, MALFORMED),  # a national number and no region
        ("+999 1234567", None, MALFORMED),  # no such country code
        ("12", "US", IMPOSSIBLE),
        ("+1 415 555 267", None, IMPOSSIBLE),
        ("+1 415 555 26711", None, IMPOSSIBLE),
        ("(123) 456-7890", "US", INVALID),
        ("+44 20 1234 567", None, INVALID),
        ("+86 100 0000 0000", None, INVALID),
    ],
)
def test_reasons(raw: str, region: str | None, reason: str) -> None:
    assert normalize(raw, region) == PhoneResult(reason=reason)


def test_regions_are_checked_and_upper_cased() -> None:
    assert check_region(None) is None
    assert check_region(" de ") == "DE"
    with pytest.raises(ValueError, match="region code"):
        check_region("XX")
    assert phones.normalize_codes(["030 1234567"], "de") == [49301234567]


def reference_code(raw: str, region: str | None) -> int:
    """What `phonenumbers` alone says, with this module's documented additions (Excel floats, full-width
    digits, "00" read as "+" when the region reading is not valid)."""
    text = raw.strip().translate(phones._FULL_WIDTH)  # documented: full-width forms are folded first
    if not text:
        return -1
    if len(text) > 250:
        return -2
    if phones._EXCEL_FLOAT.fullmatch(text):
        text = phones._float_digits(text)
    compact = phones._SEPARATORS.sub("", text)
    if not compact.startswith("00"):
        return _pn_code(text, region)
    if region is None:
        return _pn_code("+" + compact[2:], None)
    code = _pn_code(text, region)
    international = _pn_code("+" + compact[2:], None)
    return code if code > 0 or international < 0 else international


def _pn_code(text: str, region: str | None) -> int:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return -2
    if not phonenumbers.is_possible_number(number):
        return -3
    if not phonenumbers.is_valid_number(number):
        return -4
    return int(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:])


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
)


def _examples() -> list[phonenumbers.PhoneNumber]:
    types = phonenumbers.PhoneNumberType
    kinds = (types.MOBILE, types.FIXED_LINE, types.TOLL_FREE, types.VOIP)
    found = [phonenumbers.example_number_for_type(r, k) for r in REGIONS for k in kinds]
    found += [phonenumbers.example_number_for_non_geo_entity(c) for c in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    return [n for n in found if n is not None]


EXAMPLES = _examples()


def _variant(rng: random.Random) -> tuple[str, str | None]:
    """An example number of some region with its last digits changed, written in some format, read in some
    region (often its own): mostly valid numbers, and near misses."""
    example = rng.choice(EXAMPLES)
    nsn = phonenumbers.national_significant_number(example)
    k = rng.randint(0, min(4, len(nsn)))
    nsn = nsn[: len(nsn) - k] + "".join(rng.choice("0123456789") for _ in range(k)) + rng.choice(("", "", "", "5"))
    try:
        number = phonenumbers.parse(f"+{example.country_code}{nsn}", None)
    except phonenumbers.NumberParseException:
        return nsn, None
    text = phonenumbers.format_number(number, rng.choice(FORMATS))
    if rng.random() < 0.1 and text.startswith("+"):
        text = "00" + text[1:]
    own = phonenumbers.region_code_for_country_code(example.country_code or 0)
    region = own if own != "001" and rng.random() < 0.7 else rng.choice([*REGIONS, None])
    return text, region


def _noise(rng: random.Random) -> tuple[str, str | None]:
    """Random digits with separators and prefixes: mostly impossible or invalid, some malformed."""
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 16)))
    digits = rng.choice(("+", "00", "", "+0", "011", "0", "1")) + digits
    text = "".join(c + (rng.choice(" -.()/") if rng.random() < 0.15 else "") for c in digits)
    return text, rng.choice(["US", "GB", "DE", "CN", "IN", "FR", "IT", "CA", "GG", "RU", "KZ", None])


def test_the_fast_path_agrees_with_phonenumbers_on_a_large_corpus() -> None:
    rng = random.Random(20260301)
    cases = [_variant(rng) for _ in range(6000)] + [_noise(rng) for _ in range(6000)]
    mismatches = [(raw, region) for raw, region in cases if normalize_code(raw, region) != reference_code(raw, region)]
    assert mismatches == []
    kept = sum(normalize_code(raw, region) > 0 for raw, region in cases)
    assert kept > 2000  # the corpus really exercises valid numbers


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("0123456789 +-().x#/*ext" + full_width("0123456789+")), max_size=24),
    st.sampled_from(["US", "GB", "DE", "CN", "IN", "BR", "JP", "AU", None]),
)
def test_any_text_gets_the_same_answer_as_phonenumbers(raw: str, region: str | None) -> None:
    assert normalize_code(raw, region) == reference_code(raw, region)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["US", "CN", None]))
def test_never_raises_and_a_kept_number_is_valid_e164(raw: str, region: str | None) -> None:
    result = normalize(raw, region)
    assert (result.e164 is None) != (result.reason is None)
    if result.e164 is not None:
        assert phonenumbers.is_valid_number(phonenumbers.parse(result.e164, None))
