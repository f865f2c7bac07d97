"""Answering-machine detection (AMD) over the first seconds of an answered call: human-first.

A pure, synchronous state machine fed every inbound 20 ms frame (`push_frame`) and every final transcript
(`push_transcript`); times are seconds since the answer, in stream time (a frame pushed at `t_s` covers
`[t_s, t_s + 0.02)`, and a decision taken on it is dated at its end). It returns an `AmdResult` only when
something changes: the decision, or — after a `machine` decision — the end of the beep, which is when the
campaign's message may start. No model, clock or event loop: it costs 3-20 µs per frame (measured in
docs/amd.md), so it runs on the event loop next to the call.

Features, per frame:

- an energy VAD: a frame is voiced at or above `max(speech_dbfs, noise floor + snr_db)`; the floor starts at the
  first frame's level, follows quieter frames at once (down to `speech_dbfs - snr_db - 10 dB`, below which it
  changes nothing) and rises towards louder ones with a 2 s time constant, so a stationary noise (hiss, hum, a
  fan) is not speech, or stops being speech 2-3 s after it starts, instead of passing for a talking machine;
- talk spurts: `min_speech_ms` of consecutive voiced frames; pauses shorter than `end_silence_ms` stay inside
  one *greeting*, a pause of `end_silence_ms` ends it (span = first onset to last voiced frame);
- a tone detector (the beep): a Hann-windowed FFT per loud frame; a frame is tonal when ±2 bins around the peak
  hold ≥ `beep_purity` of the energy, the peak is inside `beep_low_hz..beep_high_hz`, and it moved ≤
  `beep_drift_hz` since the previous tonal frame. Speech at 8 kHz often has one dominant harmonic, but it never
  stays this pure and still for more than 3 frames (measured on 360 recorded prompts); a beep does for all of
  its frames. The frames of a tonal run longer than 3 frames are not speech;
- transcript cues (English and Mandarin, `CUES`): *strong* cues ("leave a message", "after the tone",
  "voicemail", "您拨打的电话", "请在提示音后留言", "语音信箱", "无法接听" …) and *weak* ones ("you've reached",
  "not available", "call you back", "不方便接听" …), and *human* cues ("how can I help", "who is this",
  "哪位", "喂" …).

Rules, in this order, while undecided (human-first: a person must never be taken for a machine on a guess):

1. `beep` — machine: a tone of `beep_min_ms..beep_max_ms` ended, after some speech was heard (a lone tone is a
   ringback or a network tone, not a mailbox). `beep_at_s` is the end of the tone.
2. `transcript_cue` — machine: one strong cue, or two different weak cues and no human cue.
3. `long_greeting` — machine: the current greeting has lasted `machine_greeting_s` and was voiced for at least
   `min_voiced_fraction` of it. People answer in 0.3-1.5 s ("Hello?") and even a long front-desk greeting
   ("Hi, you've reached the front desk of the Grand Hotel, how can I help?") stays under ~4 s; recorded
   greetings run 5-15 s nearly without pause.
4. `short_hello` — human: the first greeting was at most `short_greeting_s` long, `end_silence_ms` of
   silence followed it (the caller is waiting for us) and no tone is under way (it may be the beep).
5. `timeout_human` — human, at `deadline_s`: nothing above fired. A greeting still under way at the deadline
   may run on until it ends or could reach rule 3, at most until `max_analysis_s`. Mid-length greetings
   (between rules 3 and 4) wait for the deadline on purpose, so that a late transcript cue can still count.

A decision is final: after `human` nothing changes; after `machine` only the beep is reported (the first tone
after the first speech that qualifies), as a second result with the same decision and reason.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from telephony.frames import FRAME_MS, AudioFrame

__all__ = [
    "CUES",
    "AmdConfig",
    "AmdFeatures",
    "AmdResult",
    "AnsweringMachineDetector",
    "Cue",
    "Decision",
    "Greeting",
    "Tone",
    "find_cues",
]

Decision = Literal["human", "machine", "undecided"]
FRAME_S: Final = FRAME_MS / 1000
SILENCE_DBFS: Final = -120.0
_EPS: Final = 1e-6  # float slack when comparing sums of 20 ms steps with millisecond thresholds
_BAND_HALF_WIDTH_BINS: Final = 2  # a pure tone's energy through a Hann window lies within ±2 bins of its peak
# Speech at 8 kHz often has one dominant harmonic, but never held it pure and still for more than 3 frames in 360
# recorded prompts (asterisk-core-sounds-en) and espeak renders; a longer tonal run is a tone, not speech.
_SPEECH_MAX_TONAL_FRAMES: Final = 3


@dataclass(frozen=True, slots=True)
class AmdConfig:
    """Thresholds. The defaults are the documented, tested ones (docs/amd.md)."""

    # energy VAD
    speech_dbfs: float = -40.0  # PCMU speech sits around -20 dBFS, line silence far below -60
    snr_db: float = 10.0  # ... and must stand this far above the noise floor
    noise_rise_tau_s: float = 2.0  # the floor climbs towards louder frames with this time constant
    min_speech_ms: int = 80  # voiced run that counts as speech (clicks, pops and a beep's first frames do not)
    # greeting
    end_silence_ms: int = 800  # a pause this long ends a greeting; shorter ones are inside it
    short_greeting_s: float = 2.0  # "Hello?", "Smith residence", "你好，哪位？"
    machine_greeting_s: float = 4.5  # a greeting this long, nearly continuous, is a recording
    min_voiced_fraction: float = 0.6  # of the greeting's span, for rule 3
    # analysis window
    deadline_s: float = 5.0  # undecided at this point: human
    max_analysis_s: float = 7.0  # ... unless a greeting is still under way, at most until here
    # beep
    beep_min_ms: int = 150
    beep_max_ms: int = 2000
    beep_low_hz: float = 400.0
    beep_high_hz: float = 2000.0
    beep_purity: float = 0.95  # share of the frame's energy within ±2 FFT bins of the peak
    beep_drift_hz: float = 25.0  # a steady tone stays put from frame to frame
    beep_dbfs: float = -40.0  # quieter frames are not examined (and save the FFT)
    # transcript
    use_transcripts: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.short_greeting_s < self.machine_greeting_s:
            raise ValueError(
                f"expected 0 < short_greeting_s < machine_greeting_s, got {self.short_greeting_s}, "
                f"{self.machine_greeting_s}"
            )
        if not 0.0 < self.deadline_s <= self.max_analysis_s:
            raise ValueError(f"expected 0 < deadline_s <= max_analysis_s, got {self.deadline_s}, {self.max_analysis_s}")
        if not 0 < self.beep_min_ms <= self.beep_max_ms:
            raise ValueError(f"expected 0 < beep_min_ms <= beep_max_ms, got {self.beep_min_ms}, {self.beep_max_ms}")
        if not 0.0 < self.beep_low_hz < self.beep_high_hz:
            raise ValueError(f"expected 0 < beep_low_hz < beep_high_hz, got {self.beep_low_hz}, {self.beep_high_hz}")
        if self.min_speech_ms < FRAME_MS or self.end_silence_ms < FRAME_MS:
            raise ValueError(f"expected min_speech_ms and end_silence_ms >= {FRAME_MS}")


@dataclass(frozen=True, slots=True)
class AmdResult:
    """The detector's state; returned by `push_*` only when it changes (satisfies `session.seams.AmdResult`)."""

    decision: Decision
    reason: str  # "listening", "beep", "transcript_cue", "long_greeting", "short_hello", "timeout_human"
    at_s: float  # when decided (seconds since the answer)
    beep_at_s: float | None = None  # the end of the beep, once heard after a machine decision


@dataclass(frozen=True, slots=True)
class Greeting:
    """One stretch of speech whose inner pauses are shorter than `end_silence_ms`."""

    onset_s: float
    end_s: float  # end of the last voiced frame
    voiced_s: float

    @property
    def span_s(self) -> float:
        return self.end_s - self.onset_s


@dataclass(frozen=True, slots=True)
class Tone:
    start_s: float
    end_s: float
    hz: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class AmdFeatures:
    """What the detector measured so far, for logs, tests and tuning (no audio, no text)."""

    initial_silence_s: float | None  # answer to the first speech; None before any
    greetings: tuple[Greeting, ...]  # finished ones, then the one under way
    tones: tuple[Tone, ...]  # finished tones of any length
    cues: tuple[str, ...]  # ids of the transcript cues matched
    noise_dbfs: float


# -- frame measurements ------------------------------------------------------------------------------------


def frame_dbfs(samples: npt.NDArray[np.float32]) -> float:
    """RMS level in dB relative to full scale (a full-scale sine is about -3 dBFS)."""
    mean_square = float(np.dot(samples, samples)) / max(1, samples.size)
    return 10.0 * math.log10(mean_square / 32768.0**2) if mean_square > 0.0 else SILENCE_DBFS


class _ToneMeter:
    """Per-frame pure-tone test: (peak frequency in Hz, share of the energy within ±2 bins of the peak)."""

    def __init__(self, n_samples: int, rate_hz: int) -> None:
        self._window = np.hanning(n_samples).astype(np.float32)
        self._bin_hz = rate_hz / n_samples

    def measure(self, samples: npt.NDArray[np.float32]) -> tuple[float, float]:
        power = np.abs(np.fft.rfft(samples * self._window)) ** 2
        power[0] = 0.0  # DC offset is not a tone
        k = int(np.argmax(power))
        total = float(power.sum())
        if total <= 0.0 or k == 0 or k == power.size - 1:
            return 0.0, 0.0
        band = float(power[max(1, k - _BAND_HALF_WIDTH_BINS) : k + _BAND_HALF_WIDTH_BINS + 1].sum())
        # parabolic interpolation on the log spectrum: a few Hz of accuracy, enough to see a tone stand still
        a, b, c = (math.log(float(p) + 1e-9) for p in power[k - 1 : k + 2])
        denom = a - 2.0 * b + c
        offset = 0.5 * (a - c) / denom if denom != 0.0 else 0.0
        return (k + offset) * self._bin_hz, band / total


class _ToneTracker:
    """Runs of tonal frames at a steady frequency; returns each run when it ends."""

    def __init__(self, config: AmdConfig) -> None:
        self._config = config
        self._start_s: float | None = None
        self._end_s = 0.0
        self._hz = 0.0
        self.run_frames = 0  # tonal frames in the run under way

    @property
    def is_tone(self) -> bool:
        """The run under way is longer than any run speech makes (so its frames are not speech)."""
        return self.run_frames > _SPEECH_MAX_TONAL_FRAMES

    def push(self, t_s: float, hz: float, purity: float) -> Tone | None:
        """Feed one frame (`purity` 0 for a frame too quiet to examine)."""
        cfg = self._config
        tonal = purity >= cfg.beep_purity and cfg.beep_low_hz <= hz <= cfg.beep_high_hz
        if tonal and self._start_s is not None and abs(hz - self._hz) <= cfg.beep_drift_hz:
            self._end_s, self._hz, self.run_frames = t_s + FRAME_S, hz, self.run_frames + 1
            return None
        ended = self._finish()
        if tonal:
            self._start_s, self._end_s, self._hz, self.run_frames = t_s, t_s + FRAME_S, hz, 1
        return ended

    def _finish(self) -> Tone | None:
        if self._start_s is None:
            return None
        tone = Tone(self._start_s, self._end_s, self._hz)
        self._start_s, self.run_frames = None, 0
        return tone


class _NoiseFloor:
    """The line's noise level: drops to any quieter frame at once, climbs towards louder ones slowly."""

    def __init__(self, rise_tau_s: float, lowest_dbfs: float) -> None:
        self.dbfs: float | None = None  # the first frame sets it: a line that starts noisy is noisy
        self._alpha = 1.0 - math.exp(-FRAME_S / rise_tau_s)
        self._lowest_dbfs = lowest_dbfs  # from digital silence (-120) a climb to a noise level would take longer

    @property
    def level_dbfs(self) -> float:
        return SILENCE_DBFS if self.dbfs is None else self.dbfs

    def push(self, level_dbfs: float) -> None:
        level_dbfs = max(level_dbfs, self._lowest_dbfs)
        if self.dbfs is None or level_dbfs <= self.dbfs:
            self.dbfs = level_dbfs
        else:
            self.dbfs += self._alpha * (level_dbfs - self.dbfs)


class _GreetingTracker:
    """Talk spurts from voiced frames, grouped into greetings (pauses < `end_silence_ms` stay inside)."""

    def __init__(self, config: AmdConfig) -> None:
        self._min_speech_s = config.min_speech_ms / 1000
        self._end_silence_s = config.end_silence_ms / 1000
        self._run_start_s: float | None = None  # current run of voiced frames, confirmed or not
        self._run_confirmed = False
        self.current: Greeting | None = None
        self.finished: list[Greeting] = []
        self.first_speech_s: float | None = None

    def push(self, t_s: float, voiced: bool) -> None:
        """Feed one frame; `end_silence_ms` of silence after a greeting moves it to `finished`."""
        end_s = t_s + FRAME_S
        if not voiced:
            self._run_start_s, self._run_confirmed = None, False
            self._close_if_silent(end_s)
            return
        if self._run_start_s is None:
            self._run_start_s = t_s
        if self._run_confirmed:
            assert self.current is not None
            self.current = replace(self.current, end_s=end_s, voiced_s=self.current.voiced_s + FRAME_S)
        elif end_s - self._run_start_s >= self._min_speech_s - _EPS:
            self._confirm_run(self._run_start_s, end_s)
        else:
            self._close_if_silent(end_s)

    def _confirm_run(self, start_s: float, end_s: float) -> None:
        self._run_confirmed = True
        if self.current is not None and start_s - self.current.end_s >= self._end_silence_s - _EPS:
            self._close()
        if self.first_speech_s is None:
            self.first_speech_s = start_s
        if self.current is None:
            self.current = Greeting(start_s, end_s, end_s - start_s)
        else:
            self.current = replace(self.current, end_s=end_s, voiced_s=self.current.voiced_s + end_s - start_s)

    def _close_if_silent(self, now_s: float) -> None:
        if self.current is not None and now_s - self.current.end_s >= self._end_silence_s - _EPS:
            self._close()

    def _close(self) -> None:
        assert self.current is not None
        self.finished.append(self.current)
        self.current = None


# -- transcript cues ---------------------------------------------------------------------------------------

CueKind = Literal["strong", "weak", "human"]


@dataclass(frozen=True, slots=True)
class Cue:
    id: str
    kind: CueKind
    pattern: re.Pattern[str]


def _en(cue_id: str, kind: CueKind, regex: str) -> Cue:
    return Cue(cue_id, kind, re.compile(rf"\b(?:{regex})\b"))


def _zh(cue_id: str, kind: CueKind, *phrases: str) -> Cue:
    return Cue(cue_id, kind, re.compile("|".join(re.escape(p) for p in phrases)))


_CANT = r"(?:can't|cannot|can not|unable to)"
CUES: Final[tuple[Cue, ...]] = (
    _en("en_leave_message", "strong", r"leave (?:\w+ ){0,2}(?:message|voice ?mail)"),
    _en("en_leave_name", "strong", r"leave your name(?: and (?:phone )?number)?"),
    _en("en_after_tone", "strong", r"(?:after|at) the (?:tone|beep|signal)"),
    _en("en_voicemail", "strong", r"voice ?-?mail|mailbox|answering machine"),
    _en("en_record", "strong", r"record your message|finished recording"),
    _en("en_number_dialed", "strong", r"the (?:number|subscriber|person) you (?:have )?(?:dialed|dialled)"),
    _en("en_not_in_service", "strong", r"is not in service|has been disconnected"),
    _en("en_reached", "weak", r"you(?:'ve| have) reached"),
    _en("en_not_available", "weak", r"not available|unavailable"),
    _en("en_cant_take", "weak", rf"{_CANT} (?:take|answer) (?:your|the|this) call|{_CANT} come to the phone"),
    _en("en_away", "weak", r"away from (?:the|my) (?:phone|desk)|not (?:at home|home right now|here right now)"),
    _en("en_call_back", "weak", r"call you back|get back to you|return your call"),
    _en("en_person_calling", "weak", r"the person you are calling"),
    _en("en_help", "human", r"how (?:can|may) (?:i|we) help|what can i do for you"),
    _en("en_who", "human", r"who(?:'s| is) (?:this|calling|that|speaking)|can you hear me"),
    _zh("zh_number_dialed", "strong", "您拨打的", "您所拨打的", "您呼叫的"),
    _zh("zh_after_tone", "strong", "提示音后", "嘀声后", "滴声后", "哔声后"),
    _zh("zh_voicemail", "strong", "语音信箱", "留言信箱", "自动应答"),
    _zh("zh_cant_answer", "strong", "无法接听", "无法接通", "不在服务区", "已关机", "请稍后再拨"),
    _zh("zh_leave_message", "weak", "请留言", "留言"),
    _zh("zh_not_now", "weak", "不方便接听", "暂时不在", "现在不在", "稍后回电", "给您回电"),
    _zh("zh_human", "human", "哪位", "请讲", "听得到吗", "听得见吗", "有什么可以帮", "喂"),
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})  # Whisper writes curly apostrophes
_ZH_NOISE = re.compile(r"[\s，。？！、：；,.?!:;\"'\u201c\u201d]+")


def find_cues(text: str) -> set[str]:
    """Ids of the cues in `text` (English: case and curly quotes ignored; Mandarin: punctuation ignored)."""
    en = " ".join(text.translate(_APOSTROPHES).lower().split())
    zh = _ZH_NOISE.sub("", text)
    return {cue.id for cue in CUES if cue.pattern.search(en if cue.id.startswith("en_") else zh)}


_CUE_KINDS: Final = {cue.id: cue.kind for cue in CUES}


def _cue_verdict(cue_ids: set[str]) -> bool:
    """Machine on one strong cue, or on two different weak cues that no human cue contradicts."""
    strong = sum(_CUE_KINDS[c] == "strong" for c in cue_ids)
    weak = sum(_CUE_KINDS[c] == "weak" for c in cue_ids)
    human = sum(_CUE_KINDS[c] == "human" for c in cue_ids)
    return strong >= 1 or (weak >= 2 and human == 0)


# -- the detector ------------------------------------------------------------------------------------------

_LISTENING: Final = AmdResult("undecided", "listening", 0.0)


class AnsweringMachineDetector:
    """Human-first answering-machine detection for one call (one instance per call; see the module doc)."""

    def __init__(self, config: AmdConfig | None = None, language: str = "en") -> None:
        if language not in ("en", "zh"):
            raise ValueError(f"expected language 'en' or 'zh', got {language!r}")
        self.config = config or AmdConfig()
        self.language = language  # cues of both languages are matched: carriers answer in theirs, not ours
        self._result = _LISTENING
        self._rate_hz: int | None = None
        self._meter: _ToneMeter | None = None
        cfg = self.config
        self._noise = _NoiseFloor(cfg.noise_rise_tau_s, cfg.speech_dbfs - cfg.snr_db - 10.0)
        self._greetings = _GreetingTracker(self.config)
        self._tones = _ToneTracker(self.config)
        self._tones_heard: list[Tone] = []
        self._beep: Tone | None = None  # the first qualifying tone after speech
        self._cues: set[str] = set()
        self._next_t_s = 0.0

    @property
    def result(self) -> AmdResult:
        return self._result

    @property
    def features(self) -> AmdFeatures:
        g = self._greetings
        current = (g.current,) if g.current is not None else ()
        return AmdFeatures(
            g.first_speech_s,
            (*g.finished, *current),
            tuple(self._tones_heard),
            tuple(sorted(self._cues)),
            self._noise.level_dbfs,
        )

    def push_frame(self, frame: AudioFrame, t_s: float) -> AmdResult | None:
        """Feed the 20 ms frame that starts `t_s` seconds after the answer."""
        self._check_frame(frame, t_s)
        samples = frame.samples.astype(np.float32)
        level = frame_dbfs(samples)
        hz, purity = self._measure_tone(samples, level)
        tone = self._tones.push(t_s, hz, purity)
        threshold = max(self.config.speech_dbfs, self._noise.level_dbfs + self.config.snr_db)
        self._noise.push(level)
        voiced = level >= threshold and not self._tones.is_tone
        self._greetings.push(t_s, voiced)
        if tone is not None:
            self._on_tone(tone)
        return self._decide(t_s + FRAME_S)

    def push_transcript(self, text: str, t_s: float) -> AmdResult | None:
        """Feed a final transcript of the far end, `t_s` seconds after the answer (when it became final)."""
        if self._result.decision != "undecided" or not self.config.use_transcripts:
            return None
        self._cues |= find_cues(text)
        if not _cue_verdict(self._cues):
            return None
        return self._set(AmdResult("machine", "transcript_cue", t_s))

    # -- internals -----------------------------------------------------------------------------------------

    def _check_frame(self, frame: AudioFrame, t_s: float) -> None:
        if self._rate_hz is None:
            self._rate_hz = frame.sample_rate_hz
            self._meter = _ToneMeter(frame.samples.size, frame.sample_rate_hz)
        elif frame.sample_rate_hz != self._rate_hz:
            raise ValueError(f"expected {self._rate_hz} Hz frames, got {frame.sample_rate_hz}")
        if t_s < self._next_t_s - FRAME_S / 2:
            raise ValueError(f"expected frames in order, at t_s >= {self._next_t_s:.3f}, got {t_s:.3f}")
        self._next_t_s = t_s + FRAME_S

    def _measure_tone(self, samples: npt.NDArray[np.float32], level_dbfs: float) -> tuple[float, float]:
        if level_dbfs < self.config.beep_dbfs:
            return 0.0, 0.0
        assert self._meter is not None
        return self._meter.measure(samples)

    def _on_tone(self, tone: Tone) -> None:
        self._tones_heard.append(tone)
        cfg = self.config
        # a tone of beep_min_ms always fills floor(beep_min_ms / 20) - 1 whole frames, wherever it starts
        min_s = max(1, cfg.beep_min_ms // FRAME_MS - 1) * FRAME_S
        long_enough = min_s - _EPS <= tone.duration_s <= cfg.beep_max_ms / 1000 + _EPS
        after_speech = self._greetings.first_speech_s is not None and self._greetings.first_speech_s < tone.start_s
        if self._beep is None and long_enough and after_speech:
            self._beep = tone

    def _decide(self, now_s: float) -> AmdResult | None:
        decision = self._result.decision
        if decision == "human":
            return None
        if decision == "machine":
            if self._result.beep_at_s is None and self._beep is not None:
                return self._set(replace(self._result, beep_at_s=self._beep.end_s))
            return None
        verdict = self._audio_verdict(now_s)
        return self._set(verdict) if verdict is not None else None

    def _audio_verdict(self, now_s: float) -> AmdResult | None:
        cfg = self.config
        if self._beep is not None:
            return AmdResult("machine", "beep", now_s, self._beep.end_s)
        current = self._greetings.current
        if current is not None and self._is_long(current):
            return AmdResult("machine", "long_greeting", now_s)
        if self._tones.run_frames and now_s < cfg.max_analysis_s - _EPS:
            return None  # a tone under way may be the beep: no human decision before it is over
        first = self._greetings.finished[0] if self._greetings.finished else None
        if first is not None and current is None and first.span_s <= cfg.short_greeting_s:
            return AmdResult("human", "short_hello", now_s)
        if now_s >= cfg.max_analysis_s - _EPS:
            return AmdResult("human", "timeout_human", now_s)
        if now_s >= cfg.deadline_s - _EPS and not self._may_still_be_long(current):
            return AmdResult("human", "timeout_human", now_s)
        return None

    def _is_long(self, greeting: Greeting) -> bool:
        cfg = self.config
        return (
            greeting.span_s >= cfg.machine_greeting_s - _EPS
            and greeting.voiced_s >= cfg.min_voiced_fraction * greeting.span_s - _EPS
        )

    def _may_still_be_long(self, current: Greeting | None) -> bool:
        """A greeting under way that could reach `machine_greeting_s` before `max_analysis_s`."""
        if current is None:
            return False
        return current.onset_s + self.config.machine_greeting_s <= self.config.max_analysis_s + _EPS

    def _set(self, result: AmdResult) -> AmdResult:
        self._result = result
        return result
