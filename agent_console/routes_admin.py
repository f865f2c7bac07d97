"""Users, teams, campaigns, scripts and the audit log (docs/console-api.md, "Administration").

Plain `def` handlers (the thread pool runs them: database and argon2 stay off the loop). Users are never deleted:
the audit log refers to them; `DELETE` deactivates. Deactivation and password resets end the user's sessions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent_console.auth import user_json
from agent_console.context import AdminDep, ConsoleDep, StaffDep, ViewerDep
from agent_console.errors import ApiError
from agent_console.passwords import MAX_PASSWORD, MIN_PASSWORD
from agent_console.policy import is_staff
from storage.models import Role, User
from storage.repos.audit import AuditAction, audit_trail
from storage.repos.users import (
    create_team,
    create_user,
    delete_user_sessions,
    list_teams,
    list_users,
    set_user_teams,
    team_members,
    user_team_ids,
)

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["admin"])
Username = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


class NewUser(BaseModel):
    username: Username
    password: Password
    role: Role = Role.AGENT
    team_ids: list[int] = []


class UserChange(BaseModel):
    role: Role | None = None
    active: bool | None = None
    team_ids: list[int] | None = None


class NewPassword(BaseModel):
    password: Password


class NewTeam(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=128)]


def _user(s: Session, user: User) -> dict[str, Any]:
    return user_json(user, list_teams(s, user_team_ids(s, user.id)))


def _found_user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise ApiError.not_found("user")
    return user


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


# -- users ------------------------------------------------------------------------------------------------------


@router.get("/users", summary="Every user (admin)")
def users(_: AdminDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        return {"users": [_user(s, u) for u in list_users(s)]}


@router.post("/users", status_code=201, summary="Create a user with a role and teams (admin, CSRF)")
def add_user(body: NewUser, admin: AdminDep, console: ConsoleDep) -> dict[str, Any]:
    password_hash = console.passwords.hash(body.password)
    try:
        with console.db.transaction() as s:
            user = create_user(s, body.username, password_hash, role=body.role)
            set_user_teams(s, user.id, body.team_ids)
            out = _user(s, user)
    except IntegrityError:
        raise ApiError(409, "conflict", "that username is taken") from None
    except ValueError as e:
        raise ApiError(400, "bad_request", str(e)) from None
    details = {"change": "created", "role": body.role.value, "team_ids": sorted(body.team_ids), "target": out["id"]}
    console.auditor.write(admin.user_id, AuditAction.USER_CHANGED, details=details)
    return {"user": out}


@router.patch("/users/{user_id}", summary="Change a user's role, teams or activation (admin, CSRF)")
def change_user(user_id: int, body: UserChange, admin: AdminDep, console: ConsoleDep) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    try:
        with console.db.transaction() as s:
            user = _found_user(s, user_id)
            if body.role is not None:
                user.role = changes["role"] = body.role
            if body.active is not None:
                user.active = changes["active"] = body.active
                if not body.active:
                    delete_user_sessions(s, user.id)
            if body.team_ids is not None:
                set_user_teams(s, user.id, body.team_ids)
                changes["team_ids"] = sorted(body.team_ids)
            s.flush()
            out = _user(s, user)
    except ValueError as e:
        raise ApiError(400, "bad_request", str(e)) from None
    console.auditor.write(admin.user_id, AuditAction.USER_CHANGED, details={"target": user_id, **changes})
    return {"user": out}


@router.delete("/users/{user_id}", status_code=204, summary="Deactivate a user (admin, CSRF)")
def deactivate_user(user_id: int, admin: AdminDep, console: ConsoleDep) -> Response:
    with console.db.transaction() as s:
        user = _found_user(s, user_id)
        user.active = False
        delete_user_sessions(s, user.id)
    console.auditor.write(admin.user_id, AuditAction.USER_CHANGED, details={"target": user_id, "active": False})
    return Response(status_code=204)


@router.post("/users/{user_id}/password", status_code=204, summary="Reset a user's password (admin, CSRF)")
def reset_password(user_id: int, body: NewPassword, admin: AdminDep, console: ConsoleDep) -> Response:
    password_hash = console.passwords.hash(body.password)
    with console.db.transaction() as s:
        user = _found_user(s, user_id)
        user.password_hash = password_hash
        delete_user_sessions(s, user.id)
    console.auditor.write(admin.user_id, AuditAction.USER_CHANGED, details={"target": user_id, "password": "reset"})
    return Response(status_code=204)


# -- teams and campaigns ----------------------------------------------------------------------------------------------


@router.get("/teams", summary="Teams with their members (agents: their own teams)")
def teams(viewer: ViewerDep, console: ConsoleDep) -> dict[str, Any]:
    with console.db.read() as s:
        found = list_teams(s, None if is_staff(viewer) else viewer.team_ids)
        members = team_members(s)
        return {"teams": [{"id": t.id, "name": t.name, "member_ids": members.get(t.id, [])} for t in found]}


@router.post("/teams", status_code=201, summary="Create a team (admin, CSRF)")
def add_team(body: NewTeam, admin: AdminDep, console: ConsoleDep) -> dict[str, Any]:
    try:
        with console.db.transaction() as s:
            team = create_team(s, body.name)
            out = {"id": team.id, "name": team.name, "member_ids": []}
    except IntegrityError:
        raise ApiError(409, "conflict", "that team name is taken") from None
    except ValueError as e:
        raise ApiError(400, "bad_request", str(e)) from None
    console.auditor.write(
        admin.user_id, AuditAction.USER_CHANGED, details={"change": "team_created", "team": out["id"]}
    )
    return {"team": out}


@router.get("/audit", summary="Audit entries, newest first (supervisors and admins)")
def audit(
    _: StaffDep, console: ConsoleDep, call_id: str | None = None, user_id: int | None = None, limit: int = 100
) -> dict[str, Any]:
    with console.db.read() as s:
        entries = audit_trail(s, call_id=call_id, user_id=user_id, limit=max(1, min(limit, 1000)))
        return {
            "entries": [
                {
                    "id": e.id,
                    "at": _iso(e.at),
                    "user_id": e.user_id,
                    "action": e.action,
                    "call_id": e.call_id,
                    "lead_id": e.lead_id,
                    "details": e.details,
                }
                for e in entries
            ]
        }
