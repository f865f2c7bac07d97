"""Prometheus metrics of a dialer process: calls by state and disposition, handoff wait and abandon rate, ASR and
TTS latency.

    metrics = DialerMetrics()                      # its own registry (tests make as many as they like)
    metrics.serve(port=9464)                       # GET /metrics; or mount `metrics.asgi_app()` in the console

Labels are campaign ids, states and dispositions: never numbers, names or text (STYLE 12). The ASR and TTS
observations come from callbacks on the robot's shared recognizer pool and phrase cache (`watch_robot`), so the
speech packages do not depend on Prometheus.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_asgi_app, start_http_server

from dialer.outcomes import RecordedOutcome

__all__ = ["CALL_STATES", "DialerMetrics"]

CALL_STATES = ("dialing", "robot", "handoff_wait", "agent")
_LATENCY_BUCKETS_S = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
_WAIT_BUCKETS_S = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0)


class DialerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.calls = Counter(
            "callcenter_calls", "Finished call attempts by campaign and disposition", ["campaign", "disposition"],
            registry=r,
        )  # fmt: skip
        self.calls_active = Gauge("callcenter_calls_active", "Calls in progress by state", ["state"], registry=r)
        for state in CALL_STATES:
            self.calls_active.labels(state).set(0)
        self.qualified = Counter("callcenter_leads_qualified", "Leads graded A or B", ["campaign", "grade"], registry=r)
        self.handoff_wait = Histogram(
            "callcenter_handoff_wait_seconds", "Wait from a handoff request to an agent taking over",
            buckets=_WAIT_BUCKETS_S, registry=r,
        )  # fmt: skip
        self.handoffs = Counter("callcenter_handoffs", "Handoff requests by result", ["result"], registry=r)
        self.abandon_ratio = Gauge(
            "callcenter_handoff_abandon_ratio", "Abandoned handoffs over resolved handoffs, since start", registry=r
        )
        self.asr_latency = Histogram(
            "callcenter_asr_final_latency_seconds", "End of speech to final transcript (queue wait + decode)",
            ["language"], buckets=_LATENCY_BUCKETS_S, registry=r,
        )  # fmt: skip
        self.tts_latency = Histogram(
            "callcenter_tts_first_frame_seconds", "Synthesis request to its first 20 ms frame (uncached lines)",
            ["language"], buckets=_LATENCY_BUCKETS_S, registry=r,
        )  # fmt: skip
        self._answered = 0
        self._abandoned = 0

    def on_recorded(self, outcome: RecordedOutcome) -> None:
        self.calls.labels(str(outcome.campaign_id), outcome.disposition).inc()
        if outcome.grade in ("A", "B"):
            self.qualified.labels(str(outcome.campaign_id), outcome.grade).inc()

    def on_handoff(self, *, answered: bool, wait_s: float) -> None:
        """A handoff resolved: an agent took the call after `wait_s`, or the customer left (abandoned)."""
        if answered:
            self._answered += 1
            self.handoff_wait.observe(wait_s)
        else:
            self._abandoned += 1
        self.handoffs.labels("answered" if answered else "abandoned").inc()
        self.abandon_ratio.set(self._abandoned / (self._answered + self._abandoned))

    def watch_robot(self, robot: Any) -> None:
        """Observe ASR and TTS latency of every language the robot loaded."""
        for lang, parts in robot.languages.items():
            parts.asr.on_latency = self._asr_observer(lang)
            parts.tts.on_first_frame = self.tts_latency.labels(lang).observe
        for voice in robot.voices.values():  # agents' voices: the language of their profile
            voice.on_first_frame = self.tts_latency.labels(voice.profile_engine.profile.script.language).observe

    def _asr_observer(self, lang: str) -> Any:
        histogram = self.asr_latency.labels(lang)

        def observe(final: bool, seconds: float) -> None:
            if final:
                histogram.observe(seconds)

        return observe

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve `/metrics` from a daemon thread (a dialer without the console)."""
        start_http_server(port, addr=host, registry=self.registry)

    def asgi_app(self) -> Any:
        return make_asgi_app(registry=self.registry)
