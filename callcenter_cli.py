"""The `callcenter` command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="AI outbound call center with human takeover.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: each prints one JSON object.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@app.callback()
def main() -> None:
    """AI outbound call center with human takeover."""


@bench_app.command("media")
def bench_media(
    legs: int = typer.Option(8, help="concurrent call legs"),
    seconds: float = typer.Option(10.0, help="measured seconds"),
) -> None:
    """SIP/media path: frame timing, CPU, memory and added latency per call leg (JSON)."""
    import asyncio
    import json

    from bench.media import run

    typer.echo(json.dumps(asyncio.run(run(legs, seconds))))
