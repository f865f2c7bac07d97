"""From a lead's E.164 number to the SIP URI the dialer calls.

    plan = DialPlan("sip:{digits}@trunk.example.net")            # a carrier trunk that wants 4930123456
    plan = DialPlan("sip:{e164}@10.0.0.5:5060;user=phone")        # a PBX that takes +4930123456
    plan = DialPlan("sip:{user}@127.0.0.1:5080", users={"+15550100001": "busy-bob"})   # the customer simulator

Placeholders: `{e164}` (with the plus), `{digits}` (without it), `{user}` (the `users` map's entry for the number,
else its E.164 form). Only the number reaches the URI: it is never logged here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DialPlan"]

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_KNOWN = frozenset({"e164", "digits", "user"})


@dataclass(frozen=True, slots=True)
class DialPlan:
    template: str
    users: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.template.startswith(("sip:", "sips:", "tel:")):
            raise ValueError(f"expected a sip:, sips: or tel: URI template, got {self.template[:8]!r}...")
        names = set(_PLACEHOLDER.findall(self.template))
        if not names & _KNOWN or names - _KNOWN:
            raise ValueError(f"expected placeholders among {sorted(_KNOWN)}, got {sorted(names)}")
        for number in self.users:
            _checked(number)

    def uri(self, phone_e164: str) -> str:
        number = _checked(phone_e164)
        user = self.users.get(number, number)
        return self.template.format(e164=number, digits=number[1:], user=user)


def _checked(number: str) -> str:
    if not _E164.fullmatch(number):
        raise ValueError("expected an E.164 number (+ and 7 to 15 digits)")
    return number
