"""Per-campaign settings the engine obeys: disclosure and recording wording, voicemail, handoff, reprompts.

Legal wording is the campaign's, not the script's: the opening may carry `{ai_disclosure}` and
`{recording_notice}` placeholders that the engine fills from here (empty when switched off). The answer to
"are you a robot?" is always honest: `robot_answer_text` only changes its wording, never whether it is said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

VoicemailPolicy = Literal["leave_message", "hang_up"]

# Default wordings by language, used when the campaign sets none.
DEFAULT_AI_DISCLOSURE = {"en": "I'm an automated assistant.", "zh": "我是智能语音助理。"}
DEFAULT_RECORDING_NOTICE = {"en": "This call may be recorded.", "zh": "本次通话可能会被录音。"}
DEFAULT_HANDOFF_APOLOGY = {
    "en": "I'm sorry, my colleagues are all busy right now. I'll have one of them call you back.",
    "zh": "不好意思，同事们现在都在忙，我会安排同事稍后给您回电。",
}
# Keypad shortcuts, a common IVR convention; a campaign may replace the table.
DEFAULT_DTMF = {"1": "yes", "2": "no", "0": "want_human", "9": "remove_me"}


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    agent_name: str = "Alex"  # `{agent_name}`: the human advisor the robot calls for (takes the follow-up)
    company: str | None = None  # `{company}`; None: the script's
    product: str | None = None  # `{product}`; None: the script's
    callback_number: str = ""  # `{callback_number}`, left in voicemail messages
    ai_disclosure: bool = True  # say in the opening that the caller is automated (`{ai_disclosure}`)
    ai_disclosure_text: str | None = None
    robot_answer_text: str | None = None  # campaign wording for "are you a robot?"; None: the DISCLOSURE node
    recording_notice: bool = True  # `{recording_notice}` in the opening
    recording_notice_text: str | None = None
    voicemail: VoicemailPolicy = "leave_message"
    handoff_score_threshold: int = 70  # request an agent once the lead scores this much (above 100: never)
    handoff_wait_s: float = 30.0
    handoff_apology_text: str | None = None  # said when no agent came in time
    max_reprompts: int = 2  # per question, for silence and no-match together
    silence_reprompt_s: float = 5.0  # shorter Silence events are ignored; also the Listen timeout
    min_confidence: float = 0.5  # recognizer confidence below this: clarify before acting
    lead: Mapping[str, str] = field(default_factory=dict)  # placeholder values: first_name, last_name, city...
    lead_is_customer: bool = False  # the lead already buys from us (category "actual")
    lead_timezone: str = "UTC"  # IANA name; attached to a naive `now`
    dtmf: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DTMF))  # digit -> intent

    def __post_init__(self) -> None:
        if self.max_reprompts < 0:
            raise ValueError(f"expected max_reprompts >= 0, got {self.max_reprompts}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"expected min_confidence in 0..1, got {self.min_confidence}")
        if self.handoff_wait_s <= 0 or self.silence_reprompt_s <= 0:
            raise ValueError(
                f"expected positive handoff_wait_s and silence_reprompt_s, got {self.handoff_wait_s}, "
                f"{self.silence_reprompt_s}"
            )
        ZoneInfo(self.lead_timezone)  # an unknown zone fails here, not in the middle of a call

    def placeholders(self, language: str, company: str, product: str) -> dict[str, str]:
        """Values for the campaign's placeholders (lead fields first, so the campaign's own names win)."""
        values = dict(self.lead)
        values.update(
            agent_name=self.agent_name,
            company=self.company or company,
            product=self.product or product,
            callback_number=self.callback_number,
            ai_disclosure=(self.ai_disclosure_text or DEFAULT_AI_DISCLOSURE[language]) if self.ai_disclosure else "",
            recording_notice=(self.recording_notice_text or DEFAULT_RECORDING_NOTICE[language])
            if self.recording_notice
            else "",
        )
        return values

    def handoff_apology(self, language: str) -> str:
        return self.handoff_apology_text or DEFAULT_HANDOFF_APOLOGY[language]
