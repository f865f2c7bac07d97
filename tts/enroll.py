"""Enrollment: check an agent's WAV folder and turn it into a voice profile (`tts.voice_profile`).

The folder holds one WAV per recording key, named `<key>.wav` (`splice.slug` of the phrase:
`your-appointment-is-on.wav`, `3.wav`, `p-m.wav`, `tuesday.wav`; in Mandarin `您的预约在.wav`, `三.wav`,
`下午.wav`, `星期.wav`), optional free speech under `reference/` for the match score, and optionally
`script.yaml` (`lines: {id: text}`, `first_names: [...]`, `language: en | zh`); without one, `DEFAULT_SCRIPT`
applies. Every problem is collected and reported at once, each naming its file.
"""

from __future__ import annotations

import json
import shutil
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tts.audio import FloatPcm, read_wav, resample
from tts.splice import active_rms_db, slug
from tts.voice_profile import DEFAULT_SCRIPT, MANIFEST, MANIFEST_VERSION, Script

ACCEPTED_RATES_HZ = (8000, 16000)
_KEY_RULE = "lower case, '-' between English words, no punctuation or spaces"


@dataclass(frozen=True)
class WavLimits:
    min_duration_s: float = 0.15
    max_duration_s: float = 30.0
    max_reference_s: float = 180.0
    clip_level: float = 0.999  # of full scale
    max_clipped_fraction: float = 0.001
    silent_peak_dbfs: float = -50.0
    min_active_dbfs: float = -38.0
    max_noise_floor_dbfs: float = -45.0
    min_snr_db: float = 20.0


@dataclass(frozen=True)
class Problem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


class EnrollmentError(ValueError):
    """Raised with every problem found; `problems` lists them, each naming its file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("enrollment rejected:\n" + "\n".join(f"  {p}" for p in problems))


def _noise_floor_dbfs(x: FloatPcm, rate_hz: int) -> float:
    n = rate_hz // 100
    frames = x[: len(x) - len(x) % n].reshape(-1, n)
    db = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
    return float(np.percentile(db, 10))


def check_wav(path: Path, limits: WavLimits = WavLimits(), *, reference: bool = False) -> list[str]:
    """What is wrong with one recording (empty when it is fine)."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getframerate() not in ACCEPTED_RATES_HZ:
                return [f"expected a sample rate in {ACCEPTED_RATES_HZ} Hz, got {w.getframerate()} Hz"]
        x, rate = read_wav(path)
    except (wave.Error, EOFError) as exc:
        return [f"expected a PCM WAV file, got an unreadable one ({exc})"]
    except ValueError as exc:
        return [str(exc).split(": ", 1)[-1]]
    return _check_samples(x, rate, limits, reference)


def _check_samples(x: FloatPcm, rate: int, limits: WavLimits, reference: bool) -> list[str]:
    duration_s = len(x) / rate
    longest = limits.max_reference_s if reference else limits.max_duration_s
    if not limits.min_duration_s <= duration_s <= longest:
        return [f"expected {limits.min_duration_s}-{longest} s, got {duration_s:.2f} s"]
    peak = float(np.max(np.abs(x)))
    if peak == 0.0 or 20 * np.log10(peak) < limits.silent_peak_dbfs:
        return [f"silent: peak below {limits.silent_peak_dbfs:.0f} dBFS"]
    problems = []
    clipped = float(np.mean(np.abs(x) >= limits.clip_level))
    if clipped > limits.max_clipped_fraction:
        problems.append(f"clipped: {100 * clipped:.2f}% of samples at full scale (re-record with lower gain)")
    level = active_rms_db(x, rate)
    if level < limits.min_active_dbfs:
        problems.append(f"level too low: speech at {level:.1f} dBFS, expected at least {limits.min_active_dbfs}")
    floor = _noise_floor_dbfs(x, rate)
    if floor > limits.max_noise_floor_dbfs or level - floor < limits.min_snr_db:
        problems.append(
            f"too noisy: noise floor {floor:.1f} dBFS, speech {level - floor:.1f} dB above it "
            f"(expected at most {limits.max_noise_floor_dbfs} dBFS and at least {limits.min_snr_db} dB)"
        )
    return problems


def load_script(wav_dir: Path) -> Script:
    path = wav_dir / "script.yaml"
    if not path.exists():
        return DEFAULT_SCRIPT
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise EnrollmentError([Problem(path.name, "expected a mapping with 'lines' and 'first_names'")])
    try:
        return Script.from_dict(data)
    except ValueError as exc:
        raise EnrollmentError([Problem(path.name, str(exc))]) from None


def validate_dir(
    wav_dir: Path, script: Script, limits: WavLimits = WavLimits(), *, require_all: bool = True
) -> list[Problem]:
    """Every problem in the folder: bad files, badly named files, and (with `require_all`) script keys
    without a recording; a profile enrolled without them speaks those lines with the stock voice."""
    if not wav_dir.is_dir():
        return [Problem(str(wav_dir), "expected a folder of WAV files, found none")]
    problems = []
    for path in sorted(wav_dir.glob("*.wav")):
        if slug(path.stem) != path.stem:
            problems.append(Problem(path.name, f"expected a name like '{slug(path.stem)}.wav' (its key: {_KEY_RULE})"))
        problems += [Problem(path.name, m) for m in check_wav(path, limits)]
    for path in sorted((wav_dir / "reference").glob("*.wav")):
        problems += [Problem(f"reference/{path.name}", m) for m in check_wav(path, limits, reference=True)]
    present = {p.stem for p in wav_dir.glob("*.wav")}
    for key, purpose in script.required_keys().items() if require_all else ():
        if key not in present:
            problems.append(Problem(f"{key}.wav", f"missing: needed for {purpose}"))
    return problems


def enroll(
    agent: str, wav_dir: Path, profiles_root: Path, limits: WavLimits = WavLimits(), *, require_all: bool = True
) -> Path:
    """Validate `wav_dir` and write the profile to `profiles_root/agent` (replacing an older one)."""
    if slug(agent) != agent:
        raise ValueError(f"expected an agent id like {slug(agent)!r} ({_KEY_RULE}), got {agent!r}")
    script = load_script(wav_dir)
    problems = validate_dir(wav_dir, script, limits, require_all=require_all)
    if problems:
        raise EnrollmentError(problems)
    target = profiles_root / agent
    staging = profiles_root / f".{agent}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    manifest = _copy_recordings(wav_dir, staging)
    manifest.update(agent=agent, version=MANIFEST_VERSION, script=script.to_dict())
    manifest["median_f0_hz"] = _median_f0(staging, manifest["references"] or list(manifest["recordings"]))
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # the profile appears whole or not at all
    return target


def _copy_recordings(wav_dir: Path, staging: Path) -> dict[str, Any]:
    (staging / "recordings").mkdir(parents=True)
    recordings: dict[str, Any] = {}
    for path in sorted(wav_dir.glob("*.wav")):
        relative = f"recordings/{path.name}"
        shutil.copyfile(path, staging / relative)
        x, rate = read_wav(path)
        recordings[path.stem] = {"file": relative, "duration_s": round(len(x) / rate, 3)}
    references = []
    for path in sorted((wav_dir / "reference").glob("*.wav")):
        (staging / "reference").mkdir(exist_ok=True)
        shutil.copyfile(path, staging / "reference" / path.name)
        references.append(f"reference/{path.name}")
    return {"recordings": recordings, "references": references}


def _median_f0(directory: Path, files: list[str]) -> float | None:
    """The agent's median F0 (PSOLA target); None when praat-parselmouth is not installed."""
    from tts.psola import median_f0_hz, psola_available

    if not psola_available():
        return None
    relative = [f if "/" in f else f"recordings/{f}.wav" for f in files]
    audio = [read_wav(directory / f) for f in relative]
    x = np.concatenate([resample(a, rate, 8000) for a, rate in audio]).astype(np.float32)
    return median_f0_hz(x, 8000)
