"""How a SIP outcome becomes a call disposition: a pure function of what the worker observed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

HangupBy = Literal["local", "remote", "system"]
LocalCause = Literal["hangup", "ring_timeout", "media_timeout", "worker_failed", "error"]


class Disposition(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    UNAVAILABLE = "unavailable"
    NETWORK_ERROR = "network_error"
    FAILED = "failed"
    MEDIA_WORKER_FAILED = "media_worker_failed"


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """Facts about how a call ended, as seen by the SIP worker."""

    answered: bool
    sip_status: int  # final status of the INVITE (200 when answered), 0 if none
    local_cause: LocalCause | None  # set when our side ended the call
    remote_responded: bool  # any response (provisional or final) came from the far end


_BY_STATUS: dict[int, Disposition] = {
    486: Disposition.BUSY,
    600: Disposition.BUSY,
    408: Disposition.NO_ANSWER,
    480: Disposition.NO_ANSWER,
    487: Disposition.NO_ANSWER,  # our CANCEL was accepted
    603: Disposition.REJECTED,
    404: Disposition.INVALID_NUMBER,
    484: Disposition.INVALID_NUMBER,
    410: Disposition.INVALID_NUMBER,
    604: Disposition.INVALID_NUMBER,
}


def classify(outcome: CallOutcome) -> Disposition:
    """Disposition of a finished call.

    An answered call is `answered` unless its media died (`network_error`). A call that never got any
    response from the far end failed in the network, whatever status our own stack made up for it
    (pjsip reports its local timeout as 408 and a transport failure as 503).
    """
    if outcome.local_cause == "worker_failed":
        return Disposition.MEDIA_WORKER_FAILED
    if outcome.answered:
        return Disposition.NETWORK_ERROR if outcome.local_cause == "media_timeout" else Disposition.ANSWERED
    if not outcome.remote_responded:
        return Disposition.FAILED if outcome.local_cause == "error" else Disposition.NETWORK_ERROR
    if outcome.local_cause == "ring_timeout":
        return Disposition.NO_ANSWER
    if outcome.sip_status in _BY_STATUS:
        return _BY_STATUS[outcome.sip_status]
    if 500 <= outcome.sip_status < 600:
        return Disposition.UNAVAILABLE
    return Disposition.FAILED


def hangup_by(outcome: CallOutcome) -> HangupBy:
    if outcome.local_cause == "hangup":
        return "local"
    if outcome.local_cause is not None:
        return "system"
    return "remote"
