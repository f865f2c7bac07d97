import pytest

from telephony.dispositions import CallOutcome, Disposition, classify, hangup_by

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (486, Disposition.BUSY),
        (600, Disposition.BUSY),
        (408, Disposition.NO_ANSWER),
        (480, Disposition.NO_ANSWER),
        (603, Disposition.REJECTED),
        (404, Disposition.INVALID_NUMBER),
        (484, Disposition.INVALID_NUMBER),
        (503, Disposition.UNAVAILABLE),
        (502, Disposition.UNAVAILABLE),
        (488, Disposition.FAILED),
        (403, Disposition.FAILED),
    ],
)
def test_final_status_from_the_far_end(status: int, expected: Disposition) -> None:
    outcome = CallOutcome(answered=False, sip_status=status, local_cause=None, remote_responded=True)
    assert classify(outcome) == expected
    assert hangup_by(outcome) == "remote"


def test_answered_call_is_answered_whoever_hangs_up() -> None:
    for cause in (None, "hangup"):
        outcome = CallOutcome(answered=True, sip_status=200, local_cause=cause, remote_responded=True)
        assert classify(outcome) == Disposition.ANSWERED
    assert hangup_by(CallOutcome(True, 200, "hangup", True)) == "local"


def test_ring_timeout_is_no_answer_by_the_system() -> None:
    outcome = CallOutcome(answered=False, sip_status=487, local_cause="ring_timeout", remote_responded=True)
    assert classify(outcome) == Disposition.NO_ANSWER
    assert hangup_by(outcome) == "system"


def test_media_timeout_after_answer_is_a_network_error() -> None:
    outcome = CallOutcome(answered=True, sip_status=200, local_cause="media_timeout", remote_responded=True)
    assert classify(outcome) == Disposition.NETWORK_ERROR
    assert hangup_by(outcome) == "system"


@pytest.mark.parametrize("status", [408, 503, 0])
def test_no_response_at_all_is_a_network_error_whatever_status_pjsip_made_up(status: int) -> None:
    outcome = CallOutcome(answered=False, sip_status=status, local_cause=None, remote_responded=False)
    assert classify(outcome) == Disposition.NETWORK_ERROR


def test_local_errors_and_worker_failures() -> None:
    assert classify(CallOutcome(False, 0, "error", False)) == Disposition.FAILED
    assert classify(CallOutcome(True, 200, "worker_failed", True)) == Disposition.MEDIA_WORKER_FAILED
