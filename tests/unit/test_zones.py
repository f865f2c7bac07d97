"""A lead's time zones: explicit zone, region, phone number, in that order; empty when unknown; the prefix cache."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from dialer.zones import cache_clear, cache_info, country_zones, lead_zones, region_zones

pytestmark = pytest.mark.unit

NY_NUMBER = "+12125550100"
LA_NUMBER = "+12135551234"


def keys(zones: tuple[ZoneInfo, ...]) -> list[str]:
    return [z.key for z in zones]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (LA_NUMBER, ["America/Los_Angeles"]),
        (NY_NUMBER, ["America/New_York"]),
        ("+442079460958", ["Europe/London"]),
        ("+8613812345678", ["Asia/Shanghai"]),
        ("+862012345678", ["Asia/Shanghai"]),
        ("+919812345678", ["Asia/Kolkata"]),  # phonenumbers says Asia/Calcutta: renamed to the current name
        ("+97714123456", ["Asia/Kathmandu"]),
        ("+61291234567", ["Australia/Sydney"]),
        ("+12462345678", ["America/Barbados"]),  # a mobile: the country's zone, not the whole +1 plan's
    ],
)
def test_zones_from_the_number(number: str, expected: list[str]) -> None:
    assert keys(lead_zones(number)) == expected


def test_a_mobile_in_a_country_spanning_zones_gets_all_of_them() -> None:
    zones = keys(lead_zones("+61412345678"))
    assert {"Australia/Perth", "Australia/Sydney", "Australia/Lord_Howe", "Australia/Adelaide"} <= set(zones)
    assert not any(z.startswith("Indian/") for z in zones)  # Christmas and Cocos Islands are other countries


def test_a_toll_free_number_gets_the_zones_of_its_country_only() -> None:
    zones = keys(lead_zones("+18885550100"))
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= set(zones)
    assert "America/Barbados" not in zones and "Pacific/Guam" not in zones


@pytest.mark.parametrize("number", ["", "+", "12125550100", "+1 212 555 0100", "+15551234567", "+0123456", "abc"])
def test_unknown_numbers_get_no_zone(number: str) -> None:
    assert lead_zones(number) == ()


def test_an_explicit_timezone_wins_over_region_and_number() -> None:
    assert keys(lead_zones(NY_NUMBER, region="US-CA", timezone="Europe/Berlin")) == ["Europe/Berlin"]
    assert keys(lead_zones(NY_NUMBER, timezone=" Asia/Calcutta ")) == ["Asia/Kolkata"]


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "localtime", "Factory", "", "../etc/passwd", "new york"])
def test_an_invalid_timezone_is_ignored(bad: str) -> None:
    assert keys(lead_zones(NY_NUMBER, timezone=bad)) == ["America/New_York"]
    assert lead_zones("", timezone=bad) == ()


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("Europe/Paris", ["Europe/Paris"]),
        ("US-CA", ["America/Los_Angeles"]),
        ("us-ca", ["America/Los_Angeles"]),
        ("US_NY", ["America/New_York"]),
        ("US-TX", ["America/Chicago", "America/Denver"]),
        ("US-AZ", ["America/Phoenix", "America/Denver"]),
        ("CN-GD", ["Asia/Shanghai"]),
        ("CN-44", ["Asia/Shanghai"]),
        ("CN-XJ", ["Asia/Shanghai", "Asia/Urumqi"]),
        ("CN", ["Asia/Shanghai"]),
        ("AU-NSW", ["Australia/Sydney", "Australia/Broken_Hill", "Australia/Lord_Howe"]),
        ("AU-WA", ["Australia/Perth"]),
        ("GB", ["Europe/London"]),
        ("IN", ["Asia/Kolkata"]),
        ("IN-MH", ["Asia/Kolkata"]),  # a subdivision of a one-zone country
        ("NP", ["Asia/Kathmandu"]),
    ],
)
def test_a_region_that_names_zones_wins_over_the_number(region: str, expected: list[str]) -> None:
    assert keys(region_zones(region)) == expected
    assert keys(lead_zones(NY_NUMBER, region=region)) == expected


@pytest.mark.parametrize("region", ["US", "RU", "US-ZZ", "BR-SP", "California", "广东", "", "ZZ"])
def test_a_region_that_names_no_zone_leaves_it_to_the_number(region: str) -> None:
    assert region_zones(region) == ()
    assert keys(lead_zones(NY_NUMBER, region=region)) == ["America/New_York"]


def test_a_multi_zone_country_with_an_unknown_number_gets_all_its_zones() -> None:
    zones = keys(lead_zones("+15551234567", region="US"))
    assert zones == keys(country_zones("US")) and "Pacific/Honolulu" in zones and "America/New_York" in zones
    assert keys(lead_zones("+15551234567", region="US-ZZ")) == zones
    assert lead_zones("+15551234567", region="California") == ()
    assert lead_zones("+15551234567", region="ZZ") == ()


def test_no_zone_names_are_old_aliases() -> None:
    for number in ["+919812345678", "+97714123456", "+95912345678", "+299321000"]:
        for key in keys(lead_zones(number)):
            assert key not in {"Asia/Calcutta", "Asia/Katmandu", "Asia/Rangoon", "America/Godthab"}


def test_numbers_sharing_a_prefix_are_parsed_once() -> None:
    cache_clear()
    assert keys(lead_zones("+12125550101")) == ["America/New_York"]
    assert keys(lead_zones("+12125550199")) == ["America/New_York"]
    hits, misses, entries = cache_info()
    assert (hits, misses, entries) == (1, 1, 1)


def test_an_invalid_number_does_not_poison_the_cache() -> None:
    cache_clear()
    assert lead_zones("+12465550100") == ()  # invalid, same prefix as the Barbados mobile below
    assert keys(lead_zones("+12462345678")) == ["America/Barbados"]
    assert cache_info()[2] == 1


def _valid_numbers(count: int, seed: int) -> list[str]:
    """Valid numbers of every type in every region: example numbers with random trailing digits."""
    rng = random.Random(seed)
    types = [t for t in range(11) if t != phonenumbers.PhoneNumberType.UNKNOWN]
    bases = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in types:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                bases.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    numbers: list[str] = []
    while len(numbers) < count:
        base = rng.choice(bases)
        tail = rng.randint(1, min(7, len(base) - 4))
        candidate = base[:-tail] + "".join(rng.choice("0123456789") for _ in range(tail))
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
                numbers.append(candidate)
        except phonenumbers.NumberParseException:
            continue
    return numbers


def test_the_cached_answer_is_the_uncached_one_for_numbers_of_every_region() -> None:
    numbers = _valid_numbers(3000, seed=7)
    uncached = {}
    for number in numbers:
        cache_clear()
        uncached[number] = lead_zones(number)
    cache_clear()
    random.Random(8).shuffle(numbers)
    differing = [n for n in numbers if lead_zones(n) != uncached[n]]
    assert differing == []
    hits, misses, _ = cache_info()
    assert hits > misses  # the cache does work on such a list
