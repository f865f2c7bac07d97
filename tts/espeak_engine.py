"""espeak-ng, the last-resort engine: instant (CPU-RTF ≈0.001) and always available, but robotic.

Runs the Debian `espeak-ng` binary once per clause. The text goes in on stdin, never on the command line,
where any local user could read it from the process list.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass

import numpy as np

from tts.audio import FloatPcm, int16_to_float
from tts.engine import ClauseEngine

TIMEOUT_S = 10.0


def parse_wav_stream(data: bytes) -> tuple[int, FloatPcm]:
    """(rate, samples) of a mono s16 WAV written to a pipe: espeak-ng leaves the sizes unset (0x7ffff000),
    so the data chunk is taken to run to the end of the bytes."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"expected a RIFF/WAVE stream, got {data[:12]!r}")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk_id == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, pos + 8)
            if (fmt, channels, bits) != (1, 1, 16):
                raise ValueError(f"expected mono 16-bit PCM, got format {fmt}, {channels} ch, {bits} bit")
        elif chunk_id == b"data":
            if not rate:
                raise ValueError("expected a fmt chunk before the data chunk")
            body = data[pos + 8 :]
            body = body[: len(body) - len(body) % 2]
            return rate, int16_to_float(np.frombuffer(body, dtype="<i2"))
        pos += 8 + size + (size & 1)
    raise ValueError("expected a data chunk, got none")


@dataclass(frozen=True)
class EspeakSynthesizer:
    voice: str = "en-us"
    words_per_minute: int = 160
    native_rate_hz: int = 22050  # espeak-ng's fixed output rate
    executable: str = "espeak-ng"
    engine: str = "espeak-ng"

    def synthesize(self, clause: str) -> FloatPcm:
        cmd = [self.executable, "--stdout", "--stdin", "-b", "1", "-v", self.voice, "-s", str(self.words_per_minute)]
        done = subprocess.run(cmd, input=clause.encode(), capture_output=True, timeout=TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"espeak-ng exited with code {done.returncode}: {done.stderr[:200]!r}")
        rate, samples = parse_wav_stream(done.stdout)
        if rate != self.native_rate_hz:
            raise RuntimeError(f"expected espeak-ng output at {self.native_rate_hz} Hz, got {rate} Hz")
        return samples


def espeak_available(executable: str = "espeak-ng") -> bool:
    return shutil.which(executable) is not None


def load_espeak_engine(voice: str = "en-us", *, workers: int = 1) -> ClauseEngine:
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed (Debian package espeak-ng)")
    return ClauseEngine(EspeakSynthesizer(voice=voice), workers=workers)
