"""Audio for the simulator: utterances cut into 20 ms frames, the voicemail beep, and WAV recording.

Text is spoken by espeak-ng through `render_text`, the one function to replace when the project's TTS takes
over. Everything is prepared before the simulator reports READY, so no call waits for synthesis.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from telephony.frames import frame_bytes, split_frames

ESPEAK_VOICES = {"en": "en-us", "zh": "cmn"}
TOOL_TIMEOUT_S = 60.0
TRIM_LEVEL = 33  # |sample| below this (-60 dBFS) at either end is cut: speech_start is the voice onset
BEEP_HZ = 1000
BEEP_MS = 300


class AudioPrepError(RuntimeError):
    """An utterance could not be rendered or loaded."""


def render_text(text: str, language: str, rate_hz: int, cache_dir: Path) -> Path:
    """Speak `text` into a mono 16-bit WAV at `rate_hz` (espeak-ng for now), cached by content."""
    voice = ESPEAK_VOICES[language]
    key = hashlib.sha256(f"espeak-ng|{voice}|{rate_hz}|{text}".encode()).hexdigest()[:24]
    out = cache_dir / f"tts-{key}-{rate_hz}.wav"
    if out.is_file():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    raw = cache_dir / f".tts-{key}-{os.getpid()}.raw.wav"
    _run(["espeak-ng", "-v", voice, "-w", str(raw), text])
    try:
        convert_wav(raw, out, rate_hz)
    finally:
        raw.unlink(missing_ok=True)
    return out


def convert_wav(src: Path, dst: Path, rate_hz: int) -> None:
    """Resample/downmix any WAV to mono s16le at `rate_hz` with sox; `dst` appears atomically."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp.wav")
    _run(["sox", str(src), "-r", str(rate_hz), "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp)])
    tmp.replace(dst)


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise AudioPrepError(f"{argv[0]} is not installed (Debian: apt-get install {argv[0]})")
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=TOOL_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        raise AudioPrepError(f"{argv[0]} failed: {stderr.decode(errors='replace').strip()[:200]}") from exc


def read_wav(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    """Samples and rate of a mono 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getcomptype() != "NONE":
            raise AudioPrepError(f"{path}: expected mono 16-bit PCM")
        data = w.readframes(w.getnframes())
        return np.frombuffer(data, dtype="<i2").astype(np.int16), w.getframerate()


def load_wav(path: Path, rate_hz: int, cache_dir: Path) -> npt.NDArray[np.int16]:
    """Samples of any WAV at `rate_hz` mono s16; converted once into `cache_dir` when needed."""
    try:
        with wave.open(str(path), "rb") as w:
            ready = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getcomptype()) == (1, 2, rate_hz, "NONE")
    except (wave.Error, EOFError) as exc:
        raise AudioPrepError(f"{path}: not a WAV file this loader understands ({exc})") from exc
    if not ready:
        stat = path.stat()
        key = hashlib.sha256(f"{path}|{stat.st_mtime_ns}|{stat.st_size}".encode()).hexdigest()[:24]
        converted = cache_dir / f"wav-{key}-{rate_hz}.wav"
        if not converted.is_file():
            cache_dir.mkdir(parents=True, exist_ok=True)
            convert_wav(path, converted, rate_hz)
        path = converted
    return read_wav(path)[0]


def trim(samples: npt.NDArray[np.int16], level: int = TRIM_LEVEL) -> npt.NDArray[np.int16]:
    """Cut near-silence at both ends, so an utterance's first frame is its voice onset."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= level)
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]


def beep(rate_hz: int) -> npt.NDArray[np.int16]:
    """The voicemail beep: 1 kHz for 300 ms at -10 dBFS, with 5 ms ramps against clicks."""
    n = rate_hz * BEEP_MS // 1000
    t = np.arange(n) / rate_hz
    ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (rate_hz * 0.005))
    return (0.316 * 32767 * ramp * np.sin(2 * np.pi * BEEP_HZ * t)).astype(np.int16)


def to_frames(samples: npt.NDArray[np.int16], rate_hz: int) -> list[bytes]:
    """20 ms s16le frames; the last one padded with silence."""
    return [f.pcm for f in split_frames(samples, rate_hz)]


class WavRecorder:
    """Appends 20 ms frames to a mono s16le WAV; the header is finalised by `close()`."""

    def __init__(self, path: Path, rate_hz: int) -> None:
        self._silence = bytes(frame_bytes(rate_hz))
        self._wav = wave.open(str(path), "wb")  # closed by close(): lives as long as the call
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate_hz)
        self.frames = 0

    def write(self, pcm: bytes) -> None:
        self._wav.writeframesraw(pcm)
        self.frames += 1

    def pad_to(self, n_frames: int) -> None:
        """Silence up to frame index `n_frames` (keeps the file aligned with call time across gaps)."""
        while self.frames < n_frames:
            self.write(self._silence)

    def close(self) -> None:
        self._wav.close()
