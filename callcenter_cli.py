"""The `callcenter` command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="AI outbound call center with human takeover.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: each prints one JSON object.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@app.callback()
def main() -> None:
    """AI outbound call center with human takeover."""
