"""`callcenter campaign …`, `callcenter leads …` and `callcenter lists …`: campaigns, lead files and the
do-not-call and existing-customer lists, from the command line. Output is JSON (one object, or one per line for
lists); errors go to stderr with exit code 2. Phone numbers and names are never printed.

    callcenter campaign create --name spring --script insurance-en --max-concurrent 8 --cps 2
    callcenter leads import leads.xlsx --campaign 1 --default-region US --report rejected.csv
    callcenter lists import dnc.csv --kind do-not-call --source "national registry 2026-11"
    callcenter campaign start 1
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer

if TYPE_CHECKING:
    from storage import Database

__all__ = ["DbUrl", "campaign_app", "echo_json", "leads_app", "lists_app", "open_database", "or_fail"]

campaign_app = typer.Typer(help="Campaigns: create, edit, start, pause, resume, stop, progress.", no_args_is_help=True)
leads_app = typer.Typer(help="Lead files: import (cleaned), rejected-row reports.", no_args_is_help=True)
lists_app = typer.Typer(help="The do-not-call and existing-customer lists.", no_args_is_help=True)

DbUrl = Annotated[str | None, typer.Option("--db-url", help="database URL (default: $CALLCENTER_DB_URL, else SQLite)")]
T = TypeVar("T")


@contextmanager
def open_database(url: str | None) -> Iterator[Database]:
    from storage import Database, migrate

    migrate.upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


def or_fail(run: Callable[[], T]) -> T:
    try:
        return run()
    except (ValueError, LookupError, OSError) as e:  # settings, unknown ids, unreadable files: the message says which
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


def _json_arg(value: str | None, what: str) -> dict[str, Any]:
    """A JSON object given inline or as @file."""
    if value is None:
        return {}
    text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what}: expected JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object")
    return data


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


# -- campaigns --


@campaign_app.command("create")
def campaign_create(
    name: Annotated[str, typer.Option(help="campaign name")],
    script: Annotated[str, typer.Option(help="script id (callcenter campaign scripts)")],
    max_concurrent: Annotated[int, typer.Option(help="calls at once, over all dialers")] = 4,
    cps: Annotated[float, typer.Option(help="calls started per second, at most")] = 1.0,
    max_attempts: Annotated[int, typer.Option(help="attempts per lead")] = 3,
    caller_id: Annotated[str | None, typer.Option(help="E.164 number shown to the lead")] = None,
    windows: Annotated[str | None, typer.Option(help="calling windows JSON or @file (docs/campaigns.md)")] = None,
    retry: Annotated[str | None, typer.Option(help="retry policy JSON or @file")] = None,
    dialogue: Annotated[str | None, typer.Option(help="dialogue settings JSON or @file (agent_name, ...)")] = None,
    voice_profile: Annotated[str | None, typer.Option(help="the agent voice profile the robot speaks with")] = None,
    team: Annotated[int | None, typer.Option(help="team id whose agents see the calls")] = None,
    db_url: DbUrl = None,
) -> None:
    """Create a draft campaign; prints its id and settings."""
    from dialer import campaigns
    from scripts_library.catalog import load_catalog

    def create() -> dict[str, Any]:
        catalog = load_catalog()
        if script not in catalog:
            raise ValueError(f"script: no script {script!r} (have: {', '.join(sorted(catalog))})")
        spec = campaigns.CampaignSpec(
            name=name, script_id=script, language=catalog[script].language, voice_profile_id=voice_profile,
            caller_id=caller_id, max_concurrent_calls=max_concurrent, calls_per_second=cps,
            calling_windows=_json_arg(windows, "windows"), retry_policy=_json_arg(retry, "retry"),
            max_attempts=max_attempts, team_id=team, dialogue_settings=_json_arg(dialogue, "dialogue"),
        )  # fmt: skip
        with open_database(db_url) as db, db.transaction() as s:
            campaign = campaigns.create_campaign(s, spec, catalog=catalog)
            return {"id": campaign.id, "status": campaign.status.value, **asdict(campaigns.spec_of(campaign))}

    echo_json(or_fail(create))


@campaign_app.command("edit")
def campaign_edit(
    campaign_id: Annotated[int, typer.Argument(help="campaign id")],
    max_concurrent: Annotated[int | None, typer.Option(help="calls at once")] = None,
    cps: Annotated[float | None, typer.Option(help="calls started per second")] = None,
    max_attempts: Annotated[int | None, typer.Option(help="attempts per lead")] = None,
    windows: Annotated[str | None, typer.Option(help="calling windows JSON or @file")] = None,
    retry: Annotated[str | None, typer.Option(help="retry policy JSON or @file")] = None,
    dialogue: Annotated[str | None, typer.Option(help="dialogue settings JSON or @file")] = None,
    db_url: DbUrl = None,
) -> None:
    """Change a draft or paused campaign's settings (those given; the rest stay)."""
    from dialer import campaigns

    def edit() -> dict[str, Any]:
        with open_database(db_url) as db, db.transaction() as s:
            spec = campaigns.spec_of(campaigns.get_campaign(s, campaign_id))
            changes: dict[str, Any] = {}
            if max_concurrent is not None:
                changes["max_concurrent_calls"] = max_concurrent
            if cps is not None:
                changes["calls_per_second"] = cps
            if max_attempts is not None:
                changes["max_attempts"] = max_attempts
            for key, value in (("calling_windows", windows), ("retry_policy", retry), ("dialogue_settings", dialogue)):
                if value is not None:
                    changes[key] = _json_arg(value, key)
            campaign = campaigns.update_campaign(s, campaign_id, replace(spec, **changes))
            return {"id": campaign.id, "status": campaign.status.value, **asdict(campaigns.spec_of(campaign))}

    echo_json(or_fail(edit))


class Step(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


def _lifecycle(step: Step) -> Callable[[int, str | None], None]:
    def command(
        campaign_id: Annotated[int, typer.Argument(help="campaign id")],
        db_url: DbUrl = None,
    ) -> None:
        from dialer import campaigns

        def run() -> dict[str, Any]:
            with open_database(db_url) as db, db.transaction() as s:
                campaign = getattr(campaigns, step.value)(s, campaign_id)
                return {"id": campaign.id, "status": campaign.status.value}

        echo_json(or_fail(run))

    command.__doc__ = f"{step.value.capitalize()} a campaign."
    return command


for _step in Step:
    campaign_app.command(_step.value)(_lifecycle(_step))


@campaign_app.command("list")
def campaign_list(db_url: DbUrl = None) -> None:
    """Every campaign, one JSON object per line."""
    from sqlalchemy import select

    from storage.models import Campaign

    with open_database(db_url) as db, db.read() as s:
        for c in s.scalars(select(Campaign).order_by(Campaign.id)):
            echo_json({"id": c.id, "name": c.name, "status": c.status.value, "script_id": c.script_id})


@campaign_app.command("show")
def campaign_show(campaign_id: Annotated[int, typer.Argument(help="campaign id")], db_url: DbUrl = None) -> None:
    """A campaign's settings and progress (leads by status, attempts by disposition, grades, the funnel)."""
    from dialer import campaigns

    def show() -> dict[str, Any]:
        with open_database(db_url) as db, db.read() as s:
            campaign = campaigns.get_campaign(s, campaign_id)
            spec = asdict(campaigns.spec_of(campaign))
            return {"id": campaign.id, "status": campaign.status.value, **spec,
                    "progress": asdict(campaigns.progress(s, campaign_id))}  # fmt: skip

    echo_json(or_fail(show))


@campaign_app.command("scripts")
def campaign_scripts() -> None:
    """The scripts a campaign can use (id and language), one per line."""
    from scripts_library.catalog import load_catalog

    for sid, script in sorted(load_catalog().items()):
        echo_json({"id": sid, "language": script.language})


# -- lead files --


@leads_app.command("import")
def leads_import(
    path: Annotated[Path, typer.Argument(help="CSV or XLSX lead file", exists=True, dir_okay=False)],
    campaign: Annotated[int, typer.Option(help="campaign id")],
    default_region: Annotated[
        str | None, typer.Option(help="ISO country that national numbers are in, e.g. US")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="header of the phone column (default: detected)")] = None,
    name: Annotated[str | None, typer.Option(help="header of the name column")] = None,
    company: Annotated[str | None, typer.Option(help="header of the company column")] = None,
    industry: Annotated[str | None, typer.Option(help="header of the industry column")] = None,
    region: Annotated[str | None, typer.Option(help="header of the region column")] = None,
    timezone: Annotated[str | None, typer.Option(help="header of a time-zone column (IANA names)")] = None,
    custom: Annotated[list[str] | None, typer.Option(help="header kept as a custom field (repeat)")] = None,
    custom_all: Annotated[bool, typer.Option(help="keep every other column as a custom field")] = False,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first)")] = None,
    report: Annotated[Path | None, typer.Option(help="write the rejected rows (row, reason, detail) here")] = None,
    db_url: DbUrl = None,
) -> None:
    """Import and clean a lead file into a campaign: E.164 numbers; empty, malformed, invalid and duplicate
    numbers, existing customers and do-not-call numbers removed, each with its reason in the report."""
    from dialer.lead_files import ColumnMapping, LeadFileError
    from dialer.lead_import import import_leads, write_report_csv

    mapping = None
    if phone is not None:
        extra: Sequence[str] | Literal["*"] = "*" if custom_all else list(custom or ())
        mapping = ColumnMapping(phone, name, company, industry, region, timezone, extra)

    def run() -> dict[str, Any]:
        with open_database(db_url) as db, _progress_bar(path.stat().st_size) as progress:
            summary = import_leads(
                db, campaign, path, mapping=mapping, default_region=default_region, progress=progress, sheet=sheet
            )
            if report is not None:
                with db.read() as s, report.open("w", encoding="utf-8", newline="") as out:
                    write_report_csv(s, summary.batch_id, out)
        return {**asdict(summary), "rows_rejected": summary.rows_rejected}

    try:
        echo_json(or_fail(run))
    except LeadFileError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


@contextmanager
def _progress_bar(total_bytes: int) -> Iterator[Callable[[int, int, int], None]]:
    """A progress bar on stderr (bytes read of the file, rows so far)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.fields[rows]:>10,} rows"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=_stderr()) as bar:
        task = bar.add_task("import", total=max(total_bytes, 1), rows=0)

        def update(rows_done: int, bytes_done: int, bytes_total: int) -> None:
            bar.update(task, completed=bytes_done, total=max(bytes_total, 1), rows=rows_done)

        yield update


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@leads_app.command("report")
def leads_report(
    batch: Annotated[int, typer.Argument(help="import batch id")],
    out: Annotated[Path | None, typer.Option(help="write the CSV here (default: stdout)")] = None,
    db_url: DbUrl = None,
) -> None:
    """The rejected rows of an import (row, reason, detail) as CSV."""
    import sys

    from dialer.lead_import import write_report_csv

    with open_database(db_url) as db, db.read() as s:
        if out is None:
            write_report_csv(s, batch, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as f:
                write_report_csv(s, batch, f)


class ListKind(StrEnum):
    DO_NOT_CALL = "do-not-call"
    EXISTING_CUSTOMERS = "existing-customers"


@lists_app.command("import")
def lists_import(
    path: Annotated[Path, typer.Argument(help="CSV or XLSX with a phone column (or numbers in the first column)")],
    kind: Annotated[ListKind, typer.Option(help="which list")],
    source: Annotated[str, typer.Option(help="where the numbers come from (kept with each number)")],
    default_region: Annotated[str | None, typer.Option(help="ISO country that national numbers are in")] = None,
    db_url: DbUrl = None,
) -> None:
    """Add a file's numbers to a list (lists are kept). Do-not-call numbers stop being called at once."""
    from dialer.lead_import import import_number_list

    which: Literal["do_not_call", "existing_customers"] = (
        "do_not_call" if kind == ListKind.DO_NOT_CALL else "existing_customers"
    )

    def run() -> dict[str, Any]:
        with open_database(db_url) as db:
            summary = import_number_list(db, path, which, source=source, default_region=default_region)
            return asdict(summary)

    echo_json(or_fail(run))
