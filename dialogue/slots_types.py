"""The values slot extraction reads out of one customer utterance: a time, an amount of money, yes/no."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# How precisely the customer named the time (not how precisely we computed it):
#   minute       "3:30", "half past four", "三点半"           start only
#   hour         "3pm", "at 3", "in two hours", "明天下午三点"  start only ("between 2 and 4": end too)
#   part_of_day  "this afternoon", "after lunch", "后天上午"    start..end of that part of the day
#   day          "Monday", "the 15th", "下周二"                start..end of that day's business hours
#   week         "next week", "this weekend", "下个月", "月底"  start..end of a span of days
#   relative     "later", "in a bit", "晚点", "过一会儿"       vague: start = now + a default delay
Precision = Literal["minute", "hour", "part_of_day", "day", "week", "relative"]

# "once" is a one-off payment; None means the customer did not say (not "per call").
Period = Literal["month", "year", "once"]


@dataclass(frozen=True, slots=True)
class TimeSlot:
    """A point or a window in the lead's local time.

    `start` and `end` carry the tzinfo of the `now` they were parsed against. `start` is never before `now`
    (a window that has begun is clipped to `now`). `text` is the customer's own words that named the time,
    so it is customer text: keep it out of log messages.
    """

    start: datetime
    end: datetime | None
    precision: Precision
    text: str


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount of money. `currency` is an ISO 4217 code ("USD", "CNY", ...) or None when not said.

    A range ("5-6k", "五六千") is reduced to its midpoint; `text` keeps the customer's words (customer text:
    keep it out of log messages). A weekly amount is converted to `period="month"` (times 52 / 12).
    """

    value: float
    currency: str | None
    period: Period | None
    text: str
