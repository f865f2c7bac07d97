"""`callcenter db …`: database migrations. The URL is `--url`, else `$CALLCENTER_DB_URL`, else the SQLite file.

Exit codes: 0 done; 1 `current` found the database behind (or ahead of) the code; 2 the database could not be
reached or migrated (the message says why; passwords are never printed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

app = typer.Typer(help="Database: migrations (SQLite by default, PostgreSQL by URL).", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(help="database URL (default: $CALLCENTER_DB_URL, else sqlite:///./data/callcenter.db)"),
]
T = TypeVar("T")


@app.command("upgrade")
def upgrade(
    url: UrlOption = None,
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Migrate the database up to a revision (default: the newest); creates a new SQLite file if needed."""
    from storage import migrate

    _or_exit(lambda: migrate.upgrade(url, revision), url)
    typer.echo(f"{_shown(url)} at revision {_or_exit(lambda: migrate.current(url), url)}")


@app.command("current")
def current(url: UrlOption = None) -> None:
    """Print the database's revision and the code's newest one; exits 1 when they differ."""
    from storage import migrate

    at, head = _or_exit(lambda: migrate.current(url), url), migrate.head()
    typer.echo(f"{_shown(url)}: revision {at or 'none (empty database)'}, code head {head}")
    if at != head:
        raise typer.Exit(1)


def _or_exit(run: Callable[[], T], url: str | None) -> T:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return run()
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc  # the driver's own error names host and port, never the password
        typer.echo(f"error: {_shown(url)}: {type(cause).__name__}: {cause}", err=True)
        raise typer.Exit(2) from exc


def _shown(url: str | None) -> str:
    from storage.db import resolve_url

    return str(resolve_url(url))  # SQLAlchemy renders the password as ***
