"""`python -m telephony.simulator --listen 127.0.0.1:PORT --personas FILE.yaml --out DIR [--rate 8000]`.

Prints exactly one line, `READY <port>`, on stdout once it takes calls; logs go to stderr. SIGTERM or SIGINT
hangs up the live calls, writes their files and exits 0. A bad personas file exits 2 with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from telephony.simulator.audio import AudioPrepError
from telephony.simulator.persona import PersonaError
from telephony.simulator.runner import Simulator, SimulatorOptions


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _port_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    if not sep or not low.isdigit() or not high.isdigit() or not 0 < int(low) < int(high) <= 65535:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH, got {text!r}")
    return int(low), int(high)


def parse_args(argv: list[str] | None = None) -> SimulatorOptions:
    parser = argparse.ArgumentParser(prog="python -m telephony.simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=_host_port, default=("127.0.0.1", 0), help="HOST:PORT (port 0: any)")
    parser.add_argument("--personas", type=Path, required=True, help="personas YAML (docs/simulator.md)")
    parser.add_argument("--out", type=Path, required=True, help="output directory, one folder per call")
    parser.add_argument("--rate", type=int, choices=(8000, 16000), default=8000, help="audio rate in Hz")
    parser.add_argument("--rtp-ports", type=_port_range, default=None, help="RTP port range LOW-HIGH")
    parser.add_argument("--max-calls", type=int, default=64, help="concurrent answered calls (then 503)")
    parser.add_argument("--cache", type=Path, default=None, help="cache for rendered speech (default OUT/.cache)")
    args = parser.parse_args(argv)
    return SimulatorOptions(
        personas_path=args.personas,
        out_dir=args.out,
        listen_host=args.listen[0],
        listen_port=args.listen[1],
        rate_hz=args.rate,
        rtp_ports=args.rtp_ports,
        max_calls=args.max_calls,
        cache_dir=args.cache,
    )


async def serve(options: SimulatorOptions) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    simulator = Simulator(options)
    try:
        port = await simulator.start()
        print(f"READY {port}", flush=True)
        await stop.wait()
    finally:
        await simulator.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("baresip").setLevel(logging.WARNING)  # its INFO records name the peer (a phone number)
    try:
        return asyncio.run(serve(options))
    except (PersonaError, AudioPrepError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
