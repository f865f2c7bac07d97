"""`callcenter reps …`, `callcenter pool …` and `callcenter webhooks …`: who receives qualified leads, the public
pool (公海), and the systems told about calls and qualified leads. JSON out; errors on stderr with exit code 2.

    callcenter reps add dana --industry insurance --rating 4.6
    callcenter pool release --cooldown-days 3        # the dialer does this every minute too
    callcenter pool claim 1234 --rep 2
    callcenter webhooks add https://crm.example.com/hooks/callcenter --event lead.qualified
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dialer.cli_campaigns import DbUrl, echo_json, open_database, or_fail

__all__ = ["pool_app", "reps_app", "webhooks_app"]

reps_app = typer.Typer(help="Sales reps: who receives A and B leads.", no_args_is_help=True)
pool_app = typer.Typer(help="The public pool of qualified leads whose protection ended.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhooks: call.completed and lead.qualified, signed.", no_args_is_help=True)

DAY_S = 86400.0


@reps_app.command("add")
def reps_add(
    username: Annotated[str, typer.Argument(help="an existing console user (callcenter console create-user)")],
    industry: Annotated[list[str] | None, typer.Option(help="an industry this rep sells to (repeat)")] = None,
    rating: Annotated[float, typer.Option(help="sales rating (the rating strategy prefers higher)")] = 0.0,
    db_url: DbUrl = None,
) -> None:
    """Make a user a sales rep (or update their industries and rating)."""
    from sqlalchemy import select

    from storage.models import SalesRep, User

    def add() -> dict[str, Any]:
        with open_database(db_url) as db, db.transaction() as s:
            user = s.scalars(select(User).where(User.username == username)).one_or_none()
            if user is None:
                raise LookupError(f"no user {username!r}")
            rep = s.scalars(select(SalesRep).where(SalesRep.user_id == user.id)).one_or_none()
            if rep is None:
                rep = SalesRep(user_id=user.id)
                s.add(rep)
            rep.industries, rep.sales_rating, rep.active = sorted(set(industry or ())), rating, True
            s.flush()
            return {"rep_id": rep.id, "user_id": user.id, "industries": rep.industries, "rating": rep.sales_rating}

    echo_json(or_fail(add))


@reps_app.command("list")
def reps_list(db_url: DbUrl = None) -> None:
    """Every rep with the number of leads they hold now."""
    from sqlalchemy import func, select

    from storage.models import LeadAssignment, SalesRep, User

    held = (
        select(func.count())
        .where(LeadAssignment.rep_id == SalesRep.id, LeadAssignment.released_at.is_(None))
        .scalar_subquery()
    )
    with open_database(db_url) as db, db.read() as s:
        stmt = select(SalesRep, User.username, held).join(User, User.id == SalesRep.user_id).order_by(SalesRep.id)
        for rep, username, leads in s.execute(stmt):
            echo_json({"rep_id": rep.id, "username": username, "industries": rep.industries,
                   "rating": rep.sales_rating, "active": rep.active, "leads_held": leads})  # fmt: skip


@pool_app.command("release")
def pool_release(
    cooldown_days: Annotated[float, typer.Option(help="before the same rep may claim a released lead again")] = 3.0,
    db_url: DbUrl = None,
) -> None:
    """Return leads whose protection ended with no follow-up to the public pool."""
    from dialer.assignment import release_expired
    from storage.models.base import utcnow

    def release() -> dict[str, Any]:
        with open_database(db_url) as db, db.transaction() as s:
            return {"released": release_expired(s, now=utcnow(), cooldown_s=cooldown_days * DAY_S)}

    echo_json(or_fail(release))


@pool_app.command("list")
def pool_list(
    rep: Annotated[int | None, typer.Option(help="leave out leads this rep is in cooldown for")] = None,
    industry: Annotated[str | None, typer.Option(help="only this industry")] = None,
    limit: Annotated[int, typer.Option(help="page size (1..500)")] = 50,
    db_url: DbUrl = None,
) -> None:
    """Leads in the pool, best first (ids, grade, score, industry: no numbers or names)."""
    from dialer.assignment import public_pool

    def listing() -> list[dict[str, Any]]:
        with open_database(db_url) as db, db.read() as s:
            leads = public_pool(s, rep_id=rep, industry=industry, limit=limit)
            return [{"lead_id": x.id, "campaign_id": x.campaign_id, "grade": x.grade,
                     "intent_score": x.intent_score, "industry": x.industry} for x in leads]  # fmt: skip

    for item in or_fail(listing):
        echo_json(item)


@pool_app.command("claim")
def pool_claim(
    lead: Annotated[int, typer.Argument(help="lead id")],
    rep: Annotated[int, typer.Option(help="the claiming rep's id")],
    protection_days: Annotated[float, typer.Option(help="protection period of the new assignment")] = 7.0,
    db_url: DbUrl = None,
) -> None:
    """A rep claims a lead from the pool; exit code 1 when it is not theirs to take (held, cooldown, not in pool)."""
    from dialer.assignment import claim_from_pool
    from storage.models.base import utcnow

    def claim() -> bool:
        with open_database(db_url) as db, db.transaction() as s:
            return claim_from_pool(s, lead, rep, protection_s=protection_days * DAY_S, now=utcnow())

    won = or_fail(claim)
    echo_json({"lead_id": lead, "rep_id": rep, "claimed": won})
    if not won:
        raise typer.Exit(1)


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="http(s) URL that receives POSTs")],
    event: Annotated[list[str], typer.Option(help="call.completed or lead.qualified (repeat)")],
    db_url: DbUrl = None,
) -> None:
    """Subscribe a URL; prints its signing secret once (docs/webhooks.md shows how to verify)."""
    from dialer.webhooks import create_webhook

    def add() -> dict[str, Any]:
        with open_database(db_url) as db, db.transaction() as s:
            hook, secret = create_webhook(s, url, event)
            return {"id": hook.id, "url": hook.url, "events": hook.events, "secret": secret}

    echo_json(or_fail(add))


@webhooks_app.command("list")
def webhooks_list(db_url: DbUrl = None) -> None:
    """Subscriptions with their delivery counts by status (secrets are not shown)."""
    from sqlalchemy import func, select

    from storage.models import Webhook, WebhookDelivery

    with open_database(db_url) as db, db.read() as s:
        counts: dict[int, dict[str, int]] = {}
        stmt = select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.webhook_id, WebhookDelivery.status
        )
        for hook_id, status, n in s.execute(stmt):
            counts.setdefault(hook_id, {})[status.value] = n
        for hook in s.scalars(select(Webhook).order_by(Webhook.id)):
            echo_json({"id": hook.id, "url": hook.url, "events": hook.events, "active": hook.active,
                   "deliveries": counts.get(hook.id, {})})  # fmt: skip
