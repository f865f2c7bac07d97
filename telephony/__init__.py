"""Telephony: SIP calls through a supervised pool of pjsua2 worker processes.

Only this package touches pjsua2, and only inside worker processes (`telephony.worker`).
"""

from telephony.call import Call, CallEnded, CallEvent, CallResult
from telephony.config import PoolConfig, SipAccount
from telephony.dispositions import Disposition
from telephony.frames import FRAME_MS, AudioFrame, frame_bytes, frame_samples, split_frames
from telephony.pool import PoolFull, SipWorkerPool

__all__ = [
    "FRAME_MS",
    "AudioFrame",
    "Call",
    "CallEnded",
    "CallEvent",
    "CallResult",
    "Disposition",
    "PoolConfig",
    "PoolFull",
    "SipAccount",
    "SipWorkerPool",
    "frame_bytes",
    "frame_samples",
    "split_frames",
]
