"""What a finished attempt leaves in the database, in one transaction: the attempt's disposition, the lead's next
attempt (the campaign's retry policy) or its end, the call record, the lead's grade and intent score, follow-ups
(a booked meeting, a callback, a do-not-call request), the hand-over of an A or B lead to a sales rep, and the
webhook events `call.completed` and `lead.qualified`.

Nothing here logs personal data: ids, dispositions and counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dialer.assignment import Strategy, assign_qualified
from dialer.placer import CallRequest, PlacedCall
from dialer.retry import next_attempt_at
from dialer.rules import CampaignRules
from dialer.webhooks import call_completed_payload, enqueue, lead_qualified_payload
from storage import Database
from storage.models import CallAttempt, CallRecord, FollowUp, Lead, LeadStatus, TranscriptTurn
from storage.repos import Claim, add_do_not_call, finish_attempt, release_attempt, save_call_record

__all__ = ["DIALER_STOPPED", "NO_TIMEZONE", "OutcomeRecorder", "RecordedOutcome"]

log = logging.getLogger(__name__)

DIALER_STOPPED = "dialer_stopped"  # the dialer shut down during the call and hung up
NO_TIMEZONE = "no_timezone"  # the lead's time zone cannot be told, so its calling window cannot be honoured
QUALIFIED = frozenset({"A", "B"})


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """What `OutcomeRecorder.record` did (for metrics and tests)."""

    campaign_id: int
    attempt_id: int
    disposition: str
    retry_at: datetime | None
    grade: str | None = None
    rep_id: int | None = None
    lost: bool = False  # the attempt was no longer ours: nothing was written


class OutcomeRecorder:
    """`strategy`, `protection_s`: how qualified leads go to sales reps (dialer/assignment.py).
    `on_recorded(outcome)`: called after the commit (the Prometheus metrics)."""

    def __init__(
        self,
        *,
        strategy: Strategy = "round_robin",
        protection_s: float = 7 * 86400.0,
        on_recorded: Callable[[RecordedOutcome], None] | None = None,
    ) -> None:
        self.strategy, self.protection_s, self.on_recorded = strategy, protection_s, on_recorded

    def record(
        self,
        database: Database,
        rules: CampaignRules,
        claim: Claim,
        call: CallRequest,
        placed: PlacedCall,
        now: datetime,
    ) -> RecordedOutcome:
        with database.transaction() as s:
            outcome = self._record(s, rules, claim, call, placed, now)
        if outcome.lost:
            log.warning("attempt %d: ended elsewhere before its outcome was recorded", claim.attempt_id)
        elif self.on_recorded is not None:
            self.on_recorded(outcome)
        return outcome

    def not_dialed(self, session: Session, claim: Claim, retry_at: datetime | None, reason: str, now: datetime) -> None:
        """Give back a claim the lead's calling window does not allow (it never counts as an attempt)."""
        release_attempt(session, claim.attempt_id, claim.claimed_by, retry_at=retry_at or now, now=now)
        if reason == NO_TIMEZONE:
            session.execute(
                update(Lead)
                .where(Lead.id == claim.lead_id, Lead.status == LeadStatus.QUEUED)
                .values(status=LeadStatus.DONE, next_attempt_at=None, category=NO_TIMEZONE, updated_at=now)
            )

    # -- the transaction --

    def _record(
        self, s: Session, rules: CampaignRules, claim: Claim, call: CallRequest, placed: PlacedCall, now: datetime
    ) -> RecordedOutcome:
        record = placed.record
        follow = _follow_ups(record.follow_ups if record is not None else [])
        if "do_not_call" in follow:
            add_do_not_call(s, [call.phone_e164], source="customer_request", now=now)
        retry_at = None if "do_not_call" in follow else self._retry_at(s, rules, claim, placed, follow, now)
        status = LeadStatus.DO_NOT_CALL if "do_not_call" in follow else None
        ours = finish_attempt(
            s,
            claim.attempt_id,
            claim.claimed_by,
            disposition=placed.disposition,
            sip_status=placed.sip_status,
            answered_at=placed.answered_at,
            retry_at=retry_at,
            lead_status=status,
            now=now,
        )
        if not ours:
            return RecordedOutcome(claim.campaign_id, claim.attempt_id, placed.disposition, None, lost=True)
        grade, rep_id = None, None
        if record is not None:
            grade = self._save_record(s, claim, record, follow, now)
            if grade in QUALIFIED:
                rep_id = assign_qualified(
                    s, claim.lead_id, strategy=self.strategy, protection_s=self.protection_s, now=now
                )
                s.flush()
                lead = s.get_one(Lead, claim.lead_id)
                s.refresh(lead)
                payload = lead_qualified_payload(lead, qualified_at=now, attempt_id=claim.attempt_id)
                enqueue(s, "lead.qualified", payload, now=now)
        enqueue(s, "call.completed", _completed_payload(rules, claim, placed, retry_at, now), now=now)
        return RecordedOutcome(claim.campaign_id, claim.attempt_id, placed.disposition, retry_at, grade, rep_id)

    def _retry_at(
        self, s: Session, rules: CampaignRules, claim: Claim, placed: PlacedCall, follow: dict[str, Any], now: datetime
    ) -> datetime | None:
        """The retry policy's answer. A call that ended with a callback request is retried as `callback` (at the
        time the person named); its attempt's disposition stays how the call ended (`answered`)."""
        callback_at = _parse_time(follow.get("callback", {}).get("at"))
        earlier = CallAttempt.lead_id == claim.lead_id, CallAttempt.id != claim.attempt_id
        if "callback" in follow:
            kind = "callback"
            prior = (
                select(func.count()).select_from(CallRecord).join(CallAttempt, CallAttempt.id == CallRecord.attempt_id)
            )
            prior = prior.where(*earlier, CallRecord.outcome == "callback")
        else:
            kind = placed.disposition
            prior = select(func.count()).where(*earlier, CallAttempt.disposition == placed.disposition)
        return next_attempt_at(
            rules.retry,
            kind,
            prior_same_disposition=s.scalar(prior) or 0,
            attempts_so_far=claim.attempt_no,
            max_attempts=rules.max_attempts,
            now=now,
            callback_at=callback_at,
        )

    def _save_record(self, s: Session, claim: Claim, record: Any, follow: dict[str, Any], now: datetime) -> str | None:
        save_call_record(
            s,
            claim.attempt_id,
            transcript=[_turn(line) for line in record.transcript],
            timings=dict(record.timings) | {"duration_s": record.duration_s},
            recording_path=record.recording_path,
            outcome=record.outcome,
            grade=record.grade,
            score=None if record.score is None else float(record.score),
            signals={"signals": list(record.signals), "category": record.category},
            handoff={"handoffs": list(record.handoffs)} if record.handoffs else {},
        )
        if record.grade is not None:
            s.execute(
                update(Lead)
                .where(Lead.id == claim.lead_id)
                .values(grade=record.grade, intent_score=record.score, category=record.category, updated_at=now)
            )
        booked = _parse_time(follow.get("book", {}).get("at"))
        if booked is not None:
            s.add(FollowUp(lead_id=claim.lead_id, kind="meeting", note="booked on the call", due_at=booked))
        callback = _parse_time(follow.get("callback", {}).get("at"))
        if callback is not None:
            s.add(FollowUp(lead_id=claim.lead_id, kind="call", note="callback asked for on the call", due_at=callback))
        grade: str | None = record.grade
        return grade


def _follow_ups(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The call's follow-ups by kind (the last of each kind wins)."""
    return {str(item.get("kind")): item for item in items}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None  # a naive time's zone is a guess: not acted on


def _turn(line: Any) -> TranscriptTurn:
    end_s = line.end_s if line.end_s is not None else line.start_s
    return TranscriptTurn(speaker=line.speaker, start_s=line.start_s, end_s=max(end_s, line.start_s), text=line.text)


def _completed_payload(
    rules: CampaignRules, claim: Claim, placed: PlacedCall, retry_at: datetime | None, now: datetime
) -> dict[str, Any]:
    record = placed.record
    return call_completed_payload(
        attempt_id=claim.attempt_id,
        lead_id=claim.lead_id,
        campaign_id=rules.campaign_id,
        attempt_no=claim.attempt_no,
        disposition=placed.disposition,
        sip_status=placed.sip_status,
        outcome=None if record is None else record.outcome,
        grade=None if record is None else record.grade,
        score=None if record is None or record.score is None else float(record.score),
        answered_at=placed.answered_at,
        ended_at=now,
        duration_s=None if record is None else record.duration_s,
        retry_at=retry_at,
    )
