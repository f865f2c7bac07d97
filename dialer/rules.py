"""What the dialer needs to know about a running campaign and one lead, read once and decided without I/O.

`CampaignRules` is a campaign row turned into decisions: whether a lead may be called now (its calling window, in
its own time zone), when to try again, and what to tell the placer. `LeadView` is the part of a lead row a call
needs, detached from the database session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from dialer.pacing import TokenBucket
from dialer.placer import CallRequest
from dialer.retry import DEFAULT_RULES, RetryPolicy
from dialer.windows import CallingWindows
from dialer.zones import lead_zones
from storage import Database
from storage.models import Campaign, CampaignStatus, Lead
from storage.repos import Claim

log = logging.getLogger(__name__)

__all__ = ["CampaignRules", "LeadView", "WindowVerdict", "lease_expired_delay_s", "load_lead", "load_running_campaigns"]

NEVER_OPEN_RETRY = timedelta(days=1)  # windows that never open (a misconfigured campaign): look again tomorrow


@dataclass(frozen=True, slots=True)
class LeadView:
    """Personal data (phone, name, custom fields): hand it to the call, never to a log."""

    lead_id: int
    phone_e164: str
    name: str | None
    company: str | None
    industry: str | None
    region: str | None
    timezone: str | None
    custom_fields: dict[str, Any]

    def placeholders(self) -> dict[str, str]:
        """The script's lead placeholders: `{first_name}`, `{last_name}`, `{company}` and custom fields."""
        values = {k: str(v) for k, v in self.custom_fields.items() if isinstance(v, str | int | float)}
        if self.name:
            first, _, last = self.name.strip().partition(" ")
            values.update(name=self.name, first_name=first, last_name=last.strip())
        if self.company:
            values["lead_company"] = self.company
        return values


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    open: bool
    retry_at: datetime | None = None  # when closed: when the lead's window opens next (None: never, see reason)
    reason: str = ""  # when closed: outside_window | closing | no_timezone | never_open
    zone: str = "UTC"  # the lead's (first) zone, for the dialogue's dates


@dataclass(slots=True)
class CampaignRules:
    campaign_id: int
    name: str
    script_id: str
    language: str
    caller_id: str | None
    team_id: int | None
    max_concurrent_calls: int
    max_attempts: int
    windows: CallingWindows
    retry: RetryPolicy
    dialogue: dict[str, Any]
    bucket: TokenBucket
    voice: str | None = None  # the campaign's agent voice profile

    @classmethod
    def from_row(cls, c: Campaign, now_s: float) -> CampaignRules:
        retry = RetryPolicy.from_json(c.retry_policy or {})
        return cls(
            campaign_id=c.id,
            name=c.name,
            script_id=c.script_id,
            language=c.language,
            caller_id=c.caller_id,
            team_id=c.team_id,
            max_concurrent_calls=c.max_concurrent_calls,
            max_attempts=c.max_attempts,
            windows=CallingWindows.from_json(c.calling_windows or {}),
            retry=retry,
            dialogue=dict(c.dialogue_settings or {}),
            bucket=TokenBucket(c.calls_per_second, max(1.0, c.calls_per_second), now_s),
            voice=c.voice_profile_id,
        )

    def window_verdict(self, lead: LeadView, now: datetime, margin: timedelta) -> WindowVerdict:
        """Open only when the window is open in every zone the lead may be in and stays open for `margin`."""
        zones = lead_zones(lead.phone_e164, lead.region, lead.timezone)
        if not zones:
            return WindowVerdict(False, None, "no_timezone")
        zone = zones[0].key
        if self.windows.is_open(zones, now):
            closes = self.windows.closes_at(zones, now)
            if closes is None or closes - now >= margin:
                return WindowVerdict(True, zone=zone)
            after, reason = closes, "closing"
        else:
            after, reason = now, "outside_window"
        retry_at = self.windows.next_open(zones, after)
        if retry_at is None:
            return WindowVerdict(False, now + NEVER_OPEN_RETRY, "never_open", zone)
        return WindowVerdict(False, retry_at, reason, zone)

    def request(self, claim: Claim, lead: LeadView, zone: str) -> CallRequest:
        meta = {
            "campaign_name": self.name,
            "team_id": self.team_id,
            "industry": lead.industry,
            "language": self.language,
            "lead_name": lead.name,
        }
        return CallRequest(
            call_id=f"a{claim.attempt_id}",
            attempt_id=claim.attempt_id,
            lead_id=claim.lead_id,
            campaign_id=self.campaign_id,
            phone_e164=lead.phone_e164,
            script_id=self.script_id,
            lead=lead.placeholders(),
            caller_id=self.caller_id,
            voice=self.voice,
            timezone=zone,
            policy=self.dialogue,
            meta=meta,
        )


def lease_expired_delay_s(retry_policy: dict[str, Any] | None) -> float:
    """How long after a dead dialer's attempt is ended its lead is due again (the campaign's retry policy)."""
    try:
        return RetryPolicy.from_json(retry_policy or {}).rule_for("lease_expired").after_s
    except ValueError:  # an invalid stored policy: that campaign is not dialed, but its dead attempts still end
        return DEFAULT_RULES["lease_expired"].after_s


def load_running_campaigns(
    database: Database,
    now_s: float,
    only: tuple[int, ...] | None = None,
    scripts: frozenset[str] | None = None,
    voices: frozenset[str] | None = None,
) -> dict[int, CampaignRules]:
    """Running campaigns (of `only`, if given) whose script and voice this process has loaded (None: any)."""
    stmt = select(Campaign).where(Campaign.status == CampaignStatus.RUNNING)
    if only is not None:
        stmt = stmt.where(Campaign.id.in_(only))
    if scripts is not None:
        stmt = stmt.where(Campaign.script_id.in_(sorted(scripts)))
    if voices is not None:
        stmt = stmt.where(or_(Campaign.voice_profile_id.is_(None), Campaign.voice_profile_id.in_(sorted(voices))))
    rules = {}
    with database.read() as s:
        for c in s.scalars(stmt):
            try:
                rules[c.id] = CampaignRules.from_row(c, now_s)
            except ValueError as e:  # an invalid stored setting: skip this campaign, keep dialing the others
                log.error("campaign %d: not dialed: %s", c.id, e)
    return rules


def load_lead(database: Database, lead_id: int) -> LeadView:
    with database.read() as s:
        lead = s.get_one(Lead, lead_id)
        return LeadView(
            lead.id,
            lead.phone_e164,
            lead.name,
            lead.company,
            lead.industry,
            lead.region,
            lead.timezone,
            dict(lead.custom_fields or {}),
        )
