"""When to call a lead again after an attempt, by how the attempt ended: a pure function of the campaign's policy.

The campaign JSON (`Campaign.retry_policy`) gives rules per disposition, each `{"times": n, "after_s": s}`: after
an attempt ends with that disposition, retry `s` seconds later, at most `n` times for that disposition. A
disposition the JSON leaves out keeps its default:

| disposition                                                        | retries | after     |
|--------------------------------------------------------------------|---------|-----------|
| busy                                                               | 3       | 10 min    |
| no_answer                                                          | 2       | 2 h       |
| unavailable, network_error, failed, media_worker_failed,           | 3       | 5 min     |
| lease_expired (system failures: ours or the network's)             |         |           |
| machine, voicemail (an answering machine picked up)                | 2       | 4 h       |
| callback (the person asked to be called back)                      | 3       | at the time named, else 2 h |
| rejected, answered and the other dialogue outcomes                 | never   |           |
| invalid_number, do_not_call                                        | never (cannot be configured) |

`answered` stands for a conversation that ended without a callback; the dialer passes the dialogue outcome
(`callback`, `voicemail`, `booked`, ...) instead of `answered` when the call had one. No jitter: retries land on
exact times, and the calling windows and the dialer's claim order spread the load. A retry time may fall outside
the lead's calling window; the dialer moves it to the window's next opening (`CallingWindows.next_open`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "DEFAULT_RULES",
    "KNOWN_DISPOSITIONS",
    "MAX_AFTER_S",
    "MAX_TIMES",
    "NEVER_RETRIED",
    "RetryPolicy",
    "RetryRule",
    "next_attempt_at",
]

MAX_TIMES = 20
MAX_AFTER_S = 30 * 86_400.0


@dataclass(frozen=True, slots=True)
class RetryRule:
    """Retry at most `times` times for one disposition, `after_s` seconds after the attempt ended."""

    times: int
    after_s: float


_NEVER = RetryRule(0, 0.0)
_SYSTEM_FAILURE = RetryRule(3, 300.0)
_MACHINE = RetryRule(2, 4 * 3600.0)
# Telephony dispositions (telephony.dispositions.Disposition), the dialer's own, and the dialogue's call outcomes
# (dialogue.actions.Outcome); tests/unit/test_retry_policy.py checks that none is missing.
DEFAULT_RULES: Mapping[str, RetryRule] = {
    "busy": RetryRule(3, 600.0),
    "no_answer": RetryRule(2, 7200.0),
    "unavailable": _SYSTEM_FAILURE,
    "network_error": _SYSTEM_FAILURE,
    "failed": _SYSTEM_FAILURE,
    "media_worker_failed": _SYSTEM_FAILURE,
    "lease_expired": _SYSTEM_FAILURE,
    "dialer_stopped": _SYSTEM_FAILURE,  # the dialer shut down mid-call and hung up
    "machine": _MACHINE,
    "voicemail": _MACHINE,
    "callback": RetryRule(3, 7200.0),
    "rejected": _NEVER,
    "invalid_number": _NEVER,
    "do_not_call": _NEVER,
    "answered": _NEVER,
    "booked": _NEVER,
    "handoff": _NEVER,
    "wrong_person": _NEVER,
    "not_interested": _NEVER,
    "completed": _NEVER,
    "no_response": _NEVER,
}
KNOWN_DISPOSITIONS = frozenset(DEFAULT_RULES)
# Never called again whatever a campaign says: a number that does not exist, a person who said no more calls.
NEVER_RETRIED = frozenset({"invalid_number", "do_not_call"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The rule for every known disposition (the campaign's, else the default)."""

    rules: Mapping[str, RetryRule]

    @classmethod
    def default(cls) -> RetryPolicy:
        return cls(dict(DEFAULT_RULES))

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RetryPolicy:
        """Parse and validate the campaign JSON (None or {} = the defaults); ValueError naming the bad item."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ValueError(f"retry_policy: expected an object, got {_show(data)}")
        rules = dict(DEFAULT_RULES)
        for key, value in data.items():
            if key not in KNOWN_DISPOSITIONS:
                known = ", ".join(sorted(KNOWN_DISPOSITIONS - NEVER_RETRIED))
                raise ValueError(f"retry_policy: unknown disposition {_show(key)} (known: {known})")
            if key in NEVER_RETRIED:
                raise ValueError(f"retry_policy.{key}: never retried, cannot be configured")
            rules[key] = _parse_rule(f"retry_policy.{key}", value)
        return cls(rules)

    def to_json(self) -> dict[str, Any]:
        """Every configurable rule, defaults included: `from_json(to_json())` gives the same policy."""
        return {
            key: {"times": rule.times, "after_s": rule.after_s}
            for key, rule in sorted(self.rules.items())
            if key not in NEVER_RETRIED
        }

    def rule_for(self, disposition: str) -> RetryRule:
        """The rule for a disposition; ValueError for one no component produces (a caller's bug)."""
        rule = self.rules.get(disposition)
        if rule is None:
            raise ValueError(f"expected a known disposition, got {_show(disposition)}")
        return rule


def next_attempt_at(
    policy: RetryPolicy,
    disposition: str,
    prior_same_disposition: int,
    attempts_so_far: int,
    max_attempts: int,
    now: datetime,
    callback_at: datetime | None = None,
) -> datetime | None:
    """When to call the lead again after an attempt that ended `now` with `disposition`; None: the lead is done.

    `prior_same_disposition`: earlier attempts of this lead that ended with the same disposition (not counting
    this one); `attempts_so_far`: attempts made, this one included. A retry needs attempts left (`attempts_so_far
    < max_attempts`) and retries left for the disposition (`prior_same_disposition < times`). A `callback` with a
    `callback_at` (the time the person named) is due then, or now if that has passed.
    """
    now = _aware(now, "now")
    rule = policy.rule_for(disposition)
    if disposition in NEVER_RETRIED or rule.times == 0:
        return None
    if prior_same_disposition < 0 or attempts_so_far < 0:
        raise ValueError(f"expected counts >= 0, got {prior_same_disposition}, {attempts_so_far}")
    if attempts_so_far >= max_attempts or prior_same_disposition >= rule.times:
        return None
    if disposition == "callback" and callback_at is not None:
        return max(_aware(callback_at, "callback_at"), now)
    return now + timedelta(seconds=rule.after_s)


def _parse_rule(where: str, value: Any) -> RetryRule:
    if not isinstance(value, Mapping) or set(value) != {"times", "after_s"}:
        raise ValueError(f'{where}: expected {{"times": int, "after_s": seconds}}, got {_show(value)}')
    times, after_s = value["times"], value["after_s"]
    if not isinstance(times, int) or isinstance(times, bool) or not 0 <= times <= MAX_TIMES:
        raise ValueError(f"{where}.times: expected an integer 0..{MAX_TIMES}, got {_show(times)}")
    if (
        not isinstance(after_s, int | float)
        or isinstance(after_s, bool)
        or not math.isfinite(after_s)
        or not 0 <= after_s <= MAX_AFTER_S
    ):
        raise ValueError(f"{where}.after_s: expected seconds 0..{MAX_AFTER_S:.0f}, got {_show(after_s)}")
    return RetryRule(times, float(after_s))


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name}: expected a timezone-aware datetime, got a naive one")
    return at.astimezone(UTC)


def _show(value: Any) -> str:
    """A bad value for an error message, cut short (campaign settings, never personal data)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
