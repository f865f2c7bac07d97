"""`callcenter console serve` and `callcenter console create-user`.

Mounted in `callcenter_cli.py` with:

    from agent_console.cli import app as console_app
    app.add_typer(console_app, name="console")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from storage.models import Role

if TYPE_CHECKING:
    from scripts_library.recommend import Recommender

__all__ = ["app"]

app = typer.Typer(help="The agent console: serve it, create its users.", no_args_is_help=True)

DbUrl = Annotated[str | None, typer.Option("--db-url", help="database URL (default: $CALLCENTER_DB_URL, else SQLite)")]


def shipped_recommender() -> Recommender:
    """The gold-seller recommender over the shipped scripts, with the MiniLM encoder (weights ship in a package)."""
    from scripts_library.catalog import load_catalog
    from scripts_library.embeddings import shared_minilm
    from scripts_library.recommend import Recommender

    return Recommender(list(load_catalog().values()), shared_minilm())


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    db_url: DbUrl = None,
    static_dir: Annotated[Path | None, typer.Option(help="the UI's files (default: agent_console/static)")] = None,
    recordings_dir: Annotated[Path, typer.Option(help="call recordings are served from here only")] = Path(
        "data/recordings"
    ),
    recommendations: Annotated[bool, typer.Option(help="load the recommender (MiniLM) at start-up")] = True,
    secure_cookies: Annotated[
        bool | None, typer.Option(help="force the cookie's Secure flag (default: when the request is https)")
    ] = None,
    proxy_headers: Annotated[bool, typer.Option(help="trust X-Forwarded-* from a reverse proxy on 127.0.0.1")] = False,
) -> None:
    """Serve the console (REST, WebSockets, the UI). Migrates the database first."""
    import uvicorn

    from agent_console.app import create_app
    from agent_console.settings import STATIC_DIR, ConsoleSettings

    settings = ConsoleSettings(
        database_url=db_url,
        recommender_factory=shipped_recommender if recommendations else None,
        static_dir=static_dir or STATIC_DIR,
        recordings_dir=recordings_dir,
        secure_cookies=secure_cookies,
    )
    # ws="websockets-sansio": uvicorn's "auto" picks websockets.legacy, deprecated in websockets 14
    uvicorn.run(create_app(settings), host=host, port=port, ws="websockets-sansio", proxy_headers=proxy_headers)


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[Role, typer.Option(help="agent, supervisor or admin")] = Role.AGENT,
    team: Annotated[list[str] | None, typer.Option(help="team name (created if missing); repeat for more")] = None,
    password_env: Annotated[
        str, typer.Option(help="environment variable holding the password (else it is asked for)")
    ] = "CALLCENTER_CONSOLE_PASSWORD",
    db_url: DbUrl = None,
) -> None:
    """Create a console user (the first admin, typically). Prints the user as JSON."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from agent_console.audit import Auditor
    from agent_console.auth import user_json
    from agent_console.passwords import Passwords
    from storage import Database
    from storage.migrate import upgrade
    from storage.models import Team
    from storage.repos.audit import AuditAction
    from storage.repos.users import create_team, create_user, list_teams, set_user_teams

    password = os.environ.get(password_env) or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        password_hash = Passwords().hash(password)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.transaction() as s:
            user = create_user(s, username, password_hash, role=role)
            ids = []
            for name in team or []:
                found = s.scalar(select(Team).where(Team.name == name))
                ids.append((found or create_team(s, name)).id)
            set_user_teams(s, user.id, ids)
            out = user_json(user, list_teams(s, ids))
    except IntegrityError as e:
        typer.echo(f"error: username {username!r} is taken", err=True)
        raise typer.Exit(1) from e
    auditor = Auditor(db)
    auditor.write(None, AuditAction.USER_CHANGED, details={"change": "created", "target": out["id"], "via": "cli"})
    auditor.close()
    db.dispose()
    typer.echo(json.dumps(out))
