"""The dialer loop's tests (tests/unit/test_dialer_loop.py) on a real PostgreSQL: claims with SKIP LOCKED, the
outcome transaction, assignment and webhook queueing, lease loss and the graceful stop, as on SQLite."""

from __future__ import annotations

import pytest

from storage import Database
from tests.unit import test_dialer_loop as loop

pytestmark = pytest.mark.db


@pytest.fixture
def db(pg_db: Database) -> Database:
    return pg_db


test_retries_follow_the_policy_per_disposition = loop.test_retries_follow_the_policy_per_disposition
test_the_attempt_cap_ends_retries = loop.test_the_attempt_cap_ends_retries
test_an_answered_call_leaves_its_record_grade_follow_ups_rep_and_webhooks = (
    loop.test_an_answered_call_leaves_its_record_grade_follow_ups_rep_and_webhooks
)
test_a_do_not_call_request_lists_the_number_and_ends_the_lead = (
    loop.test_a_do_not_call_request_lists_the_number_and_ends_the_lead
)
test_concurrency_and_rate_caps_hold = loop.test_concurrency_and_rate_caps_hold
test_a_lost_lease_hangs_the_call_up_and_the_sweeper_ends_it = (
    loop.test_a_lost_lease_hangs_the_call_up_and_the_sweeper_ends_it
)
test_a_graceful_stop_hangs_up_after_the_drain_and_records_the_call = (
    loop.test_a_graceful_stop_hangs_up_after_the_drain_and_records_the_call
)
test_a_lead_whose_zone_cannot_be_told_is_never_called = loop.test_a_lead_whose_zone_cannot_be_told_is_never_called
test_only_campaigns_whose_script_and_voice_are_loaded_are_dialed = (
    loop.test_only_campaigns_whose_script_and_voice_are_loaded_are_dialed
)
