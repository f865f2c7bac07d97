"""coqui-tts (VITS, or XTTS for cloned voices) from local weights, in a speech-server process of its own.

coqui-tts needs torch and transformers (≈1.8 GB, pinned to versions that clash with the rest of the project),
so it lives in its own virtual environment (`.venv-coqui`, see docs/tts.md) and runs as
`tts/servers/coqui_server.py`, a child process that speaks `tts/servers/wire.py`'s length-prefixed messages on
its stdin/stdout (the protocol is described in the server).
This module is the `Synthesizer` on this side of the pipe: one request per clause, float PCM back at the
model's rate; `ClauseEngine` resamples it to 8/16 kHz, cuts 20 ms frames and cancels within one frame.

Weights come only from a configured local `model_path` + `config_path`; the server runs with the hub offline.
Spoken text goes to the server on stdin, never on a command line or into a log.
"""

from __future__ import annotations

import collections
import os
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from tts.audio import FloatPcm
from tts.engine import ClauseEngine
from tts.servers import wire

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = Path(__file__).resolve().parent / "servers" / "coqui_server.py"
DEFAULT_PYTHON = REPO_ROOT / ".venv-coqui" / "bin" / "python"
PYTHON_ENV = "CALLCENTER_COQUI_PYTHON"  # overrides DEFAULT_PYTHON
MAX_REPLY_BYTES = 64 * 1024 * 1024  # ≈12 min of float32 audio at 22.05 kHz: far beyond any clause
STDERR_TAIL_LINES = 20


class CoquiUnavailable(RuntimeError):
    """The coqui virtual environment (its python) is not installed."""


class CoquiModelError(RuntimeError):
    """The model or config path is missing or invalid, or the server could not load the model."""


def default_python() -> Path:
    return Path(os.environ.get(PYTHON_ENV) or DEFAULT_PYTHON)


def coqui_available(python: Path | None = None) -> bool:
    return os.access(python or default_python(), os.X_OK)


@dataclass(frozen=True)
class CoquiOptions:
    """Where the model is and how to run the server. `speaker`, `language`, `speaker_wav` go with every clause
    (multi-speaker VITS; XTTS cloning). `command_prefix` wraps the server, e.g. ("unshare", "-n") to give it
    no network at all; `env` adds variables to its environment."""

    model_path: Path
    config_path: Path
    python: Path = field(default_factory=default_python)
    server_script: Path = SERVER_SCRIPT
    voice: str | None = None  # the name in RenderInfo; by default the model folder's name
    speaker: str | None = None
    language: str | None = None
    speaker_wav: Path | None = None
    threads: int = 1  # torch intra-op threads: parallelism comes from more processes, not from threads
    load_timeout_s: float = 120.0
    clause_timeout_s: float = 60.0
    stop_timeout_s: float = 5.0  # after end of input, before the server is killed
    command_prefix: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        # -I: neither the project nor user site-packages are importable there, so the server sees only its own venv.
        paths = ["--model-path", str(self.model_path), "--config-path", str(self.config_path)]
        server = [str(self.python), "-I", str(self.server_script), *paths, "--threads", str(self.threads)]
        return [*self.command_prefix, *server]

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        env["OMP_NUM_THREADS"] = str(self.threads)
        return {**env, **self.env}

    def request_extras(self) -> dict[str, str]:
        extras = {"speaker": self.speaker, "language": self.language, "speaker_wav": self.speaker_wav}
        return {key: str(value) for key, value in extras.items() if value is not None}


def _keep_tail(stream: IO[bytes], tail: collections.deque[str]) -> None:
    """Drain the server's stderr (so it never blocks on a full pipe), keeping the last lines for errors."""
    for line in stream:
        tail.append(line.decode(errors="replace").rstrip())


class CoquiSynthesizer:
    """A running coqui server; `synthesize` is serialized (one model, one pipe)."""

    engine = "coqui"

    def __init__(self, options: CoquiOptions, process: subprocess.Popen[bytes], native_rate_hz: int) -> None:
        self.options = options
        self.voice = options.voice or options.model_path.resolve().parent.name
        self.native_rate_hz = native_rate_hz
        self.model = ""
        self._process = process
        self._pipe = wire.PipeReader(_stdout(process), "coqui server")
        self._lock = threading.Lock()
        self._next_id = 0
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._stderr_thread: threading.Thread | None = None

    @classmethod
    def start(cls, options: CoquiOptions) -> CoquiSynthesizer:
        """Start the server and wait until the model is loaded (blocks: seconds for VITS, a minute for XTTS)."""
        if not coqui_available(options.python):
            raise CoquiUnavailable(
                f"coqui-tts virtual environment not found: {options.python} is not an executable python "
                f"(build .venv-coqui as docs/tts.md describes, or set {PYTHON_ENV})"
            )
        for name, path in (("model_path", options.model_path), ("config_path", options.config_path)):
            if not path.exists():
                raise CoquiModelError(f"coqui {name} not found: {path}")
        process = subprocess.Popen(
            options.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=options.environment(),
        )
        synth = cls(options, process, 0)
        synth._start_stderr_drain()
        synth._await_ready()
        return synth

    def _start_stderr_drain(self) -> None:
        assert self._process.stderr is not None  # Popen(stderr=PIPE)
        self._stderr_thread = threading.Thread(
            target=_keep_tail, args=(self._process.stderr, self._stderr_tail), name="coqui-stderr", daemon=True
        )
        self._stderr_thread.start()

    def _await_ready(self) -> None:
        try:
            reply = self._pipe.read_json(time.monotonic() + self.options.load_timeout_s)
        except (TimeoutError, EOFError, ValueError) as exc:
            self.close()
            raise CoquiModelError(f"coqui server failed to start: {exc}{self._diagnostics()}") from None
        if not reply.get("ready"):
            self.close()
            raise CoquiModelError(str(reply.get("error") or f"expected a ready message, got {sorted(reply)}"))
        self.native_rate_hz = int(reply["sample_rate_hz"])
        self.model = str(reply.get("model", ""))

    def synthesize(self, clause: str) -> FloatPcm:
        with self._lock:
            self._next_id += 1
            request = {"id": self._next_id, "text": clause, **self.options.request_extras()}
            try:
                return self._exchange(request)
            except (TimeoutError, EOFError, BrokenPipeError, ValueError) as exc:
                # The pipe is out of step or dead: no later clause could be trusted, so stop the server.
                self.close()
                raise RuntimeError(f"coqui server failed: {exc}{self._diagnostics()}") from None

    def _exchange(self, request: dict[str, Any]) -> FloatPcm:
        stdin = self._process.stdin
        if stdin is None or stdin.closed:
            raise BrokenPipeError("coqui server is closed")
        wire.write_json(stdin, request)
        deadline = time.monotonic() + self.options.clause_timeout_s
        header = self._pipe.read_json(deadline)
        if header.get("id") != request["id"]:
            raise ValueError(f"expected a reply to request {request['id']}, got {header.get('id')!r}")
        if "error" in header:
            raise RuntimeError(f"coqui server could not render a clause: {header['error']}")
        if int(header["sample_rate_hz"]) != self.native_rate_hz:
            raise ValueError(f"expected audio at {self.native_rate_hz} Hz, got {header['sample_rate_hz']} Hz")
        pcm = np.frombuffer(self._pipe.read_message(deadline, MAX_REPLY_BYTES), dtype="<f4")
        if len(pcm) != int(header["samples"]):
            raise ValueError(f"expected {header['samples']} samples, got {len(pcm)}")
        return pcm.astype(np.float32)

    def _diagnostics(self) -> str:
        code = self._process.poll()
        status = f" (server exit code {code})" if code is not None else ""
        tail = "\n".join(list(self._stderr_tail)[-5:])
        return f"{status}{': ' + tail if tail else ''}"

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        """End of input stops the server after its current clause; kill it when it does not stop in time."""
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except BrokenPipeError:
                pass  # the server is already gone
        try:
            self._process.wait(self.options.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._stderr_thread is not None:
            self._stderr_thread.join(1.0)  # its last lines explain a failed start
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


def _stdout(process: subprocess.Popen[bytes]) -> IO[bytes]:
    assert process.stdout is not None  # Popen(stdout=PIPE)
    return process.stdout


class CoquiEngine(ClauseEngine):
    """A `ClauseEngine` that also stops its server process on `close()`."""

    synth: CoquiSynthesizer

    def __init__(self, synth: CoquiSynthesizer) -> None:
        super().__init__(synth, workers=1)  # one server process renders one clause at a time

    def close(self) -> None:
        super().close()
        self.synth.close()


def load_coqui_engine(options: CoquiOptions) -> CoquiEngine:
    """Blocking: call via `asyncio.to_thread` (or at start-up), then `await engine.warm_up()`."""
    return CoquiEngine(CoquiSynthesizer.start(options))


__all__ = [
    "CoquiEngine",
    "CoquiModelError",
    "CoquiOptions",
    "CoquiSynthesizer",
    "CoquiUnavailable",
    "coqui_available",
    "load_coqui_engine",
]
