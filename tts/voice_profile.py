"""A voice profile per agent: the agent's recordings of the script lines plus a slot vocabulary, on disk.

Folder layout (written by `tts.enroll`):
    <root>/<agent>/manifest.json         agent, script, recordings (key -> file, level), reference files, F0
    <root>/<agent>/recordings/<key>.wav  one phrase or vocabulary token each; key = `splice.slug(text)`
    <root>/<agent>/reference/*.wav       free speech, only for the match score and the PSOLA target

`VoiceProfileEngine` is a `TtsEngine` that speaks any text in this order of preference:
(a) "recording": a whole-line recording, else a script line whose fixed parts and slot tokens are all
    recorded, spliced (`tts.splice`); (b) "clone": a cloned-voice engine where one is configured;
(c) "stock": a stock voice (optionally PSOLA-shifted toward the agent, `tts.psola`).
`stream.info.source` says which one spoke.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from telephony.frames import SUPPORTED_RATES_HZ
from tts.audio import FloatPcm, IntPcm, float_to_int16, read_wav, resample
from tts.engine import MemorySource, RenderInfo, TtsEngine, TtsStream, VoiceSource
from tts.splice import (
    DAYS,
    MONTHS,
    RELATIVE_DAYS,
    SLOT_KINDS,
    ordinal_tokens,
    prepare_piece,
    slot_tokens,
    slug,
    splice,
)

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
_SLOT = re.compile(r"\{([a-z_]+)\}")

# ---- script lines and the vocabulary their slots need ----


@dataclass(frozen=True, slots=True)
class ScriptLine:
    """A fixed line; `{kind}` placeholders are slots ("Your appointment is on {day} at {time}.")."""

    line_id: str
    text: str

    def __post_init__(self) -> None:
        for kind in self.slots:
            if kind not in SLOT_KINDS:
                raise ValueError(f"line {self.line_id!r}: expected a slot kind in {SLOT_KINDS}, got {kind!r}")

    @property
    def slots(self) -> list[str]:
        return _SLOT.findall(self.text)

    @property
    def fixed_parts(self) -> list[str]:
        """The text between slots that has something to say ("Your appointment is on", "at")."""
        return [part for part in _SLOT.split(self.text)[::2] if slug(part)]


@dataclass(frozen=True)
class Script:
    lines: tuple[ScriptLine, ...]
    first_names: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        """`{"lines": {id: text, ...}, "first_names": [...]}` (the YAML/JSON form)."""
        lines = tuple(ScriptLine(str(k), str(v)) for k, v in dict(data.get("lines", {})).items())
        if not lines:
            raise ValueError("expected a script with at least one line under 'lines'")
        return cls(lines, tuple(str(n) for n in data.get("first_names", ())))

    def to_dict(self) -> dict[str, Any]:
        return {"lines": {ln.line_id: ln.text for ln in self.lines}, "first_names": list(self.first_names)}

    def required_keys(self) -> dict[str, str]:
        """Every recording key the script needs -> what it is for (used in error messages)."""
        needed: dict[str, str] = {}
        for line in self.lines:
            if not line.slots:
                needed.setdefault(slug(line.text), f"line {line.line_id!r}")
            for part in line.fixed_parts:
                needed.setdefault(slug(part), f"part of line {line.line_id!r}")
            for kind in line.slots:
                for token in vocabulary(kind, self.first_names):
                    needed.setdefault(token, f"{kind} vocabulary")
        return needed


def vocabulary(kind: str, first_names: Sequence[str] = ()) -> list[str]:
    """The tokens that any value of a slot kind may need (Asterisk-style digits, days, months...)."""
    cardinals = [str(n) for n in range(21)] + [str(n) for n in range(30, 100, 10)]
    if kind in ("day", "date"):
        extra = [*MONTHS, *(ordinal_tokens(n)[0] for n in [*range(1, 21), 30])] if kind == "date" else []
        return [*DAYS, *RELATIVE_DAYS, *extra, *(["20", "30"] if kind == "date" else [])]
    if kind == "time":
        return [*(str(n) for n in range(1, 21)), "30", "40", "50", "oh", "a-m", "p-m", "oclock"]
    if kind == "number":
        return [*cardinals, "hundred", "thousand"]
    if kind == "amount":
        return [*cardinals, "hundred", "thousand", "dollar", "dollars"]
    if kind == "digits":
        return [str(n) for n in range(10)]
    return [slug(name) for name in first_names]


DEFAULT_SCRIPT = Script.from_dict(
    {
        "lines": {
            "greeting": "Hello, this is Acme Solar calling about your electricity bill.",
            "minute": "Do you have a minute?",
            "appointment": "Your appointment is on {day} at {time}.",
            "quote": "Your quote is {amount} per month.",
            "hold": "One moment, please.",
            "goodbye": "Thank you for your time. Goodbye.",
        },
        "first_names": [],
    }
)

# ---- text -> which recordings to splice ----


def _line_pattern(line: ScriptLine) -> re.Pattern[str]:
    parts: list[str] = []
    for i, piece in enumerate(_SLOT.split(line.text)):
        if i % 2:
            parts.append(rf"(?P<s{len(parts)}>.+?)")
        elif slug(piece):
            parts.append(r"\W+".join(re.escape(w) for w in slug(piece).split("-")))
    return re.compile(r"^\W*" + r"\W+".join(parts) + r"\W*$", re.IGNORECASE)


def _phrase_keys(text: str, available: set[str]) -> list[str] | None:
    """A fixed phrase as recordings: the whole phrase, else word by word, else None."""
    key = slug(text)
    if key in available:
        return [key]
    words = key.split("-")
    return words if all(w in available for w in words) else None


def plan_recording(text: str, script: Script, available: Iterable[str]) -> list[str] | None:
    """The recording keys that speak `text`, or None when the agent's recordings cannot say it."""
    have = set(available)
    whole = slug(text)
    if whole and whole in have:
        return [whole]
    for line in script.lines:
        if line.slots:
            keys = _match_slot_line(line, text, have)
            if keys is not None:
                return keys
    return None


def _match_slot_line(line: ScriptLine, text: str, have: set[str]) -> list[str] | None:
    match = _line_pattern(line).match(text)
    if match is None:
        return None
    keys: list[str] = []
    values = [v for _, v in sorted(match.groupdict().items(), key=lambda kv: int(kv[0][1:]))]
    pieces = _SLOT.split(line.text)
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            phrase = _phrase_keys(piece, have) if slug(piece) else []
        else:
            phrase = _tokens_or_none(piece, values.pop(0))
        if phrase is None or not set(phrase) <= have:
            return None
        keys += phrase
    return keys


def _tokens_or_none(kind: str, value: str) -> list[str] | None:
    try:
        return slot_tokens(kind, value)
    except ValueError:
        return None


# ---- the profile on disk ----


@dataclass
class VoiceProfile:
    agent: str
    directory: Path
    script: Script
    recordings: dict[str, str]  # key -> file relative to `directory`
    references: list[str] = field(default_factory=list)
    median_f0_hz: float | None = None
    _pieces: dict[int, dict[str, FloatPcm]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, directory: Path) -> VoiceProfile:
        path = directory / MANIFEST
        if not path.exists():
            raise FileNotFoundError(f"expected a voice profile manifest at {path}, found none (run voice enroll)")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"{path}: expected manifest version {MANIFEST_VERSION}, got {data.get('version')}")
        recordings = {k: v["file"] for k, v in data["recordings"].items()}
        return cls(data["agent"], directory, Script.from_dict(data["script"]), recordings,
                   list(data.get("references", [])), data.get("median_f0_hz"))  # fmt: skip

    def audio(self, relative: str) -> tuple[FloatPcm, int]:
        return read_wav(self.directory / relative)

    def reference_audio(self, rate_hz: int = 8000) -> FloatPcm:
        """All reference recordings (all recordings when there are none) joined, at `rate_hz`."""
        files = self.references or list(self.recordings.values())
        return np.concatenate([resample(*self.audio(f), rate_hz) for f in files]).astype(np.float32)

    def pieces(self, rate_hz: int) -> dict[str, FloatPcm]:
        """Every recording trimmed, loudness-matched and resampled to `rate_hz` (computed once per rate)."""
        if rate_hz not in self._pieces:
            prepared = {}
            for key, relative in self.recordings.items():
                x, rate = self.audio(relative)
                prepared[key] = prepare_piece(resample(x, rate, rate_hz), rate_hz)
            self._pieces[rate_hz] = prepared
        return self._pieces[rate_hz]

    def plan(self, text: str) -> list[str] | None:
        return plan_recording(text, self.script, self.recordings)

    def render(self, keys: Sequence[str], rate_hz: int) -> IntPcm:
        pieces = self.pieces(rate_hz)
        return float_to_int16(splice([pieces[k] for k in keys], rate_hz))


# ---- the engine ----


class VoiceProfileEngine:
    """Speaks as one agent: recordings first, then the clone hook, then the stock voice."""

    def __init__(self, profile: VoiceProfile, *, clone: TtsEngine | None = None, stock: TtsEngine | None = None):
        self.profile = profile
        self.clone = clone  # hook for a cloned-voice engine (coqui-tts with local weights)
        self.stock = stock

    @property
    def name(self) -> str:
        return f"voice:{self.profile.agent}"

    async def warm_up(self, sample_rate_hz: int) -> None:
        """Read and prepare every recording for `sample_rate_hz` off the event loop; after this, a recorded
        utterance is spliced in memory (≈1 ms of numpy per piece) when `stream()` is called."""
        await asyncio.to_thread(self.profile.pieces, sample_rate_hz)

    def select(self, text: str) -> tuple[VoiceSource, list[str] | None]:
        """Which source would speak `text` (and the recordings, for "recording"); pure, no audio."""
        keys = self.profile.plan(text)
        if keys is not None:
            return "recording", keys
        if self.clone is not None:
            return "clone", None
        if self.stock is not None:
            return "stock", None
        raise LookupError(f"agent {self.profile.agent!r}: expected a recording, clone or stock voice for the text")

    def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
        if sample_rate_hz not in SUPPORTED_RATES_HZ:
            raise ValueError(f"expected a sample rate in {SUPPORTED_RATES_HZ}, got {sample_rate_hz}")
        source, keys = self.select(text)
        if keys is not None:
            info = RenderInfo(engine="recordings", voice=self.profile.agent, source="recording")
            return TtsStream(MemorySource(self.profile.render(keys, sample_rate_hz)), sample_rate_hz, info)
        inner = self.clone if source == "clone" else self.stock
        assert inner is not None
        stream = inner.stream(text, sample_rate_hz)
        stream.info = dataclasses.replace(stream.info, source=source)
        return stream
