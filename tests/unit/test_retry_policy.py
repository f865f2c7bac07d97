"""Retry policy: the campaign JSON, its defaults, and when a lead is due again after each kind of ending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest

from dialer.retry import (
    DEFAULT_RULES,
    KNOWN_DISPOSITIONS,
    NEVER_RETRIED,
    RetryPolicy,
    RetryRule,
    next_attempt_at,
)
from dialogue.actions import Outcome
from storage.repos import LEASE_EXPIRED
from telephony.dispositions import Disposition

pytestmark = pytest.mark.unit

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
DEFAULT = RetryPolicy.default()


def due(policy: RetryPolicy, disposition: str, prior: int = 0, attempts: int = 1, most: int = 10, **kw: Any) -> Any:
    return next_attempt_at(policy, disposition, prior, attempts, most, NOW, **kw)


def test_every_disposition_the_system_produces_has_a_rule() -> None:
    produced = {d.value for d in Disposition} | set(get_args(Outcome)) | {"machine", LEASE_EXPIRED, "do_not_call"}
    assert produced <= KNOWN_DISPOSITIONS
    assert set(DEFAULT_RULES) == KNOWN_DISPOSITIONS


@pytest.mark.parametrize(
    ("disposition", "times", "after_s"),
    [
        ("busy", 3, 600),
        ("no_answer", 2, 7200),
        ("unavailable", 3, 300),
        ("network_error", 3, 300),
        ("failed", 3, 300),
        ("media_worker_failed", 3, 300),
        ("lease_expired", 3, 300),
        ("machine", 2, 14400),
        ("voicemail", 2, 14400),
        ("callback", 3, 7200),
        ("rejected", 0, 0),
        ("invalid_number", 0, 0),
        ("do_not_call", 0, 0),
        ("answered", 0, 0),
        ("not_interested", 0, 0),
    ],
)
def test_defaults(disposition: str, times: int, after_s: float) -> None:
    assert DEFAULT.rule_for(disposition) == RetryRule(times, after_s)


def test_the_campaign_json_overrides_some_rules_and_keeps_the_other_defaults() -> None:
    policy = RetryPolicy.from_json({"busy": {"times": 5, "after_s": 60}, "rejected": {"times": 1, "after_s": 86400}})
    assert policy.rule_for("busy") == RetryRule(5, 60.0)
    assert policy.rule_for("rejected") == RetryRule(1, 86400.0)
    assert policy.rule_for("no_answer") == DEFAULT.rule_for("no_answer")
    assert RetryPolicy.from_json(None) == RetryPolicy.from_json({}) == DEFAULT
    assert RetryPolicy.from_json(policy.to_json()) == policy
    assert "do_not_call" not in policy.to_json()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "retry_policy: expected an object, got []"),
        ({"bussy": {"times": 1, "after_s": 60}}, "retry_policy: unknown disposition 'bussy' (known: answered, "),
        ({"do_not_call": {"times": 1, "after_s": 60}}, "retry_policy.do_not_call: never retried, cannot be configured"),
        ({"invalid_number": {"times": 0, "after_s": 0}}, "retry_policy.invalid_number: never retried"),
        ({"busy": 3}, 'retry_policy.busy: expected {"times": int, "after_s": seconds}, got 3'),
        ({"busy": {"times": 3}}, 'retry_policy.busy: expected {"times": int, "after_s": seconds}'),
        ({"busy": {"times": 3, "after_s": 60, "jitter": 1}}, 'retry_policy.busy: expected {"times": int'),
        ({"busy": {"times": -1, "after_s": 60}}, "retry_policy.busy.times: expected an integer 0..20, got -1"),
        ({"busy": {"times": 21, "after_s": 60}}, "retry_policy.busy.times: expected an integer 0..20, got 21"),
        ({"busy": {"times": True, "after_s": 60}}, "retry_policy.busy.times: expected an integer 0..20, got True"),
        ({"busy": {"times": 2.0, "after_s": 60}}, "retry_policy.busy.times: expected an integer 0..20, got 2.0"),
        ({"busy": {"times": 2, "after_s": -1}}, "retry_policy.busy.after_s: expected seconds 0..2592000, got -1"),
        ({"busy": {"times": 2, "after_s": "600"}}, "retry_policy.busy.after_s: expected seconds 0..2592000, got '600'"),
        ({"busy": {"times": 2, "after_s": float("nan")}}, "retry_policy.busy.after_s: expected seconds"),
        ({"busy": {"times": 2, "after_s": float("inf")}}, "retry_policy.busy.after_s: expected seconds"),
        ({"busy": {"times": 2, "after_s": 31 * 86400}}, "retry_policy.busy.after_s: expected seconds"),
    ],
)
def test_invalid_policies_are_refused_with_the_place_named(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as error:
        RetryPolicy.from_json(data)
    assert str(error.value).startswith(message)


def test_busy_is_retried_three_times_ten_minutes_apart() -> None:
    for prior in range(3):
        assert due(DEFAULT, "busy", prior=prior, attempts=prior + 1) == NOW + timedelta(minutes=10)
    assert due(DEFAULT, "busy", prior=3, attempts=4) is None


def test_no_answer_twice_two_hours_apart() -> None:
    assert due(DEFAULT, "no_answer", prior=1, attempts=2) == NOW + timedelta(hours=2)
    assert due(DEFAULT, "no_answer", prior=2, attempts=3) is None


def test_counts_are_per_disposition() -> None:
    # two busy signals then a no-answer: the no-answer has its own two retries
    assert due(DEFAULT, "no_answer", prior=0, attempts=3) == NOW + timedelta(hours=2)


def test_max_attempts_caps_every_retry() -> None:
    assert due(DEFAULT, "busy", prior=0, attempts=3, most=3) is None
    assert due(DEFAULT, "callback", attempts=3, most=3, callback_at=NOW + timedelta(days=1)) is None
    assert due(DEFAULT, "busy", prior=0, attempts=2, most=3) == NOW + timedelta(minutes=10)


@pytest.mark.parametrize(
    "disposition", ["rejected", "invalid_number", "do_not_call", "answered", "booked", "handoff", "not_interested"]
)
def test_final_dispositions_end_the_lead(disposition: str) -> None:
    assert due(DEFAULT, disposition) is None


def test_configured_rejected_retries() -> None:
    policy = RetryPolicy.from_json({"rejected": {"times": 1, "after_s": 86400}})
    assert due(policy, "rejected") == NOW + timedelta(days=1)
    assert due(policy, "rejected", prior=1, attempts=2) is None


def test_a_callback_comes_at_the_time_the_person_named() -> None:
    tomorrow = NOW + timedelta(days=1, hours=3)
    assert due(DEFAULT, "callback", callback_at=tomorrow) == tomorrow
    assert due(DEFAULT, "callback", callback_at=NOW - timedelta(hours=1)) == NOW  # already past: due now
    assert due(DEFAULT, "callback") == NOW + timedelta(hours=2)  # no time named
    assert due(DEFAULT, "callback", prior=3, attempts=4, callback_at=tomorrow) is None
    # a callback time in another zone is the same instant
    local = tomorrow.astimezone(ZoneInfo("Asia/Shanghai"))
    assert due(DEFAULT, "callback", callback_at=local) == tomorrow


def test_a_callback_time_is_ignored_for_other_dispositions() -> None:
    assert due(DEFAULT, "busy", callback_at=NOW + timedelta(days=3)) == NOW + timedelta(minutes=10)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="expected a known disposition, got 'bussy'"):
        due(DEFAULT, "bussy")
    with pytest.raises(ValueError, match="timezone-aware"):
        next_attempt_at(DEFAULT, "busy", 0, 1, 3, datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="callback_at: expected a timezone-aware"):
        due(DEFAULT, "callback", callback_at=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="expected counts >= 0"):
        due(DEFAULT, "busy", prior=-1)


def test_never_retried_dispositions_cannot_be_turned_on() -> None:
    assert {"invalid_number", "do_not_call"} == NEVER_RETRIED
    forced = RetryPolicy({**DEFAULT_RULES, "do_not_call": RetryRule(5, 60)})  # bypassing from_json
    assert due(forced, "do_not_call") is None
