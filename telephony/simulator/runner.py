"""The simulator process: one baresip runtime, one user agent per answering persona, the SIP front, N calls.

    caller ──INVITE──▶ SipFront (public port) ──relay──▶ baresip (private loopback port) ──▶ CallSession
                           └─ busy / reject / no_answer / unknown: answered by the front itself

baresip picks the user agent by the request-URI user part, which is the persona id.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import baresip

from telephony.simulator.persona import AnswerMode, Persona, load_personas
from telephony.simulator.session import CallScript, CallSession, build_script
from telephony.simulator.sipfront import Decision, RefusalRecord, Refuse, Relay, SipFront
from telephony.simulator.timeline import CallTimeline, call_dir_name
from telephony.simulator.turns import TimelineEvent

log = logging.getLogger(__name__)

# The stack moves audio at the codec's own rate (no resampling towards Python), so each rate offers only
# codecs of that rate: G.711 at 8 kHz, G.722 at 16 kHz.
CODECS = {8000: ("PCMU", "PCMA"), 16000: ("G722/16000/1",)}
SHUTDOWN_TIMEOUT_S = 5.0
_OUTCOME_BY_STATUS = {486: "busy", 603: "rejected", 480: "no_answer", 487: "cancelled"}


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    personas_path: Path
    out_dir: Path
    listen_host: str = "127.0.0.1"
    listen_port: int = 0  # 0: any free port (reported in the READY line)
    rate_hz: int = 8000
    rtp_ports: tuple[int, int] | None = None
    max_calls: int = 64
    cache_dir: Path | None = None  # rendered/converted utterances; default <out_dir>/.cache

    def __post_init__(self) -> None:
        if self.rate_hz not in CODECS:
            raise ValueError(f"expected a rate in {sorted(CODECS)}, got {self.rate_hz}")


class Simulator:
    """Owns the stack, the front and every call task. `start()`, then `close()` (hangs up, flushes files)."""

    def __init__(self, options: SimulatorOptions) -> None:
        self._opts = options
        self._personas: dict[str, Persona] = load_personas(options.personas_path)
        self._scripts: dict[str, CallScript] = {}
        self._runtime: Any = None
        self._front: SipFront | None = None
        self._sessions: set[asyncio.Task[CallTimeline]] = set()
        self._stop = asyncio.Event()
        self._index = itertools.count(1)
        self.port = 0

    async def start(self) -> int:
        """Prepare all audio, start the stack and the front; returns the public SIP port."""
        self._opts.out_dir.mkdir(parents=True, exist_ok=True)
        self._scripts = await asyncio.to_thread(self._build_scripts)
        internal = _free_loopback_port(self._opts.listen_host)
        self._runtime = baresip.Runtime(native_log_level="error")
        await self._runtime.start(self._stack_config(internal))
        for persona in self._personas.values():
            if persona.id in self._scripts:
                await self._add_user_agent(persona.id, internal)
        host = self._opts.listen_host
        self._front = SipFront((host, self._opts.listen_port), (host, internal), self._decide, self._refused)
        self.port = await self._front.start()
        log.info("simulator listening on %s:%d with %d personas", host, self.port, len(self._personas))
        return self.port

    async def close(self) -> None:
        """Refuse new calls, hang up the live ones (each writes its files), stop the stack."""
        self._stop.set()
        if self._front is not None:
            await self._front.close()
        if self._sessions:
            _, pending = await asyncio.wait(self._sessions, timeout=SHUTDOWN_TIMEOUT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._runtime is not None:
            await self._runtime.close()
        log.info("simulator stopped")

    def _build_scripts(self) -> dict[str, CallScript]:
        cache = self._opts.cache_dir or self._opts.out_dir / ".cache"
        answering = (AnswerMode.ANSWER, AnswerMode.VOICEMAIL)
        return {
            p.id: build_script(p, self._opts.rate_hz, cache) for p in self._personas.values() if p.answer in answering
        }

    def _stack_config(self, internal_port: int) -> Any:
        host = self._opts.listen_host
        lines = [f"sip_listen {host}:{internal_port}", "audio_jitter_buffer_ms 20-60"]
        if self._opts.rtp_ports is not None:
            lines.append(f"rtp_ports {self._opts.rtp_ports[0]}-{self._opts.rtp_ports[1]}")
        return baresip.Config(
            net_interface=host,
            max_concurrent_calls=None,
            native_log_level="error",  # native lines can carry caller URIs (phone numbers)
            extra_config_text="\n".join(lines) + "\n",
        )

    async def _add_user_agent(self, persona_id: str, internal_port: int) -> None:
        account = baresip.Account(
            user=persona_id,
            domain=f"{self._opts.listen_host}:{internal_port}",
            password="",  # required by the binding even without authentication
            reg_interval=0,
            audio_codecs=CODECS[self._opts.rate_hz],
        )
        ua = await baresip.UserAgent.create(self._runtime, account)
        ua.on_incoming(functools.partial(self._incoming, persona_id))

    def _decide(self, user: str | None) -> Decision:
        persona = self._personas.get(user) if user else None
        if persona is None:
            return Refuse(None, 404, "Not Found")
        if self._stop.is_set() or len(self._sessions) >= self._opts.max_calls:
            return Refuse(None, 503, "Service Unavailable")
        ring_s = persona.ring_s
        if persona.answer is AnswerMode.BUSY:
            return Refuse(persona.id, 486, "Busy Here", ring_s or 0.0, call_index=next(self._index))
        if persona.answer is AnswerMode.REJECT:
            return Refuse(persona.id, 603, "Decline", ring_s or 0.0, call_index=next(self._index))
        if persona.answer is AnswerMode.NO_ANSWER:
            index = next(self._index)
            return Refuse(persona.id, 480, "Temporarily Unavailable", ring_s, persona.max_call_s, index)
        return Relay()

    def _incoming(self, persona_id: str, call: Any) -> None:
        """A relayed INVITE reached its persona's user agent (runs on the event loop)."""
        if self._stop.is_set():
            asyncio.get_running_loop().create_task(call.reject(), name="reject-during-shutdown")
            return
        session = CallSession(
            call, self._scripts[persona_id], next(self._index), self._opts.out_dir, self._opts.rate_hz, self._stop
        )
        task = asyncio.get_running_loop().create_task(session.run(), name=f"call-{session.name}")
        self._sessions.add(task)
        task.add_done_callback(self._session_done)
        log.info("call %s ringing", session.name)

    def _session_done(self, task: asyncio.Task[CallTimeline]) -> None:
        self._sessions.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task %s failed", task.get_name(), exc_info=task.exception())

    def _refused(self, record: RefusalRecord) -> None:
        """The front finished a call it refused: write its timeline."""
        outcome = "cancelled" if record.cancelled else _OUTCOME_BY_STATUS.get(record.final_status, "failed")
        timeline = CallTimeline(
            record.persona_id,
            record.call_index,
            record.sip_call_id,
            record.received_monotonic_s,
            record.received_wall_s,
            self._opts.rate_hz,
            outcome=outcome,
            final_status=record.final_status,
        )
        t_s = record.final_monotonic_s - record.received_monotonic_s
        by: Literal["simulator", "remote"] = "remote" if record.cancelled else "simulator"
        timeline.events.append(TimelineEvent(t_s, "hangup", by=by, reason=str(record.final_status)))
        timeline.write(self._opts.out_dir / call_dir_name(record.call_index, record.persona_id))
        log.info("call %03d %s: %s", record.call_index, record.persona_id, outcome)


def _free_loopback_port(host: str) -> int:
    """A port free for both UDP and TCP (baresip's `sip_listen` binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no free port on {host} for the SIP stack")
