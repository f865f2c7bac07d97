"""Settings for the SIP side: who we are on the network and how the worker pool behaves."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from telephony.frames import SUPPORTED_RATES_HZ

CALLS_PER_WORKER_MAX = 4  # compiled into the pjsua2-python wheel (PJSUA_MAX_CALLS)
DEFAULT_CODECS = ("G722/16000/1", "PCMU/8000/1", "PCMA/8000/1")


@dataclass(frozen=True)
class SipAccount:
    """Our identity. Without `registrar_uri` calls go straight to the dialled URI (no registration)."""

    user: str = "robot"
    host: str = "127.0.0.1"  # local address to bind SIP and RTP to
    display_name: str = ""
    domain: str | None = None  # AOR domain; defaults to host:port of the worker
    registrar_uri: str | None = None
    register_expires_s: int = 300
    outbound_proxy: str | None = None  # e.g. "sip:proxy.example.com;lr"
    auth_username: str | None = None
    auth_password: str | None = None
    auth_realm: str = "*"
    public_host: str | None = None  # address to advertise in SDP/Contact behind NAT

    def __repr__(self) -> str:  # never print the password
        shown = dataclasses.replace(self, auth_password="***" if self.auth_password else None)
        return "SipAccount(" + ", ".join(f"{f.name}={getattr(shown, f.name)!r}" for f in dataclasses.fields(self)) + ")"


@dataclass(frozen=True)
class PoolConfig:
    account: SipAccount = field(default_factory=SipAccount)
    max_calls: int = 4
    calls_per_worker: int = CALLS_PER_WORKER_MAX
    sample_rate_hz: int = 8000
    sip_port: int = 5070  # worker i binds sip_port + i; 0 = any free port
    rtp_port: int = 16000  # worker i uses rtp_port + i * rtp_ports_per_worker (below the ephemeral range)
    rtp_ports_per_worker: int = 40
    codecs: tuple[str, ...] = DEFAULT_CODECS  # highest preference first; every other codec is disabled
    ring_timeout_s: float = 30.0
    media_timeout_s: float = 20.0
    playout_max_frames: int = 250  # worker-side outbound buffer (5 s); full -> oldest dropped
    playout_high_water_frames: int = 10  # send() callers wait above this (200 ms ahead of the wire)
    recv_queue_frames: int = 100  # per call inbound queue (2 s); full -> oldest dropped
    worker_start_timeout_s: float = 15.0

    def __post_init__(self) -> None:
        if self.sample_rate_hz not in SUPPORTED_RATES_HZ:
            raise ValueError(f"expected sample_rate_hz in {SUPPORTED_RATES_HZ}, got {self.sample_rate_hz}")
        if not 1 <= self.calls_per_worker <= CALLS_PER_WORKER_MAX:
            raise ValueError(f"expected calls_per_worker in 1..{CALLS_PER_WORKER_MAX}, got {self.calls_per_worker}")
        if self.max_calls < 1:
            raise ValueError(f"expected max_calls >= 1, got {self.max_calls}")

    @property
    def max_workers(self) -> int:
        return math.ceil(self.max_calls / self.calls_per_worker)

    def worker_settings(self, index: int) -> dict[str, Any]:
        """What one worker process needs, as JSON-able data."""
        return {
            "index": index,
            "account": dataclasses.asdict(self.account),
            "max_calls": self.calls_per_worker,
            "sample_rate_hz": self.sample_rate_hz,
            "sip_port": self.sip_port + index if self.sip_port else 0,
            "rtp_port": self.rtp_port + index * self.rtp_ports_per_worker,
            "rtp_port_range": self.rtp_ports_per_worker,
            "codecs": list(self.codecs),
            "ring_timeout_s": self.ring_timeout_s,
            "media_timeout_s": self.media_timeout_s,
            "playout_max_frames": self.playout_max_frames,
        }
