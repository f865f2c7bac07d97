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
from tts import splice_zh
from tts.audio import FloatPcm, IntPcm, float_to_int16, read_wav, resample
from tts.engine import MemorySource, RenderInfo, TtsEngine, TtsStream, VoiceSource
from tts.splice import (
    DAYS,
    LANGUAGES,
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
    language: str = "en"  # "zh": Mandarin slot rules and vocabulary (`tts.splice_zh`), no spaces between words

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"expected a script language in {LANGUAGES}, got {self.language!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        """`{"lines": {id: text, ...}, "first_names": [...], "language": "en" | "zh"}` (the YAML/JSON form;
        without "language", English)."""
        lines = tuple(ScriptLine(str(k), str(v)) for k, v in dict(data.get("lines", {})).items())
        if not lines:
            raise ValueError("expected a script with at least one line under 'lines'")
        return cls(lines, tuple(str(n) for n in data.get("first_names", ())), str(data.get("language", "en")))

    def to_dict(self) -> dict[str, Any]:
        return {"lines": {ln.line_id: ln.text for ln in self.lines}, "first_names": list(self.first_names),
                "language": self.language}  # fmt: skip

    def required_keys(self) -> dict[str, str]:
        """Every recording key the script needs -> what it is for (used in error messages)."""
        needed: dict[str, str] = {}
        for line in self.lines:
            if not line.slots:
                needed.setdefault(slug(line.text), f"line {line.line_id!r}")
            for part in line.fixed_parts:
                needed.setdefault(slug(part), f"part of line {line.line_id!r}")
            for kind in line.slots:
                for token in vocabulary(kind, self.first_names, self.language):
                    needed.setdefault(token, f"{kind} vocabulary")
        return needed


def vocabulary(kind: str, first_names: Sequence[str] = (), language: str = "en") -> list[str]:
    """The tokens that any value of a slot kind may need: Asterisk-style digits, days, months... in English;
    零 一…九 两 十 百 千 万, 点 半 分, 月 号 星期, 元 块 角 毛 分... in Mandarin (`tts.splice_zh.vocabulary`)."""
    if kind == "first_name":
        return [slug(name) for name in first_names]
    if language == "zh":
        return splice_zh.vocabulary(kind)
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
#
# A slot line is matched as a sequence of segments: fixed parts (a pattern that also takes the punctuation and
# spaces around them) and slots. A slot's value is whatever span the slot rules can say, tried shortest first
# with backtracking, so adjacent slots need no separator ("您的预约在{day}{time}。" against
# "您的预约在星期二下午三点。"). English fixed words must be separated by non-word characters; Mandarin has no
# spaces, so there any character may follow any other.

_SEPARATOR = {"en": r"\W+", "zh": r"\W*"}
_MAX_VALUE_CHARS = 64  # longer than any value the slot rules accept ("5月14日（周二）下午3点05分", "$1,250.05")


@dataclass(frozen=True, slots=True)
class _Fixed:
    pattern: re.Pattern[str]
    keys: list[str]  # the recordings that say it ([] for punctuation only)


def _fixed_body(text: str, language: str) -> str:
    """The pattern of a fixed part's words: case and punctuation ignored ("Don't" matches "dont")."""
    key = slug(text)
    if not key:
        return ""
    if language == "zh":
        return r"\W*".join(re.escape(ch) for ch in key.replace("-", ""))
    return r"\W+".join("['\u2019]?".join(re.escape(ch) for ch in word) for word in key.split("-"))


def _phrase_keys(text: str, available: set[str], language: str) -> list[str] | None:
    """A fixed phrase as recordings: the whole phrase, else word by word (English) or clause by clause
    (Mandarin: the parts between punctuation, "好的，您的预约在" -> 好的 + 您的预约在), else None."""
    key = slug(text)
    if key in available:
        return [key]
    parts = [slug(p) for p in re.split(r"[\W_]+", text)] if language == "zh" else key.split("-")
    parts = [p for p in parts if p]
    return parts if all(p in available for p in parts) else None


def _segments(line: ScriptLine, language: str, have: set[str]) -> list[_Fixed | str] | None:
    """The line as fixed parts and slot kinds; None when a fixed part has no recording."""
    pieces = _SLOT.split(line.text)
    segments: list[_Fixed | str] = []
    for i, piece in enumerate(pieces):
        if i % 2:
            segments.append(piece)
            continue
        body = _fixed_body(piece, language)
        before = r"\W*" if i == 0 or (not body and i == len(pieces) - 1) else _SEPARATOR[language]
        after = r"\W*" if i == len(pieces) - 1 or not body else _SEPARATOR[language]
        keys = _phrase_keys(piece, have, language) if body else []
        if keys is None:
            return None
        segments.append(_Fixed(re.compile(before + body + after, re.IGNORECASE), keys))
    return segments


def plan_recording(text: str, script: Script, available: Iterable[str]) -> list[str] | None:
    """The recording keys that speak `text`, or None when the agent's recordings cannot say it."""
    have = set(available)
    whole = slug(text)
    if whole and whole in have:
        return [whole]
    for line in script.lines:
        segments = _segments(line, script.language, have) if line.slots else None
        keys = _search(segments, 0, text, 0, have, script.language) if segments else None
        if keys is not None:
            return keys
    return None


def _search(
    segments: list[_Fixed | str], i: int, text: str, pos: int, have: set[str], language: str
) -> list[str] | None:
    """Keys for `text[pos:]` from segment `i` on: fixed parts must match in place, slot values are tried
    shortest first; a value must be sayable, recorded, and leave a text the rest of the line matches."""
    if i == len(segments):
        return [] if pos == len(text) else None
    segment = segments[i]
    if isinstance(segment, _Fixed):
        match = segment.pattern.match(text, pos)
        rest = None if match is None else _search(segments, i + 1, text, match.end(), have, language)
        return None if rest is None else [*segment.keys, *rest]
    following = segments[i + 1]  # a slot is always followed by a fixed part, if only punctuation
    assert isinstance(following, _Fixed)
    for end in range(pos + 1, min(len(text), pos + _MAX_VALUE_CHARS) + 1):
        if following.pattern.match(text, end) is None:
            continue
        tokens = _tokens_or_none(segment, text[pos:end], language)
        if tokens is None or not set(tokens) <= have:
            continue
        rest = _search(segments, i + 1, text, end, have, language)
        if rest is not None:
            return [*tokens, *rest]
    return None


def _tokens_or_none(kind: str, value: str, language: str) -> list[str] | None:
    try:
        return slot_tokens(kind, value, language)
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
