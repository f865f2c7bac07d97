"""A SIP/media worker process: one pjsua2 Endpoint, at most 4 calls, I/O only.

Run by `telephony.pool` as `python -m telephony.worker --fd N --settings JSON`. The process owns one end of
a SOCK_SEQPACKET socket (see `telephony.ipc`). Nothing else ever runs here: no models, no call logic, so
the pjmedia clock thread never waits for the GIL behind Python compute.

Threads:
- the main thread created the library (`libCreate`), pumps `libHandleEvents`, reads the socket and runs
  every SIP callback (`threadCnt=0`);
- pjmedia's clock thread calls `FramePort.onFrameRequested/onFrameReceived` every 20 ms for every call.
  Those callbacks touch only a deque and the socket (non-blocking), never pjsua2 objects.

pjsua2 traps handled here (../shared/notes/telephony.md §4): ports are destroyed explicitly before their
last reference goes, no `Call` reference survives `libDestroy`, `getInfo()` results are bound to a name
before iterating, and frame buffers are read through ctypes rather than the SWIG iterator.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import logging
import os
import select
import socket
import sys
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import pjsua2 as pj

from telephony import ipc
from telephony.dispositions import LocalCause
from telephony.frames import frame_bytes

log = logging.getLogger("telephony.worker")

HANDLE_EVENTS_MS = 5
HOUSEKEEPING_S = 0.1
PJ_ETOOMANY = 70010  # makeCall: every pjsua call slot is taken
SLOT_WAIT_S = 2.0  # a just-ended call can hold its slot a little longer (CANCEL/487): retry makeCall meanwhile
SHUTDOWN_GRACE_S = 2.0
CONTROL_SEND_TIMEOUT_S = 5.0
DTMF_IS_UPDATE = 1  # pjmedia_stream_dtmf_event flags (not exported by the SWIG module)
MAX_CALLER_ID_ACCOUNTS = 6  # pjsua allows 8 accounts; one is the default account


def vec_bytes(bv: Any) -> bytes:
    """Copy a SWIG `ByteVector` (std::vector<uint8_t>) in ~5 µs instead of ~430 µs via its iterator."""
    addr = int(bv.this)
    begin = ctypes.c_void_p.from_address(addr).value
    end = ctypes.c_void_p.from_address(addr + 8).value
    return ctypes.string_at(begin, end - begin) if begin and end and end > begin else b""


# vec_bytes relies on the libstdc++ vector layout: refuse to run if that ever changes.
assert vec_bytes(pj.ByteVector(b"\x01\x02\x03")) == b"\x01\x02\x03", "unexpected std::vector layout"


@contextlib.contextmanager
def _output_silenced() -> Iterator[None]:
    """pjlib prints to stdout at default verbosity until libInit applies our log level."""
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


class Link:
    """The worker's end of the socket. Audio never blocks (dropped if main is stuck); control does."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        self.audio_dropped = 0
        self.broken = False

    def send_audio(self, msg: bytes) -> None:
        try:
            self.sock.send(msg)
        except (BlockingIOError, ConnectionError):
            self.audio_dropped += 1

    def send_event(self, obj: dict[str, Any]) -> None:
        """Blocks (bounded) rather than drop an event; a main process that stops reading breaks the link.

        Never raises: it runs inside pjsua2 callbacks, where an exception would abort the process.
        """
        msg = ipc.encode_control(obj)
        deadline = time.monotonic() + CONTROL_SEND_TIMEOUT_S
        while not self.broken:
            try:
                self.sock.send(msg)
                return
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.error("main process stopped reading control events; leaving")
                    self.broken = True
                else:
                    select.select([], [self.sock], [], left)
            except OSError:
                self.broken = True

    def receive(self) -> list[bytes] | None:
        """Every datagram waiting now; None once the main process has gone."""
        out: list[bytes] = []
        while True:
            try:
                msg = self.sock.recv(ipc.MAX_DATAGRAM)
            except BlockingIOError:
                return out
            except ConnectionError:
                return None
            if not msg:
                return None
            out.append(msg)


class FramePort(pj.AudioMediaPort):  # type: ignore[misc]
    """One call's frame tap on the conference bridge: plays queued frames, forwards what arrives."""

    def __init__(self, link: Link, call_id: int, sample_rate_hz: int, playout_max_frames: int) -> None:
        super().__init__()
        self.link = link
        self.call_id = call_id
        self.frame_size = frame_bytes(sample_rate_hz)
        self.silence = pj.ByteVector(bytes(self.frame_size))
        self.tx: deque[tuple[int, Any]] = deque(maxlen=playout_max_frames)  # full: oldest dropped
        self.tx_received = 0
        self.played_seq = 0
        self.rx_seq = 0
        self.closed = False
        fmt = pj.MediaFormatAudio()
        fmt.type = pj.PJMEDIA_TYPE_AUDIO
        fmt.init(pj.PJMEDIA_FORMAT_PCM, sample_rate_hz, 1, 20000, 16)
        self.createPort(f"call{call_id}", fmt)

    def enqueue(self, seq: int, pcm: bytes) -> None:
        if len(pcm) == self.frame_size:
            self.tx.append((seq, pj.ByteVector(pcm)))  # built here, not on the clock thread
            self.tx_received += 1

    def flush(self) -> int:
        dropped = len(self.tx)
        self.tx.clear()
        return dropped

    def onFrameRequested(self, frame: Any) -> None:  # clock thread
        try:
            seq, buf = self.tx.popleft()
        except IndexError:
            seq, buf = 0, self.silence
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = buf
        frame.size = self.frame_size
        self.played_seq = seq

    def onFrameReceived(self, frame: Any) -> None:  # clock thread
        if self.closed:
            return
        pcm = b""
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size == self.frame_size:
            pcm = vec_bytes(frame.buf)
        self.rx_seq += 1
        tick = ipc.RxTick(
            self.call_id,
            self.rx_seq,
            time.monotonic(),
            self.played_seq,
            len(self.tx),
            self.tx_received,
            pcm if len(pcm) == self.frame_size else b"",
        )
        self.link.send_audio(ipc.encode_rx(tick))

    def close(self) -> None:
        """Destroy the C++ port now, under its lock; dropping the last reference instead can segfault."""
        if not self.closed:
            self.closed = True
            self.__swig_destroy__(self)


class WorkerCall(pj.Call):  # type: ignore[misc]
    def __init__(self, worker: Worker, account: pj.Account, call_id: int) -> None:
        super().__init__(account)
        self.worker = worker
        self.call_id = call_id
        self.port: FramePort | None = None
        self.placed_at = time.monotonic()
        self.answered_at: float | None = None
        self.local_cause: LocalCause | None = None
        self.remote_responded = False
        self.media_index = -1
        self.codec = ""
        self.rx_packets = 0
        self.media_stats: dict[str, int] = {}
        self.rx_changed_at = time.monotonic()
        self.sent_states: set[str] = set()
        self.last_dtmf_timestamp = -1

    def emit_state(self, state: str, sip_status: int = 0) -> None:
        if state not in self.sent_states:
            self.sent_states.add(state)
            self.worker.emit({"ev": "state", "call_id": self.call_id, "state": state, "sip_status": sip_status})

    @staticmethod
    def _received(event: Any) -> bool:
        """Whether a SIP event was caused by a message from the far end (not a local timer or error)."""
        return bool(event.type == pj.PJSIP_EVENT_TSX_STATE and event.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG)

    def onCallTsxState(self, prm: Any) -> None:
        if self._received(prm.e) and prm.e.body.tsxState.tsx.method == "INVITE":
            self.remote_responded = True
            if prm.e.body.tsxState.tsx.statusCode == 100:
                self.emit_state("trying", 100)

    def onCallState(self, prm: Any) -> None:
        # A final response that arrives first (486 without 100 Trying, a 407 challenge) disconnects the call
        # before onCallTsxState sees it: this event is then the only trace of the far end's answer.
        if self._received(prm.e):
            self.remote_responded = True
        ci = self.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_EARLY:
            self.remote_responded = True
            self.emit_state("early_media" if ci.lastStatusCode == 183 else "ringing", ci.lastStatusCode)
        elif ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.answered_at = self.rx_changed_at = time.monotonic()
            self.emit_state("answered", 200)
        elif ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.finish(ci.lastStatusCode, ci.lastReason)

    def onCallMediaState(self, prm: Any) -> None:
        ci = self.getInfo()
        for mi in ci.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.media_index = mi.index
                self.codec = self.stream_codec(mi.index)
                self.connect(self.getAudioMedia(mi.index))

    def stream_codec(self, media_index: int) -> str:
        try:
            info = self.getStreamInfo(media_index)
        except pj.Error:
            return ""
        return f"{info.codecName}/{info.codecClockRate}"

    def connect(self, call_media: Any) -> None:
        w = self.worker
        if self.port is None:
            self.port = FramePort(w.link, self.call_id, w.sample_rate_hz, w.playout_max_frames)
        self.port.startTransmit(call_media)
        call_media.startTransmit(self.port)

    def onDtmfEvent(self, prm: Any) -> None:
        """pjsua2 2.15 reports incoming digits here (start, updates, end), not in onDtmfDigit."""
        if prm.flags & DTMF_IS_UPDATE or prm.timestamp == self.last_dtmf_timestamp:
            return
        self.last_dtmf_timestamp = prm.timestamp
        self.worker.emit({"ev": "dtmf", "call_id": self.call_id, "digit": prm.digit})

    def end(self, cause: LocalCause) -> None:
        """Hang up (BYE, or CANCEL while ringing); the DISCONNECTED callback reports the outcome."""
        if self.local_cause is None:
            self.local_cause = cause
        try:
            self.hangup(pj.CallOpParam(True))
        except pj.Error:
            pass  # already disconnecting: the DISCONNECTED callback still follows

    def finish(self, sip_status: int, reason: str) -> None:
        if self.port is not None:
            self.port.close()
        now = time.monotonic()
        self.worker.emit(
            {
                "ev": "ended",
                "call_id": self.call_id,
                "sip_status": 200 if self.answered_at is not None else sip_status,
                "reason": self.local_cause or reason,
                "answered": self.answered_at is not None,
                "local_cause": self.local_cause,
                "remote_responded": self.remote_responded,
                "duration_s": round(now - self.answered_at, 3) if self.answered_at else 0.0,
                "setup_s": round((self.answered_at or now) - self.placed_at, 3),
                "media": self.media_stats,
                "codec": self.codec,
            }
        )
        self.worker.retire(self.call_id)

    def check_timeouts(self, now: float, ring_timeout_s: float, media_timeout_s: float) -> None:
        if self.local_cause is not None:
            return
        if self.answered_at is None:
            if now - self.placed_at > ring_timeout_s:
                self.end("ring_timeout")
            return
        packets = self.rx_packet_count()
        if packets != self.rx_packets:
            self.rx_packets, self.rx_changed_at = packets, now
        elif now - self.rx_changed_at > media_timeout_s:
            self.end("media_timeout")

    def rx_packet_count(self) -> int:
        """Inbound RTP packets so far; also keeps the call's last media statistics for its end report."""
        if self.media_index < 0:
            return 0
        try:
            stat = self.getStreamStat(self.media_index)
        except pj.Error:
            return self.rx_packets
        rx, jb = stat.rtcp.rxStat, stat.jbuf
        self.media_stats = {
            "rx_packets": int(rx.pkt),
            "rx_lost": int(rx.loss),
            "tx_packets": int(stat.rtcp.txStat.pkt),
            "jb_discarded": int(jb.discard),
            "jb_lost": int(jb.lost),
            "jb_empty": int(jb.empty),
            "jb_avg_delay_ms": int(jb.avgDelayMsec),
        }
        return int(rx.pkt)


class WorkerAccount(pj.Account):  # type: ignore[misc]
    def __init__(self, worker: Worker, name: str) -> None:
        super().__init__()
        self.worker = worker
        self.name = name

    def onRegState(self, prm: Any) -> None:
        self.worker.emit({"ev": "reg", "account": self.name, "code": int(prm.code), "expires_s": int(prm.expiration)})


class Worker:
    def __init__(self, link: Link, settings: dict[str, Any]) -> None:
        self.link = link
        self.settings = settings
        self.sample_rate_hz = int(settings["sample_rate_hz"])
        self.playout_max_frames = int(settings["playout_max_frames"])
        with _output_silenced():
            self.ep = pj.Endpoint()
            self.ep.libCreate()
        self.calls: dict[int, WorkerCall] = {}
        self.retired: list[WorkerCall] = []
        self.waiting: list[tuple[float, dict[str, Any]]] = []  # (give up at, call command): no free slot yet
        self.accounts: dict[str, WorkerAccount] = {}
        self.local_hostport = ""
        self.running = True

    def emit(self, obj: dict[str, Any]) -> None:
        self.link.send_event(obj)

    # -- setup -------------------------------------------------------------------------------------

    def start(self) -> None:
        s, acc = self.settings, self.settings["account"]
        self.ep.libInit(self.endpoint_config())
        tc = pj.TransportConfig()
        tc.port = int(s["sip_port"])
        tc.boundAddress = acc["host"]
        tc.publicAddress = acc["public_host"] or acc["host"]
        tid = self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
        self.local_hostport = self.ep.transportGetInfo(tid).localName
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        self.set_codecs(list(s["codecs"]))
        self.account_for(None)

    def endpoint_config(self) -> Any:
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0  # we pump libHandleEvents: every SIP callback runs on this thread
        cfg.uaConfig.maxCalls = int(self.settings["max_calls"])
        cfg.uaConfig.userAgent = "callcenter"
        med = cfg.medConfig
        med.clockRate = med.sndClockRate = self.sample_rate_hz
        med.audioFramePtime = 20
        med.ecTailLen = 0  # no echo canceller: we are not a handset
        med.noVad = True  # keep sending RTP in silence (keeps NAT and media timers alive)
        level = int(os.environ.get("CALLCENTER_PJSIP_LOG_LEVEL", "0"))  # SIP logs carry phone numbers
        cfg.logConfig.level = cfg.logConfig.consoleLevel = level
        cfg.logConfig.msgLogging = 1 if level >= 4 else 0
        return cfg

    def set_codecs(self, preferred: list[str]) -> None:
        for codec in self.ep.codecEnum2():
            cid = codec.codecId
            prio = 255 - preferred.index(cid) if cid in preferred else 0
            self.ep.codecSetPriority(cid, prio)

    def account_for(self, caller_id: str | None) -> WorkerAccount:
        """The default account, or a non-registering one whose From carries `caller_id`."""
        key = caller_id or ""
        if key in self.accounts:
            return self.accounts[key]
        if caller_id and len(self.accounts) > MAX_CALLER_ID_ACCOUNTS:
            return self.accounts[""]
        acc = self.settings["account"]
        domain = acc["domain"] or self.local_hostport
        cfg = pj.AccountConfig()
        user = caller_id or acc["user"]
        display = caller_id or acc["display_name"]
        cfg.idUri = (f'"{display}" ' if display else "") + f"<sip:{user}@{domain}>"
        if acc["registrar_uri"] and not caller_id:
            cfg.regConfig.registrarUri = acc["registrar_uri"]
            cfg.regConfig.timeoutSec = int(acc["register_expires_s"])
            cfg.regConfig.retryIntervalSec = 5
        if acc["auth_username"]:
            cfg.sipConfig.authCreds.append(
                pj.AuthCredInfo("digest", acc["auth_realm"], acc["auth_username"], 0, acc["auth_password"] or "")
            )
        if acc["outbound_proxy"]:
            cfg.sipConfig.proxies.append(acc["outbound_proxy"])
        tc = cfg.mediaConfig.transportConfig
        tc.port = int(self.settings["rtp_port"])
        tc.portRange = int(self.settings["rtp_port_range"])
        tc.boundAddress = acc["host"]
        tc.publicAddress = acc["public_host"] or acc["host"]
        account = WorkerAccount(self, "caller_id" if caller_id else "default")
        account.create(cfg, not caller_id)
        self.accounts[key] = account
        return account

    # -- commands ----------------------------------------------------------------------------------

    def handle(self, msg: bytes) -> None:
        kind = ipc.kind(msg)
        if kind == ipc.TX_AUDIO:
            call_id, seq, pcm = ipc.decode_tx(msg)
            call = self.calls.get(call_id)
            if call is not None and call.port is not None:
                call.port.enqueue(seq, pcm)
        elif kind == ipc.CONTROL:
            self.command(ipc.decode_control(msg))

    def command(self, cmd: dict[str, Any]) -> None:
        op, call = cmd.get("op"), self.calls.get(int(cmd.get("call_id", -1)))
        if op == "call":
            self.place(cmd)
        elif op == "shutdown":
            self.running = False
        elif call is None:
            if op == "hangup":
                self.drop_waiting(int(cmd.get("call_id", -1)))
            return  # the call already ended; its "ended" event is on its way
        elif op == "hangup":
            call.end("hangup")
        elif op == "flush":
            dropped = call.port.flush() if call.port else 0
            self.emit({"ev": "flushed", "call_id": call.call_id, "frames": dropped})
        elif op == "dtmf":
            self.send_dtmf(call, str(cmd["digits"]))

    def place(self, cmd: dict[str, Any], give_up_at: float | None = None) -> None:
        give_up_at = time.monotonic() + SLOT_WAIT_S if give_up_at is None else give_up_at
        call_id = int(cmd["call_id"])
        call = WorkerCall(self, self.account_for(cmd.get("caller_id")), call_id)
        prm = pj.CallOpParam(True)
        prm.opt.audioCount, prm.opt.videoCount = 1, 0
        for name, value in (cmd.get("headers") or {}).items():
            header = pj.SipHeader()
            header.hName, header.hValue = str(name), str(value)
            prm.txOption.headers.append(header)
        try:
            call.makeCall(str(cmd["to"]), prm)
        except pj.Error as exc:
            # The main process counts a slot free once a call has ended; pjsua may hold it a moment longer (a
            # CANCELed INVITE waits for its 487). Try again on the next loop turns until SLOT_WAIT_S has passed.
            if exc.status == PJ_ETOOMANY and time.monotonic() < give_up_at:
                self.waiting.append((give_up_at, cmd))
                return
            log.warning("makeCall failed: status=%s", exc.status)
            call.local_cause = "error"
            self.emit(
                {
                    "ev": "ended", "call_id": call_id, "sip_status": 0,
                    "reason": f"error: {exc.reason}", "answered": False, "local_cause": "error",
                    "remote_responded": False, "duration_s": 0.0, "setup_s": 0.0,
                }
            )  # fmt: skip
            return
        self.calls[call_id] = call
        call.emit_state("calling")

    def drop_waiting(self, call_id: int) -> None:
        """A call hung up before it got a slot: it ends without ever being dialed."""
        kept = [(t, c) for t, c in self.waiting if int(c["call_id"]) != call_id]
        if len(kept) == len(self.waiting):
            return
        self.waiting = kept
        self.emit(
            {
                "ev": "ended", "call_id": call_id, "sip_status": 0, "reason": "hangup", "answered": False,
                "local_cause": "hangup", "remote_responded": False, "duration_s": 0.0, "setup_s": 0.0,
            }
        )  # fmt: skip

    def send_dtmf(self, call: WorkerCall, digits: str) -> None:
        try:
            call.dialDtmf(digits)  # RFC 4733 telephone-events
        except pj.Error as exc:
            self.emit({"ev": "dtmf_failed", "call_id": call.call_id, "reason": exc.reason})

    # -- loop --------------------------------------------------------------------------------------

    def retire(self, call_id: int) -> None:
        call = self.calls.pop(call_id, None)
        if call is not None:
            self.retired.append(call)

    def purge(self) -> None:
        """Drop ended calls before any new call can reuse their pjsua slot (~Call clears the slot's data)."""
        if self.retired:
            self.retired.clear()

    def run(self) -> None:
        next_check = time.monotonic()
        while self.running:
            self.ep.libHandleEvents(HANDLE_EVENTS_MS)
            self.purge()
            waiting, self.waiting = self.waiting, []
            for give_up_at, cmd in waiting:
                self.place(cmd, give_up_at)
            messages = self.link.receive()
            if messages is None or self.link.broken:
                break  # main process gone: hang up and leave
            for msg in messages:
                self.handle(msg)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + HOUSEKEEPING_S
                self._check_timeouts(now)

    def _check_timeouts(self, now: float) -> None:
        for call in list(self.calls.values()):
            call.check_timeouts(now, self.settings["ring_timeout_s"], self.settings["media_timeout_s"])

    def shutdown(self) -> None:
        """Hang up, wait for DISCONNECTED, drop every Call and port, then destroy the library.

        Loops over calls live in helper methods: a loop variable left in this frame would keep a Call
        alive through libDestroy, and ~Call then aborts the process.
        """
        self._hang_up_all()
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while self.calls and time.monotonic() < deadline:
            self.ep.libHandleEvents(20)
        self._drop_calls()
        for name in list(self.accounts):
            self.accounts.pop(name).shutdown()
        gc.collect()
        self.ep.libDestroy()

    def _hang_up_all(self) -> None:
        for call in list(self.calls.values()):
            call.end("hangup")

    def _drop_calls(self) -> None:
        for call in self.calls.values():
            if call.port is not None:
                call.port.close()
        self.calls.clear()
        self.retired.clear()
        gc.collect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SIP/media worker (started by telephony.pool)")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--settings", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    sys.setswitchinterval(0.001)  # keep GIL hand-offs short for the clock thread
    link = Link(socket.socket(fileno=args.fd))
    worker = Worker(link, json.loads(args.settings))
    worker.start()
    link.send_event({"ev": "ready", "pid": os.getpid(), "sip": worker.local_hostport})
    try:
        worker.run()
    finally:
        worker.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
