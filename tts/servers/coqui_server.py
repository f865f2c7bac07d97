"""A coqui-tts speech server: one model, loaded from local files only, speaking a pipe protocol.

Runs inside its own virtual environment (`.venv-coqui`: torch, coqui-tts) as a child of the main process,
so it imports only the standard library, numpy, (lazily) torch / TTS and its sibling `wire.py`, never the
project's packages (`tts/servers/__init__.py` says why). `tts/coqui_engine.py` starts it with `python -I`.

Protocol, in `wire.py`'s length-prefixed messages:
- Start-up, server -> engine: `{"ready": true, "sample_rate_hz": N, "model": "Vits"}`, or
  `{"error": "..."}` and exit code 2 (missing or invalid model/config path, a model that fails to load).
- Request, engine -> server: `{"id": ..., "text": "...", "speaker"?: "...", "language"?: "...",
  "speaker_wav"?: "path"}` (speaker_wav and language are for XTTS voice cloning).
- Reply: `{"id": ..., "sample_rate_hz": N, "samples": n}` followed by one message of n float32
  little-endian samples (mono, [-1, 1]); or `{"id": ..., "error": "..."}` with no audio, and the server
  serves the next request.
- End of input: the server exits with code 0.

The model never reaches a network: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set before TTS is imported and
only `model_path` + `config_path` are loaded. Spoken text is never written to stdout or stderr: coqui's own
prints go to /dev/null, its loggers are held at ERROR, and error replies carry exception types and messages,
never the request.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

if __package__:  # imported as `tts.servers.coqui_server` (unit tests)
    from tts.servers import wire
else:  # run as a script in .venv-coqui: `python -I` leaves this folder off sys.path, so put it back for `wire`
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import wire  # type: ignore[import-not-found,no-redef]  # mypy knows this file as tts.servers.wire

EXIT_BAD_MODEL = 2
REQUEST_KEYS = ("speaker", "language", "speaker_wav")

log = logging.getLogger("coqui_server")

SynthesizeFn = Callable[[dict[str, Any]], npt.NDArray[np.float32]]


class ModelError(Exception):
    """The model or config path is missing or invalid, or the model does not load."""


def check_paths(model_path: Path, config_path: Path) -> dict[str, Any]:
    """The parsed config; a `ModelError` naming the path when a file is missing or the config is not JSON."""
    if not model_path.exists():
        raise ModelError(f"coqui model_path not found: {model_path}")
    if not config_path.is_file():
        raise ModelError(f"coqui config_path not found: {config_path}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"coqui config_path is not valid JSON: {config_path}: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), str):
        raise ModelError(f'coqui config_path has no "model" name: {config_path}')
    return config


def load_model(model_path: Path, config_path: Path, threads: int) -> tuple[Any, int]:
    """(TTS api object, output rate): VITS from a checkpoint file, XTTS from a checkpoint folder."""
    config = check_paths(model_path, config_path)
    if config["model"] != "xtts" and not model_path.is_file():
        raise ModelError(f"coqui model_path must be a checkpoint file for {config['model']}: {model_path}")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    torch = importlib.import_module("torch")
    torch.set_num_threads(threads)
    api = importlib.import_module("TTS.api")
    for name in ("TTS", "trainer", "coqpit"):
        logging.getLogger(name).setLevel(logging.ERROR)  # coqui logs input sentences at INFO
    try:
        model = api.TTS(model_path=str(model_path), config_path=str(config_path), progress_bar=False)
    except Exception as exc:
        raise ModelError(f"coqui model failed to load from {model_path}: {type(exc).__name__}: {exc}") from exc
    return model, int(model.synthesizer.output_sample_rate)


def model_synthesizer(model: Any) -> SynthesizeFn:
    def synthesize(request: dict[str, Any]) -> npt.NDArray[np.float32]:
        options = {key: request[key] for key in REQUEST_KEYS if request.get(key)}
        wav = model.tts(text=request["text"], split_sentences=False, **options)
        return np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)

    return synthesize


def parse_request(message: bytes) -> dict[str, Any]:
    request = json.loads(message)
    if not isinstance(request, dict) or not isinstance(request.get("text"), str):
        raise ValueError('expected a JSON object with a string "text"')
    return request


def serve(synthesize: SynthesizeFn, rate_hz: int, inp: IO[bytes], out: IO[bytes]) -> None:
    """Answer requests until end of input; a failed request gets an error reply and the loop goes on."""
    while (message := wire.read_message(inp)) is not None:
        request_id = None
        try:
            request = parse_request(message)
            request_id = request.get("id")
            pcm = synthesize(request)
        except Exception as exc:
            # The exception, never the request: the text must not reach a log or a reply.
            log.warning("request failed: %s", type(exc).__name__)
            wire.write_json(out, {"id": request_id, "error": f"{type(exc).__name__}: {exc}"[:500]})
            continue
        wire.write_json(out, {"id": request_id, "sample_rate_hz": rate_hz, "samples": len(pcm)})
        wire.write_message(out, pcm.astype("<f4").tobytes())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model-path", type=Path, required=True, help="VITS checkpoint file or XTTS folder")
    parser.add_argument("--config-path", type=Path, required=True, help="the model's config.json")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="coqui_server %(levelname)s %(message)s")
    out = wire.take_stdout()
    try:
        model, rate_hz = load_model(args.model_path, args.config_path, args.threads)
    except ModelError as exc:
        wire.write_json(out, {"error": str(exc)})
        return EXIT_BAD_MODEL
    model_name = type(model.synthesizer.tts_model).__name__
    wire.write_json(out, {"ready": True, "sample_rate_hz": rate_hz, "model": model_name})
    serve(model_synthesizer(model), rate_hz, sys.stdin.buffer, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
