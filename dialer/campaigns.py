"""The campaign service: create and edit campaigns, run them through their lifecycle, report their progress.

Plain functions over a `Session`, like storage.repos: the caller owns the transaction.

Lifecycle (an illegal step raises `ValueError("expected campaign in X, got Y")`; an unknown id `LookupError`):

    draft --start--> running --pause--> paused --resume--> running
                     running --stop---> stopped <--stop--- paused

Each step is one conditional UPDATE (`… WHERE status IN (legal sources)`), so two consoles racing on the same
campaign cannot both succeed. Settings change only while a campaign is draft or paused. `start` and `resume`
check the stored settings again (a script may have left the library since). Only running campaigns are dialed
(`storage.repos.claim_next_attempt` claims nothing else): pausing or stopping lets the calls in progress finish,
and their leads are rescheduled as usual; queued leads stay queued, so a stopped campaign keeps its queue as it
was (it is never claimed again; stop is final).

Every change is written to the audit log (`campaign_changed`, with the campaign id and the step in `details`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, Text, and_, case, cast, func, or_, select, update
from sqlalchemy.orm import Session

from dialer.retry import RetryPolicy
from dialer.windows import CallingWindows
from dialogue.policy import CampaignPolicy
from scripts_library.catalog import load_catalog
from scripts_library.schema import Script
from storage.models import AttemptState, CallAttempt, CallRecord, Campaign, CampaignStatus, Lead, LeadStatus, Team
from storage.models.base import utcnow
from storage.repos.audit import AuditAction, record_audit

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_CALLS_PER_SECOND",
    "MAX_CONCURRENT_CALLS",
    "CampaignProgress",
    "CampaignSpec",
    "create_campaign",
    "get_campaign",
    "pause",
    "progress",
    "resume",
    "spec_of",
    "start",
    "stop",
    "update_campaign",
    "validate_spec",
]

MAX_CONCURRENT_CALLS = 1000
MAX_CALLS_PER_SECOND = 100.0
MAX_ATTEMPTS = 20
QUALIFIED_GRADES = ("A", "B")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.PAUSED)


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign's settings, as a console form or the CLI gives them.

    `script_id` must be in the scripts library and `language` must be the script's; `caller_id` is E.164 or
    None (the trunk's default); `calling_windows` and `retry_policy` are the JSON documented in dialer.windows
    and dialer.retry (`{}`: the defaults).
    """

    name: str
    script_id: str
    language: str
    voice_profile_id: str | None = None
    caller_id: str | None = None
    max_concurrent_calls: int = 1
    calls_per_second: float = 1.0
    calling_windows: Mapping[str, Any] = field(default_factory=dict)
    retry_policy: Mapping[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    team_id: int | None = None
    dialogue_settings: Mapping[str, Any] = field(default_factory=dict)  # `dialogue.CampaignPolicy` fields


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """Where a campaign stands. Lead counts are by the lead's current status and grade; attempt counts by attempt.

    `attempts_by_disposition` counts ended attempts; `open_attempts` those claimed or dialing now. `answered`:
    attempts the far end picked up (a person or a machine). `qualified`: leads graded A or B. `handed_to_person`:
    attempts whose call went to a person (the call record has a `handoff`, or its outcome is `handoff`).
    """

    campaign_id: int
    status: CampaignStatus
    leads_total: int
    leads_by_status: dict[str, int]
    grades: dict[str, int]
    qualified: int
    attempts_total: int
    open_attempts: int
    attempts_by_disposition: dict[str, int]
    answered: int
    handed_to_person: int


def validate_spec(spec: CampaignSpec, *, catalog: Mapping[str, Script] | None = None) -> CampaignSpec:
    """The spec with its name trimmed and its JSON copied, or ValueError naming the first bad field.

    `catalog`: the scripts to check `script_id` against (default: the shipped library).
    """
    name = spec.name.strip() if isinstance(spec.name, str) else ""
    if not 1 <= len(name) <= 200:
        raise ValueError("name: expected 1..200 characters")
    _check_script(spec, load_catalog() if catalog is None else catalog)
    if spec.voice_profile_id is not None and not 1 <= len(spec.voice_profile_id) <= 64:
        raise ValueError("voice_profile_id: expected 1..64 characters or None")
    if spec.caller_id is not None and not _valid_e164(spec.caller_id):
        raise ValueError("caller_id: expected a valid E.164 number (+ and 7 to 15 digits) or None")
    _check_limits(spec)
    CallingWindows.from_json(spec.calling_windows)
    RetryPolicy.from_json(spec.retry_policy)
    _check_dialogue(spec.dialogue_settings)
    return replace(
        spec,
        name=name,
        calls_per_second=float(spec.calls_per_second),
        calling_windows=_json_copy(spec.calling_windows),
        retry_policy=_json_copy(spec.retry_policy),
        dialogue_settings=_json_copy(spec.dialogue_settings),
    )


# what the robot says on the campaign's behalf; the lead's own values and zone come from each lead
DIALOGUE_SETTINGS = frozenset(CampaignPolicy.__dataclass_fields__) - {"lead", "lead_timezone", "lead_is_customer"}


def _check_dialogue(settings: Mapping[str, Any]) -> None:
    if not isinstance(settings, Mapping):
        raise ValueError("dialogue_settings: expected an object")
    unknown = set(settings) - DIALOGUE_SETTINGS
    if unknown:
        known = ", ".join(sorted(DIALOGUE_SETTINGS))
        raise ValueError(f"dialogue_settings: unknown {sorted(unknown)} (known: {known})")
    try:
        CampaignPolicy(**settings)
    except (TypeError, ValueError) as e:
        raise ValueError(f"dialogue_settings: {e}") from None


def _check_script(spec: CampaignSpec, scripts: Mapping[str, Script]) -> None:
    script = scripts.get(spec.script_id)
    if script is None:
        raise ValueError(f"script_id: no script {spec.script_id!r} (have: {', '.join(sorted(scripts))})")
    if spec.language != script.language:
        raise ValueError(f"language: expected {script.language!r} (the script's), got {spec.language!r}")


def _check_limits(spec: CampaignSpec) -> None:
    _check_int("max_concurrent_calls", spec.max_concurrent_calls, MAX_CONCURRENT_CALLS)
    _check_int("max_attempts", spec.max_attempts, MAX_ATTEMPTS)
    cps = spec.calls_per_second
    if isinstance(cps, bool) or not isinstance(cps, int | float) or not (0 < cps <= MAX_CALLS_PER_SECOND):
        raise ValueError(f"calls_per_second: expected a number in (0, {MAX_CALLS_PER_SECOND:g}], got {cps!r}")
    if spec.team_id is not None and (isinstance(spec.team_id, bool) or not isinstance(spec.team_id, int)):
        raise ValueError(f"team_id: expected an integer or None, got {spec.team_id!r}")


def spec_of(campaign: Campaign) -> CampaignSpec:
    """The settings of a stored campaign (to prefill an edit form, or to check them again)."""
    return CampaignSpec(
        name=campaign.name,
        script_id=campaign.script_id,
        language=campaign.language,
        voice_profile_id=campaign.voice_profile_id,
        caller_id=campaign.caller_id,
        max_concurrent_calls=campaign.max_concurrent_calls,
        calls_per_second=campaign.calls_per_second,
        calling_windows=dict(campaign.calling_windows or {}),
        retry_policy=dict(campaign.retry_policy or {}),
        max_attempts=campaign.max_attempts,
        team_id=campaign.team_id,
        dialogue_settings=dict(campaign.dialogue_settings or {}),
    )


def create_campaign(
    session: Session,
    spec: CampaignSpec,
    *,
    user_id: int | None = None,
    catalog: Mapping[str, Script] | None = None,
    now: datetime | None = None,
) -> Campaign:
    """A new draft campaign (flushed, so it has its id). ValueError for invalid settings."""
    now = now or utcnow()
    checked = validate_spec(spec, catalog=catalog)
    _check_team(session, checked.team_id)
    campaign = Campaign(status=CampaignStatus.DRAFT, created_at=now, updated_at=now, **_columns(checked))
    session.add(campaign)
    session.flush()
    _audit(session, campaign.id, "create", user_id, now)
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign, freshly read; LookupError if there is none."""
    campaign = session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    return campaign


def update_campaign(
    session: Session,
    campaign_id: int,
    spec: CampaignSpec,
    *,
    user_id: int | None = None,
    catalog: Mapping[str, Script] | None = None,
    now: datetime | None = None,
) -> Campaign:
    """Replace a draft or paused campaign's settings. ValueError for invalid settings or another status."""
    now = now or utcnow()
    checked = validate_spec(spec, catalog=catalog)
    _check_team(session, checked.team_id)
    done = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(_EDITABLE))
        .values(updated_at=now, **_columns(checked))
        .returning(Campaign.id)
    ).one_or_none()
    if done is None:
        _refuse(session, campaign_id, _EDITABLE)
    _audit(session, campaign_id, "update", user_id, now)
    return get_campaign(session, campaign_id)


def start(
    session: Session,
    campaign_id: int,
    *,
    user_id: int | None = None,
    catalog: Mapping[str, Script] | None = None,
    now: datetime | None = None,
) -> Campaign:
    """draft -> running (its settings checked again first)."""
    validate_spec(spec_of(get_campaign(session, campaign_id)), catalog=catalog)
    return _transition(session, campaign_id, "start", user_id, now)


def pause(session: Session, campaign_id: int, *, user_id: int | None = None, now: datetime | None = None) -> Campaign:
    """running -> paused: nothing more is claimed; calls in progress finish."""
    return _transition(session, campaign_id, "pause", user_id, now)


def resume(
    session: Session,
    campaign_id: int,
    *,
    user_id: int | None = None,
    catalog: Mapping[str, Script] | None = None,
    now: datetime | None = None,
) -> Campaign:
    """paused -> running (its settings checked again first: they may have been edited while paused)."""
    validate_spec(spec_of(get_campaign(session, campaign_id)), catalog=catalog)
    return _transition(session, campaign_id, "resume", user_id, now)


def stop(session: Session, campaign_id: int, *, user_id: int | None = None, now: datetime | None = None) -> Campaign:
    """running or paused -> stopped, for good: queued leads stay queued and are never claimed."""
    return _transition(session, campaign_id, "stop", user_id, now)


_TRANSITIONS: dict[str, tuple[tuple[CampaignStatus, ...], CampaignStatus]] = {
    "start": ((CampaignStatus.DRAFT,), CampaignStatus.RUNNING),
    "pause": ((CampaignStatus.RUNNING,), CampaignStatus.PAUSED),
    "resume": ((CampaignStatus.PAUSED,), CampaignStatus.RUNNING),
    "stop": ((CampaignStatus.RUNNING, CampaignStatus.PAUSED), CampaignStatus.STOPPED),
}


def _transition(session: Session, campaign_id: int, step: str, user_id: int | None, now: datetime | None) -> Campaign:
    now = now or utcnow()
    sources, target = _TRANSITIONS[step]
    done = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(sources))
        .values(status=target, updated_at=now)
        .returning(Campaign.id)
    ).one_or_none()
    if done is None:
        _refuse(session, campaign_id, sources)
    _audit(session, campaign_id, step, user_id, now, status=target.value)
    return get_campaign(session, campaign_id)


def _refuse(session: Session, campaign_id: int, expected: tuple[CampaignStatus, ...]) -> None:
    current = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    if current is None:
        raise LookupError(f"no campaign {campaign_id}")
    raise ValueError(f"expected campaign in {' or '.join(s.value for s in expected)}, got {current.value}")


def progress(session: Session, campaign_id: int) -> CampaignProgress:
    """Counts for one campaign: three GROUP BY queries over its leads, attempts and call records."""
    status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    if status is None:
        raise LookupError(f"no campaign {campaign_id}")
    by_status = dict.fromkeys((s.value for s in LeadStatus), 0)
    grades: dict[str, int] = {}
    lead_rows = session.execute(
        select(Lead.status, Lead.grade, func.count())
        .where(Lead.campaign_id == campaign_id)
        .group_by(Lead.status, Lead.grade)
    )
    for lead_status, grade, count in lead_rows:
        by_status[LeadStatus(lead_status).value] += count
        if grade is not None:
            grades[grade] = grades.get(grade, 0) + count
    attempts = _attempt_counts(session, campaign_id)
    return CampaignProgress(
        campaign_id=campaign_id,
        status=status,
        leads_total=sum(by_status.values()),
        leads_by_status=by_status,
        grades=dict(sorted(grades.items())),
        qualified=sum(grades.get(g, 0) for g in QUALIFIED_GRADES),
        attempts_total=attempts.total,
        open_attempts=attempts.open,
        attempts_by_disposition=attempts.by_disposition,
        answered=attempts.answered,
        handed_to_person=_handoff_count(session, campaign_id),
    )


@dataclass(slots=True)
class _AttemptCounts:
    total: int = 0
    open: int = 0
    answered: int = 0
    by_disposition: dict[str, int] = field(default_factory=dict)


def _attempt_counts(session: Session, campaign_id: int) -> _AttemptCounts:
    answered = or_(CallAttempt.answered_at.is_not(None), CallAttempt.disposition == "answered")
    rows = session.execute(
        select(
            CallAttempt.state,
            CallAttempt.disposition,
            func.count(),
            func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
        )
        .where(CallAttempt.campaign_id == campaign_id)
        .group_by(CallAttempt.state, CallAttempt.disposition)
    )
    counts = _AttemptCounts()
    for state, disposition, count, answered_count in rows:
        counts.total += count
        counts.answered += int(answered_count)
        if AttemptState(state) is AttemptState.ENDED:
            key = disposition or "unknown"
            counts.by_disposition[key] = counts.by_disposition.get(key, 0) + count
        else:
            counts.open += count
    counts.by_disposition = dict(sorted(counts.by_disposition.items()))
    return counts


def _handoff_count(session: Session, campaign_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(CallAttempt)
        .join(CallRecord, CallRecord.attempt_id == CallAttempt.id)
        .where(CallAttempt.campaign_id == campaign_id, or_(CallRecord.outcome == "handoff", _has_handoff(session)))
    )
    return session.scalar(stmt) or 0


def _has_handoff(session: Session) -> ColumnElement[bool]:
    """`call_records.handoff` is a non-empty JSON object (JSONB on PostgreSQL, JSON text on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return and_(func.jsonb_typeof(CallRecord.handoff) == "object", cast(CallRecord.handoff, Text) != "{}")
    return and_(func.json_type(CallRecord.handoff) == "object", func.json(CallRecord.handoff) != "{}")


def _columns(spec: CampaignSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "script_id": spec.script_id,
        "language": spec.language,
        "voice_profile_id": spec.voice_profile_id,
        "caller_id": spec.caller_id,
        "max_concurrent_calls": spec.max_concurrent_calls,
        "calls_per_second": spec.calls_per_second,
        "calling_windows": dict(spec.calling_windows),
        "retry_policy": dict(spec.retry_policy),
        "max_attempts": spec.max_attempts,
        "team_id": spec.team_id,
        "dialogue_settings": dict(spec.dialogue_settings),
    }


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise ValueError(f"team_id: no team {team_id}")


def _check_int(name: str, value: Any, most: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValueError(f"{name}: expected an integer 1..{most}, got {value!r}")


def _valid_e164(number: str) -> bool:
    if not isinstance(number, str) or not _E164.fullmatch(number):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def _json_copy(value: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy that is plain JSON (validated settings always are; NaN is refused like JSON refuses it)."""
    copied: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    return copied


def _audit(session: Session, campaign_id: int, step: str, user_id: int | None, now: datetime, **extra: str) -> None:
    details: dict[str, Any] = {"campaign_id": campaign_id, "step": step, **extra}
    record_audit(session, user_id=user_id, action=AuditAction.CAMPAIGN_CHANGED, details=details, at=now)
