"""Who may see and control which call, and what of a lead's number they see: pure rules, no I/O.

- agent: sees and controls the calls of its own teams' campaigns and the calls assigned to it;
- supervisor: sees, listens to, whispers on and controls every call;
- admin: everything a supervisor may, and manages users, teams, campaigns and scripts.

A number is shown in full only to the agent the call is assigned to; everyone else sees `+1 *** *** 4567`.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Role

__all__ = ["CallScope", "Viewer", "can_control", "can_see", "can_whisper", "country_code", "is_staff", "mask_phone"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in user behind a request or a socket."""

    user_id: int
    username: str
    role: Role
    team_ids: frozenset[int]
    token_hash: str = ""  # the login session (empty in tests of the pure rules)
    csrf_token: str = ""


@dataclass(frozen=True, slots=True)
class CallScope:
    """What the rules need to know of a call: whose campaign it is and who it is assigned to."""

    team_id: int | None
    assigned_agent_id: int | None


def is_staff(viewer: Viewer) -> bool:
    """Supervisors and admins: every call is theirs to see and control."""
    return viewer.role in (Role.SUPERVISOR, Role.ADMIN)


def can_see(viewer: Viewer, call: CallScope | None) -> bool:
    """`call` None: a live call the console knows nothing about (no metadata): staff only."""
    if is_staff(viewer):
        return True
    if call is None:
        return False
    if call.assigned_agent_id is not None and call.assigned_agent_id == viewer.user_id:
        return True
    return call.team_id is not None and call.team_id in viewer.team_ids


def can_control(viewer: Viewer, call: CallScope | None) -> bool:
    """Take over, hand back, hang up, set the outcome, use the agent socket: the same calls an agent sees."""
    return can_see(viewer, call)


def can_whisper(viewer: Viewer) -> bool:
    return is_staff(viewer)


# ITU-T E.164 country calling codes are prefix-free: these are the 1- and 2-digit ones, every other code has 3.
_ONE_DIGIT = frozenset({"1", "7"})
_TWO_DIGITS = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 "
    "90 91 92 93 94 95 98".split()
)


def country_code(e164: str) -> str:
    """The calling code of an E.164 number (`+14155550123` → `1`); "" when it is not one."""
    digits = e164[1:] if e164.startswith("+") else ""
    if not digits.isdigit():
        return ""
    if digits[:1] in _ONE_DIGIT:
        return digits[:1]
    if digits[:2] in _TWO_DIGITS:
        return digits[:2]
    return digits[:3]


def mask_phone(e164: str | None) -> str | None:
    """`+14155554567` → `+1 *** *** 4567`: the country code and the last four digits, nothing else."""
    if not e164:
        return None
    cc = country_code(e164)
    if not cc:
        return "***"
    rest = e164[1 + len(cc) :]
    if len(rest) <= 4:
        return f"+{cc} ***"
    return f"+{cc} *** *** {rest[-4:]}"
