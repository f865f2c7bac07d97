"""`callcenter bench asr`: stream real speech through the recognizer in real time and measure it.

Each item is resampled to 8 kHz, passed through a G.711 µ-law round trip (what a PCMU line does to it; off with
`codec="none"`), padded with silence and pushed as 20 ms frames on an absolute clock, so the recognizer's own
endpointer cuts it into utterances. Datasets: a folder of `*.wav` with same-name `*.txt` references, or by name
`moonshine` (read English prose in the `moonshine-voice` package) or `asterisk` (telephone prompts recorded at
8 kHz, 1.5 to 3.5 s each, with their published transcripts). Reported:

- `final_latency_ms` p50/p95: wall time from the end of speech (the endpointer's `end_s`, pushed at
  `start + end_s`) to the Final event, with and without speculative decoding;
- `wer` over all items; `rtf`: decode time / utterance audio; `cpu_s_per_audio_s`: process CPU per second of
  call audio (VAD, resampling and decodes of one call: the cost of one call);
- `speculative_kept_pct` and `decodes_per_utterance` (speculation wastes decodes when the customer pauses).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asr.corpus import Recording, asterisk_prompts, load_pcm16, mulaw_roundtrip, recordings, word_error_rate
from asr.events import Final
from asr.models import ModelName, WhisperTranscriber, load_model
from asr.pool import InferencePool
from asr.recognizer import RecognizerConfig, StreamingRecognizer
from asr.transcriber import Transcript, Utterance
from asr.vad import EndpointConfig
from telephony.frames import FRAME_MS, split_frames

RATE_HZ = 8000
PAD_S = 1.0
DATASETS = ("moonshine", "asterisk")


class TimedTranscriber:
    """Wraps a transcriber and records the wall time of each decode."""

    def __init__(self, inner: WhisperTranscriber) -> None:
        self.inner = inner
        self.decode_s: list[float] = []
        self.audio_s: list[float] = []

    @property
    def language(self) -> str:
        return self.inner.language

    def transcribe(self, utterance: Utterance) -> Transcript:
        t0 = time.perf_counter()
        out = self.inner.transcribe(utterance)
        self.decode_s.append(time.perf_counter() - t0)
        self.audio_s.append(len(utterance.audio) / 16000)
        return out


@dataclass
class ModeResult:
    latencies_s: list[float] = field(default_factory=list)
    finals: int = 0
    speculative_kept: int = 0
    hypotheses: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    audio_s: float = 0.0


def dataset(name_or_dir: str | Path | None, limit: int | None = None) -> list[Recording]:
    """The items of a named dataset or a folder; `limit` keeps that many, evenly spaced (deterministic)."""
    items = _all_items(name_or_dir)
    if limit is not None and limit < len(items):
        items = [items[round(i * len(items) / limit)] for i in range(limit)]
    return items


def _all_items(name_or_dir: str | Path | None) -> list[Recording]:
    if name_or_dir in (None, "moonshine"):
        return recordings()
    if name_or_dir == "asterisk":
        return asterisk_prompts()
    dataset_dir = Path(name_or_dir)
    items = [Recording(p.stem, p, p.with_suffix(".txt").read_text().strip()) for p in sorted(dataset_dir.glob("*.wav"))]
    if not items:
        raise FileNotFoundError(f"expected *.wav with same-name *.txt in {dataset_dir}, got none")
    return items


async def _stream_one(
    pool: InferencePool, item: Recording, config: RecognizerConfig, result: ModeResult, codec: str
) -> None:
    pad = np.zeros(int(PAD_S * RATE_HZ), np.int16)
    speech = load_pcm16(item.path, RATE_HZ)
    if codec == "pcmu":
        speech = mulaw_roundtrip(speech)
    frames = split_frames(np.concatenate([pad, speech, pad]), RATE_HZ)
    rec = StreamingRecognizer(pool, config=config)
    start = time.monotonic()

    async def feed() -> None:
        for k, frame in enumerate(frames):
            rec.push_frame(frame)
            await asyncio.sleep(max(0.0, start + (k + 1) * FRAME_MS / 1000 - time.monotonic()))
        rec.end_input()

    texts: list[str] = []
    async with asyncio.TaskGroup() as tg:
        tg.create_task(feed(), name=f"bench-asr-feed-{item.name}")
        async for event in rec:
            if isinstance(event, Final):
                result.latencies_s.append(time.monotonic() - (start + event.end_s))
                result.finals += 1
                result.speculative_kept += event.speculative
                texts.append(event.text)
    await rec.aclose()
    result.hypotheses.append(" ".join(texts))
    result.audio_s += len(frames) * FRAME_MS / 1000


def _run_mode(pool: InferencePool, items: list[Recording], config: RecognizerConfig, codec: str) -> ModeResult:
    result = ModeResult()
    cpu0 = time.process_time()
    for item in items:
        asyncio.run(_stream_one(pool, item, config, result, codec))
    result.cpu_s = time.process_time() - cpu0
    return result


def _pct_ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else float("nan")


def _summary(r: ModeResult, items: list[Recording], decodes: int) -> dict[str, Any]:
    return {
        "utterances": r.finals,
        "final_latency_ms": {"p50": _pct_ms(r.latencies_s, 50), "p95": _pct_ms(r.latencies_s, 95)},
        "wer": round(word_error_rate(" ".join(i.text for i in items), " ".join(r.hypotheses)), 4),
        "cpu_s_per_audio_s": round(r.cpu_s / r.audio_s, 4),
        "speculative_kept_pct": round(100 * r.speculative_kept / max(1, r.finals), 1),
        "decodes_per_utterance": round(decodes / max(1, r.finals), 2),
    }


def run(
    dataset_dir: str | Path | None = None,
    model: ModelName = "tiny.en",
    language: str = "en",
    end_silence_ms: int = 300,
    cpu_threads: int = 2,
    *,
    limit: int | None = None,
    codec: str = "pcmu",
    compare: bool = True,
) -> dict[str, Any]:
    """Stream every item with speculative decoding (and again without it if `compare`); one JSON-able dict."""
    if codec not in ("pcmu", "none"):
        raise ValueError(f"expected codec pcmu or none, got {codec}")
    items = dataset(dataset_dir, limit)
    timed = TimedTranscriber(WhisperTranscriber(load_model(model, cpu_threads=cpu_threads), language))
    pool = InferencePool(timed)
    out: dict[str, Any] = {"items": len(items), "model": model, "end_silence_ms": end_silence_ms, "codec": codec}
    modes = (("speculative", True), ("no_speculative", False)) if compare else (("speculative", True),)
    try:
        for name, speculative in modes:
            n0 = len(timed.decode_s)
            config = RecognizerConfig(endpoint=EndpointConfig(end_silence_ms=end_silence_ms), speculative=speculative)
            result = _run_mode(pool, items, config, codec)
            out[name] = _summary(result, items, len(timed.decode_s) - n0)
    finally:
        pool.close()
    out["rtf"] = round(sum(timed.decode_s) / sum(timed.audio_s), 3)
    out["decode_ms"] = {"p50": _pct_ms(timed.decode_s, 50), "p95": _pct_ms(timed.decode_s, 95)}
    out["final_latency_ms"] = out["speculative"]["final_latency_ms"]
    out["wer"] = out["speculative"]["wer"]
    out["cpu_s_per_audio_s"] = out["speculative"]["cpu_s_per_audio_s"]
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
