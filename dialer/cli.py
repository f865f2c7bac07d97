"""`callcenter dialer …`: run a dialer process.

Mounted in `callcenter_cli.py`; campaigns, leads and lists have their own command groups (dialer/cli_campaigns.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="The dialer: call the leads of running campaigns.", no_args_is_help=True)


class Assignment(StrEnum):
    ROUND_ROBIN = "round_robin"
    RATING = "rating"


DbUrl = Annotated[str | None, typer.Option("--db-url", help="database URL (default: $CALLCENTER_DB_URL, else SQLite)")]


@app.command("run")
def run(
    dial_plan: Annotated[
        str, typer.Option(help="SIP URI template for a lead's number: {e164}, {digits} or {user}")
    ] = "sip:{digits}@127.0.0.1:5060",
    users: Annotated[
        Path | None, typer.Option(help="JSON object mapping E.164 numbers to {user} values (the simulator's personas)")
    ] = None,
    campaign: Annotated[
        list[int] | None, typer.Option(help="campaign id to serve (repeat; default: all running)")
    ] = None,
    script: Annotated[list[str] | None, typer.Option(help="also load this script (repeat)")] = None,
    db_url: DbUrl = None,
    max_calls: Annotated[int, typer.Option(help="calls this process carries at once")] = 4,
    lease_s: Annotated[float, typer.Option(help="attempt lease; a dead dialer's claims expire after it")] = 30.0,
    user: Annotated[str, typer.Option(help="our SIP user")] = "robot",
    host: Annotated[str, typer.Option(help="local address for SIP and RTP")] = "127.0.0.1",
    public_host: Annotated[str | None, typer.Option(help="address to advertise behind NAT")] = None,
    domain: Annotated[str | None, typer.Option(help="SIP domain of our account")] = None,
    registrar: Annotated[str | None, typer.Option(help="registrar URI (register before calling)")] = None,
    proxy: Annotated[str | None, typer.Option(help="outbound proxy URI, e.g. sip:pbx.example.net;lr")] = None,
    auth_user: Annotated[str | None, typer.Option(help="digest auth user")] = None,
    password_env: Annotated[str, typer.Option(help="environment variable holding the SIP password")] = (
        "CALLCENTER_SIP_PASSWORD"
    ),
    sip_port: Annotated[int, typer.Option(help="first local SIP port (0 = any)")] = 0,
    rtp_port: Annotated[int, typer.Option(help="first local RTP port")] = 16000,
    recordings: Annotated[Path | None, typer.Option(help="stereo call recordings go here")] = Path("data/recordings"),
    phrases: Annotated[Path, typer.Option(help="rendered fixed lines (cache)")] = Path("data/phrases"),
    voices: Annotated[
        Path | None, typer.Option(help="agents' voice profiles (default: $CALLCENTER_VOICES_DIR, else var/voices)")
    ] = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus /metrics on this port")] = None,
    assignment: Annotated[
        Assignment, typer.Option(help="A/B leads to reps: round_robin, or rating (sales rating and industry)")
    ] = Assignment.ROUND_ROBIN,
    protection_days: Annotated[float, typer.Option(help="a rep's protection period for an assigned lead")] = 7.0,
    detect_machines: Annotated[bool, typer.Option(help="answering-machine detection on every call")] = True,
    window_margin_s: Annotated[float, typer.Option(help="no call starts this close to its window's end")] = 120.0,
    console: Annotated[
        str | None,
        typer.Option(
            help="also serve the console at HOST:PORT in this process: its agents can take over these calls, and "
            "their availability paces the dialer"
        ),
    ] = None,
) -> None:
    """Dial until SIGTERM/SIGINT (calls in progress finish first). Logs carry ids, never numbers or names."""
    from dialer.dialplan import DialPlan
    from dialer.service import DialerService, ServiceOptions, install_signal_handlers
    from telephony import SipAccount

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    numbers = json.loads(users.read_text(encoding="utf-8")) if users is not None else {}
    account = SipAccount(
        user=user,
        host=host,
        public_host=public_host,
        domain=domain,
        registrar_uri=registrar,
        outbound_proxy=proxy,
        auth_username=auth_user,
        auth_password=os.environ.get(password_env),
    )
    options = ServiceOptions(
        dial_plan=DialPlan(dial_plan, numbers),
        database_url=db_url,
        campaign_ids=tuple(campaign) if campaign else None,
        scripts=tuple(script or ()),
        max_calls=max_calls,
        lease_s=lease_s,
        account=account,
        sip_port=sip_port,
        rtp_port=rtp_port,
        recordings_dir=recordings,
        phrase_dir=phrases,
        voices_dir=voices,
        metrics_port=metrics_port,
        assignment=assignment.value,
        protection_s=protection_days * 86400,
        detect_machines=detect_machines,
        window_margin_s=window_margin_s,
    )

    async def main() -> None:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        if console is None:
            await DialerService(options).run(stop)
            return
        from agent_console.cli import shipped_recommender
        from agent_console.settings import ConsoleSettings
        from dialer.serve import serve

        host, _, port = console.rpartition(":")
        settings = ConsoleSettings(
            database_url=db_url, recommender_factory=shipped_recommender, recordings_dir=recordings or Path("data")
        )
        await serve(options, settings, host or "127.0.0.1", int(port), stop)

    asyncio.run(main())
