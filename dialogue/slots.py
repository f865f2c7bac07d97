"""Slot extraction: times and dates, amounts of money and yes/no, in English and Mandarin.

Pure functions with no models: regular expressions compiled once at import, well under a millisecond per
call. `language` is "en" or "zh" (a region suffix such as "en-US" is ignored; anything else raises
ValueError). Slots hold customer text (`TimeSlot.text`, `Amount.text`): never put them in log messages.

    parse_time(text, language, now) -> TimeSlot | None     # now: the lead's local time, timezone-aware
    parse_amount(text, language) -> Amount | None
    parse_yes_no(text, language) -> bool | None
"""

from dialogue.slots_amount import parse_amount
from dialogue.slots_calendar import BUSINESS_END_H, BUSINESS_START_H, LATER_DELAY
from dialogue.slots_time import parse_time
from dialogue.slots_types import Amount, Period, Precision, TimeSlot
from dialogue.slots_yes_no import parse_yes_no

__all__ = [
    "BUSINESS_END_H",
    "BUSINESS_START_H",
    "LATER_DELAY",
    "Amount",
    "Period",
    "Precision",
    "TimeSlot",
    "parse_amount",
    "parse_time",
    "parse_yes_no",
]
