"""Start and stop the customer simulator as a subprocess, from asyncio code (tests, benches, demos).

    async with SimulatorProcess(personas_yaml, out_dir, port=free_port()) as sim:
        await robot.dial(sim.uri("polite-yes"))
        ...
        results = await sim.wait_for_results(1)

The child is `python -m telephony.simulator` with the same interpreter; its log goes to
`<out_dir>/simulator.log`. Leaving the block sends SIGTERM (live calls are hung up and written), then SIGKILL
after `stop_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from telephony.simulator.timeline import CallResult, load_results

LOG_FILE = "simulator.log"
RESULTS_POLL_S = 0.05


class SimulatorStartError(RuntimeError):
    """The simulator exited or stayed silent instead of printing READY; the message quotes its log."""


class SimulatorProcess:
    def __init__(
        self,
        personas_path: Path,
        out_dir: Path,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        rate_hz: int = 8000,
        rtp_ports: tuple[int, int] | None = None,
        cache_dir: Path | None = None,
        ready_timeout_s: float = 60.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.personas_path = Path(personas_path)
        self.out_dir = Path(out_dir)
        self.host = host
        self.port = port
        self._rate_hz = rate_hz
        self._rtp_ports = rtp_ports
        self._cache_dir = cache_dir
        self._ready_timeout_s = ready_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.out_dir / LOG_FILE

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    def uri(self, persona_id: str) -> str:
        """The SIP URI that reaches `persona_id` on this simulator."""
        if not self.port:
            raise RuntimeError("the simulator is not started yet")
        return f"sip:{persona_id}@{self.host}:{self.port}"

    def _argv(self) -> list[str]:
        argv = [sys.executable, "-m", "telephony.simulator", "--listen", f"{self.host}:{self.port}"]
        argv += ["--personas", str(self.personas_path), "--out", str(self.out_dir), "--rate", str(self._rate_hz)]
        if self._rtp_ports is not None:
            argv += ["--rtp-ports", f"{self._rtp_ports[0]}-{self._rtp_ports[1]}"]
        if self._cache_dir is not None:
            argv += ["--cache", str(self._cache_dir)]
        return argv

    async def start(self) -> int:
        """Start the child and wait for its READY line; returns the SIP port."""
        if self._proc is not None:
            raise RuntimeError("the simulator is already started")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._proc = await asyncio.create_subprocess_exec(
            *self._argv(), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=self._log
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), self._ready_timeout_s)
        except TimeoutError:
            line = None
        word, _, port = (line or b"").decode(errors="replace").strip().partition(" ")
        if word != "READY" or not port.isdigit():
            if line == b"":  # EOF: the child is exiting on its own; a SIGTERM now would replace its exit status
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._proc.wait(), self._stop_timeout_s)
            await self.stop()
            raise SimulatorStartError(f"the simulator did not become ready: {self._log_tail()}")
        self.port = int(port)
        return self.port

    async def stop(self) -> int | None:
        """SIGTERM, wait up to `stop_timeout_s`, then SIGKILL; returns the exit code."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self._stop_timeout_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if proc is not None and proc.stdout is not None:
            with contextlib.suppress(OSError):
                await proc.stdout.read()  # reach EOF so the pipe transport closes
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.returncode

    def results(self) -> list[CallResult]:
        """Every call the simulator has finished so far (timeline written), by call index."""
        return load_results(self.out_dir)

    async def wait_for_results(self, count: int, timeout_s: float = 30.0) -> list[CallResult]:
        """Wait until at least `count` calls have finished; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            results = self.results()
            if len(results) >= count:
                return results
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} finished calls within {timeout_s:g} s, got {len(results)}")
            await asyncio.sleep(RESULTS_POLL_S)

    def _log_tail(self, max_chars: int = 2000) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return text[-max_chars:].strip() or "(empty log)"

    async def __aenter__(self) -> SimulatorProcess:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
