"""A lead's own time zone(s), from what we know about it: an explicit zone, its region, or its phone number.

`lead_zones` answers with every zone the lead may be in. The calling-window rule (dialer.windows) is that a lead
is called only when its window is open in ALL of them, so an ambiguous lead gets the narrower, safe window.

Precedence:

1. an explicit, valid IANA `timezone` (the lead's own column, e.g. set by an agent): that zone alone;
2. a `region` that names zones honestly: an IANA area/location name (`Europe/Berlin`); an ISO 3166-2 subdivision we map
   (`US-CA`; states that span zones give all of them, `US-TX` is Central and Mountain; Chinese provinces `CN-GD`
   or `CN-44` are Asia/Shanghai, Xinjiang adds Asia/Urumqi, whose local time many people there keep; Australian
   states `AU-NSW`); a subdivision of a country that has one zone (`IN-MH`); a bare ISO country with one zone
   (`GB`, `IN`; China counts as one: it has a single legal time);
3. the zones phonenumbers gives for the number. Numbers phonenumbers does not place (mobiles in most countries,
   toll-free numbers) get the zones of the number's country, not of its whole calling code: a Barbados mobile
   (+1 246) is America/Barbados, not every zone of the North American plan;
4. a bare country with several zones (`US`, `RU`), or an unknown subdivision of one, when the number gave none:
   all of that country's zones.

Nothing else: an unknown lead (no usable zone, region or number) gets an EMPTY tuple, never a configured
fallback zone, and `CallingWindows` refuses to call a lead with no zones. Free-text regions ("California",
"广东") are not guessed at; the import should map them to codes.

Numbers are assumed valid (imports drop invalid ones). phonenumbers decides a number's zones from its leading
digits and its type (fixed line, mobile, toll-free), which numbering plans assign by leading digits. Parsing costs
about 20 µs a number, so results are cached (LRU) by the number's length and its leading digits: the longest
prefix phonenumbers' zone table knows plus three digits. tests/unit/test_zones.py checks on thousands of numbers
from every region that the cached answer is the uncached one.

Zone names are canonical IANA names (phonenumbers still uses some old ones, e.g. Asia/Calcutta: we rename them).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading
import zoneinfo
from collections import OrderedDict
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as pn_timezone
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

__all__ = ["CACHE_SIZE", "cache_clear", "cache_info", "country_zones", "lead_zones", "region_zones"]

CACHE_SIZE = 65_536  # distinct number prefixes kept; a prefix entry is a small tuple of shared ZoneInfo objects
_KEY_EXTRA_DIGITS = 3  # digits past the zone table's matching prefix that go into the cache key

_E164 = re.compile(r"\+[1-9][0-9]{1,15}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"([A-Z]{2})-([A-Z0-9]{1,3})")

# Old names phonenumbers still uses -> their current IANA names (zone.tab's). A name missing here stays as it is
# (still a valid zone, only not matched against zone.tab when a country's zones narrow a number's).
_RENAMED = {
    "Africa/Asmera": "Africa/Asmara",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Choibalsan": "Asia/Ulaanbaatar",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
}
# Names in the zone database that are not places: never accepted as a lead's zone.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})

_NY, _CHI, _DEN = "America/New_York", "America/Chicago", "America/Denver"
_PHX, _LA = "America/Phoenix", "America/Los_Angeles"
# US states and territories (ISO 3166-2:US). A state that spans zones lists each (the all-zones rule then keeps
# to the hours that are fine everywhere in it). Arizona: most of it keeps MST all year, the Navajo Nation has DST.
_US: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ["CT", "DE", "DC", "GA", "ME", "MD", "MA", "NH", "NJ", "NY", "NC", "OH", "PA", "RI", "SC", "VT", "VA", "WV"],
        (_NY,),
    ),
    **dict.fromkeys(["AL", "AR", "IL", "IA", "LA", "MN", "MS", "MO", "OK", "WI"], (_CHI,)),
    **dict.fromkeys(["CO", "MT", "NM", "UT", "WY"], (_DEN,)),
    **dict.fromkeys(["CA", "WA"], (_LA,)),
    "AK": ("America/Anchorage", "America/Adak"),
    "AZ": (_PHX, _DEN),
    "FL": (_NY, _CHI),
    "HI": ("Pacific/Honolulu",),
    "ID": ("America/Boise", _LA),
    "IN": ("America/Indiana/Indianapolis", _CHI),
    "KS": (_CHI, _DEN),
    "KY": ("America/Kentucky/Louisville", _CHI),
    "MI": ("America/Detroit", "America/Menominee"),
    "NE": (_CHI, _DEN),
    "NV": (_LA, _DEN),
    "ND": (_CHI, _DEN),
    "OR": (_LA, "America/Boise"),
    "SD": (_CHI, _DEN),
    "TN": (_NY, _CHI),
    "TX": (_CHI, _DEN),
    "AS": ("Pacific/Pago_Pago",),
    "GU": ("Pacific/Guam",),
    "MP": ("Pacific/Saipan",),
    "PR": ("America/Puerto_Rico",),
    "VI": ("America/St_Thomas",),
}
# Chinese provinces (ISO 3166-2:CN, letter codes since 2017 and the older numeric ones): Beijing time.
_CN_PROVINCES = (
    "AH BJ CQ FJ GD GS GX GZ HA HB HE HI HL HN JL JS JX LN NM NX QH SC SD SH SN SX TJ XZ YN ZJ "
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64"
).split()
_CN: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_CN_PROVINCES, ("Asia/Shanghai",)),
    **dict.fromkeys(["XJ", "65"], ("Asia/Shanghai", "Asia/Urumqi")),
    **dict.fromkeys(["TW", "71"], ("Asia/Taipei",)),
    **dict.fromkeys(["HK", "91"], ("Asia/Hong_Kong",)),
    **dict.fromkeys(["MO", "92"], ("Asia/Macau",)),
}
# Australian states and territories. New South Wales includes Broken Hill (South Australian time) and Lord Howe
# Island (UTC+10:30, half-hour DST).
_AU: dict[str, tuple[str, ...]] = {
    "NSW": ("Australia/Sydney", "Australia/Broken_Hill", "Australia/Lord_Howe"),
    "ACT": ("Australia/Sydney",),
    "VIC": ("Australia/Melbourne",),
    "QLD": ("Australia/Brisbane",),
    "SA": ("Australia/Adelaide",),
    "WA": ("Australia/Perth",),
    "TAS": ("Australia/Hobart",),
    "NT": ("Australia/Darwin",),
}
_SUBDIVISIONS = {"US": _US, "CN": _CN, "AU": _AU}
# Countries with one legal time although zone.tab lists more zones for them.
_ONE_LEGAL_TIME = {"CN": ("Asia/Shanghai",)}


def lead_zones(phone_e164: str, region: str | None = None, timezone: str | None = None) -> tuple[ZoneInfo, ...]:
    """Every zone the lead may be in (see the module docstring for the precedence); empty when unknown."""
    if timezone:
        named = _named_zone(timezone.strip())
        if named is not None:
            return _zone_infos((named,))
    if region:
        zones = region_zones(region)
        if zones:
            return zones
    found = _number_zones(phone_e164)
    if found or not region:
        return found
    return _region_country_zones(region)


def region_zones(region: str) -> tuple[ZoneInfo, ...]:
    """The zones a region names on its own (steps 2 of the precedence), or () when it names none honestly."""
    text = region.strip()
    if "/" in text:  # an IANA name; legacy ones without a slash ("GB", "NZ", "Japan") would shadow country codes
        named = _named_zone(text)
        return _zone_infos((named,)) if named is not None else ()
    code = text.upper().replace("_", "-")
    if _COUNTRY.fullmatch(code):
        zones = country_zones(code)
        return zones if len(zones) == 1 else ()
    match = _SUBDIVISION.fullmatch(code)
    if match is None:
        return ()
    country, sub = match.groups()
    table = _SUBDIVISIONS.get(country)
    if table is not None:
        return _zone_infos(table.get(sub, ()))
    zones = country_zones(country)
    return zones if len(zones) == 1 else ()


def country_zones(country: str) -> tuple[ZoneInfo, ...]:
    """All zones of an ISO 3166-1 country (from the zone database's zone.tab); () for an unknown code."""
    return _zone_infos(_country_zone_names(country.upper()))


def _region_country_zones(region: str) -> tuple[ZoneInfo, ...]:
    """Step 4: the region's country (bare or before a subdivision we do not know), all its zones."""
    code = region.strip().upper().replace("_", "-")
    country = code[:2] if _COUNTRY.fullmatch(code[:2]) and (len(code) == 2 or code[2] == "-") else ""
    return country_zones(country) if country else ()


def _named_zone(name: str) -> str | None:
    """The canonical name of a valid IANA zone name, else None."""
    if name not in _available_zones():
        return None
    return _RENAMED.get(name, name)


@functools.cache
def _available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_PLACES


@functools.cache
def _zone_info(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _zone_infos(names: tuple[str, ...] | list[str]) -> tuple[ZoneInfo, ...]:
    return tuple(_zone_info(n) for n in dict.fromkeys(names))


@functools.cache
def _country_zone_names(country: str) -> tuple[str, ...]:
    if country in _ONE_LEGAL_TIME:
        return _ONE_LEGAL_TIME[country]
    return _zone_tab().get(country, ())


@functools.cache
def _zone_tab() -> dict[str, tuple[str, ...]]:
    """zone.tab as {country: zones}, from the system zone database (what zoneinfo reads first), else tzdata."""
    text = None
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            break
    if text is None:
        text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            if len(fields) >= 3 and fields[2] in _available_zones():
                table.setdefault(fields[0], []).append(fields[2])
    return {country: tuple(zones) for country, zones in table.items()}


class _LruCache:
    """A thread-safe LRU map from cache keys to zone tuples (dialer threads share it)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.hits = self.misses = 0
        self._data: OrderedDict[tuple[str, int], tuple[ZoneInfo, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> tuple[ZoneInfo, ...] | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self._data.move_to_end(key)
            return value

    def put(self, key: tuple[str, int], value: tuple[ZoneInfo, ...]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            if len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


_cache = _LruCache(CACHE_SIZE)


def cache_info() -> tuple[int, int, int]:
    """(hits, misses, entries) of the number-prefix cache."""
    return _cache.hits, _cache.misses, len(_cache._data)


def cache_clear() -> None:
    _cache.clear()


def _cache_key(digits: str) -> tuple[str, int]:
    matched = 0
    for length in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        if digits[:length] in TIMEZONE_DATA:
            matched = length
            break
    return digits[: matched + _KEY_EXTRA_DIGITS], len(digits)


def _number_zones(phone_e164: str) -> tuple[ZoneInfo, ...]:
    if not _E164.fullmatch(phone_e164):
        return ()
    key = _cache_key(phone_e164[1:])
    cached = _cache.get(key)
    if cached is not None:
        return cached
    zones, valid = _lookup_number(phone_e164)
    if valid:  # an invalid number must not decide the zones of valid ones that share its prefix
        _cache.put(key, zones)
    return zones


def _lookup_number(phone_e164: str) -> tuple[tuple[ZoneInfo, ...], bool]:
    """(zones, the number is valid): uncached; what the cache must reproduce."""
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return (), False
    if not phonenumbers.is_valid_number(number):
        return (), False
    names = [_RENAMED.get(n, n) for n in pn_timezone.time_zones_for_number(number)]
    names = [n for n in names if n in _available_zones()]  # drops Etc/Unknown
    if len(names) > 1:
        country = phonenumbers.region_code_for_number(number)
        in_country = _country_zone_names(country) if country else ()
        narrowed = [n for n in names if n in in_country]
        names = narrowed or names
    return _zone_infos(names), True
