"""Real SIP peers for the `sip` test tier: SIPp, baresip and kamailio as subprocesses on 127.0.0.1.

Every peer binds to loopback ports chosen by `tests.ports.free_port`, is started with `with Peer(...) as p:`
(the block begins once the peer listens on its SIP port, or raises `PeerError` within a bounded time) and
is stopped by PID on exit: SIGTERM, then SIGKILL of its whole process group after a grace period. Logs go
to files in the peer's own work directory so a failing test can show them.

Pure renderers (`render_*`) build the config files; they are unit-tested without starting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from tests.ports import free_port

LOOPBACK = "127.0.0.1"
SCENARIOS_DIR = Path(__file__).parent / "scenarios"
BARESIP_MODULES_DIR = "/usr/lib/baresip/modules"
BARESIP_RTP_PORTS = 10
KAMAILIO_MODULES_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
# Users and passwords are pasted into kamailio.cfg string literals: keep them to characters that need no escaping.
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9._~-]+")


class PeerError(RuntimeError):
    """A peer did not start, did not finish in time, or produced no usable output."""


# --- processes ------------------------------------------------------------------------------------------


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        for fd in fd_dir.iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return inodes


def bound_by(pid: int, port: int, proto: str = "udp") -> bool:
    """True when process `pid` holds a socket bound to 127.0.0.1:`port` (tcp: listening)."""
    wanted = f"0100007F:{port:04X}"
    inodes = _socket_inodes(pid)
    try:
        table = Path(f"/proc/{pid}/net/{proto}").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):  # it has exited meanwhile
        return False
    for line in table.splitlines()[1:]:
        cols = line.split()
        listening = proto == "udp" or cols[3] == "0A"
        if cols[1] == wanted and listening and cols[9] in inodes:
            return True
    return False


class PeerProcess:
    """One peer subprocess in its own session; a context manager that starts it and always stops it."""

    name = "peer"
    start_timeout_s = 10.0
    stop_grace_s = 3.0

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.output_path = workdir / f"{self.name}.out"
        self.proc: subprocess.Popen[bytes] | None = None

    # Subclasses provide these two.
    def argv(self) -> list[str]:
        raise NotImplementedError

    def is_ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> Self:
        argv = self.argv()
        if shutil.which(argv[0]) is None:
            raise PeerError(f"{argv[0]} is not installed: run `make deps-debian`")
        with self.output_path.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGKILL reaches kamailio's children too
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.pid_exited():
                raise PeerError(f"{self.name} exited with {self.returncode} while starting\n{self.output()}")
            if self.is_ready():
                return
            time.sleep(0.05)
        self.stop()
        raise PeerError(f"{self.name} not ready within {self.start_timeout_s} s\n{self.output()}")

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise PeerError(f"{self.name} was never started")
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    def pid_exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def wait(self, timeout_s: float) -> int:
        """The exit code once the peer ends by itself; `PeerError` (after stopping it) if it runs longer."""
        if self.proc is None:
            raise PeerError(f"{self.name} was never started")
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise PeerError(f"{self.name} still running after {timeout_s} s\n{self.diagnostics()}") from None

    def stop(self) -> int | None:
        """SIGTERM the peer; SIGKILL its process group if it is still up after `stop_grace_s`. Idempotent."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_grace_s)
            except subprocess.TimeoutExpired:
                # The leader is not reaped yet, so its group id is still ours: this reaches only its processes.
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=self.stop_grace_s)

    def output(self, tail_chars: int = 4000) -> str:
        """The tail of the peer's stdout/stderr."""
        try:
            return self.output_path.read_text(errors="replace")[-tail_chars:]
        except FileNotFoundError:
            return ""

    def diagnostics(self) -> str:
        return f"--- {self.name} output ({self.output_path}) ---\n{self.output()}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- SIPp -----------------------------------------------------------------------------------------------


def scenario_path(scenario: str | Path) -> Path:
    """A scenario name from `scenarios/` ("busy_486") or a path to any scenario file."""
    path = Path(scenario)
    if path.suffix != ".xml":
        path = SCENARIOS_DIR / f"{scenario}.xml"
    if not path.is_file():
        raise PeerError(f"no SIPp scenario at {path}")
    return path


class Sipp(PeerProcess):
    """SIPp running one call of a scenario: a UAS by default, a UAC when `remote` ("host:port") is given.

    `play_wav` becomes `play.ul` (raw u-law) in the work directory, which `<exec rtp_stream="play.ul,...">`
    finds there. `pause_ms` (`-d`) is the length of every `<pause/>` without its own duration.
    """

    name = "sipp"

    def __init__(
        self,
        scenario: str | Path,
        port: int,
        media_port: int,
        *,
        workdir: Path,
        play_wav: Path | None = None,
        pause_ms: int = 0,
        rtp_echo: bool = False,
        remote: str | None = None,
        service: str = "service",
        keys: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(workdir)
        self.scenario = scenario_path(scenario)
        self.port, self.media_port = port, media_port
        self.pause_ms, self.rtp_echo = pause_ms, rtp_echo
        self.remote, self.service = remote, service
        self.keys = dict(keys or {})
        self.extra_args = list(extra_args)
        self.error_log = workdir / "errors.log"
        self.message_log = workdir / "messages.log"
        if play_wav is not None:
            to_ulaw(play_wav, workdir / "play.ul")

    @property
    def uri(self) -> str:
        """Where to call this SIPp UAS."""
        return f"sip:{self.service}@{LOOPBACK}:{self.port}"

    def argv(self) -> list[str]:
        argv = ["sipp", "-sf", str(self.scenario)]
        argv += [self.remote] if self.remote else []
        argv += ["-i", LOOPBACK, "-p", str(self.port), "-mi", LOOPBACK, "-mp", str(self.media_port)]
        argv += ["-m", "1", "-nostdin", "-d", str(self.pause_ms), "-s", self.service]
        argv += ["-trace_err", "-error_file", str(self.error_log)]
        argv += ["-trace_msg", "-message_file", str(self.message_log)]
        argv += ["-rtp_echo"] if self.rtp_echo else []
        for key, value in self.keys.items():
            argv += ["-key", key, value]
        return argv + self.extra_args

    def is_ready(self) -> bool:
        return bound_by(self.pid, self.port)

    def errors(self) -> str:
        """SIPp's log of unexpected messages and aborted calls (empty when the scenario went as written)."""
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def messages(self) -> str:
        """Every SIP message SIPp sent and received."""
        return self.message_log.read_text(errors="replace") if self.message_log.exists() else ""

    def diagnostics(self) -> str:
        return (
            f"--- sipp {self.scenario.name} exit {self.returncode} ---\n"
            f"--- errors ({self.error_log}) ---\n{self.errors()[-4000:]}\n"
            f"--- messages ({self.message_log}) ---\n{self.messages()[-6000:]}"
        )


# --- a bare RTP endpoint ----------------------------------------------------------------------------------


def _ulaw_table() -> npt.NDArray[np.int16]:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 7, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype(np.int16)


ULAW_TO_PCM = _ulaw_table()


@dataclass(frozen=True)
class RtpPacket:
    arrival_s: float  # time.monotonic()
    payload_type: int
    seq: int
    payload: bytes


class RtpEndpoint:
    """A UDP socket on 127.0.0.1 that records every RTP packet it receives (in a thread) and can send.

    Stands in for the caller's media in scenario self-tests: put `port` into the caller's SDP.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.packets: list[RtpPacket] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((LOOPBACK, port))
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, name=f"rtp-{port}", daemon=True)

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(2048)
            except TimeoutError:
                continue
            if len(data) >= 12 and data[0] >> 6 == 2:
                header_len = 12 + 4 * (data[0] & 0x0F)
                seq = int.from_bytes(data[2:4], "big")
                self.packets.append(RtpPacket(time.monotonic(), data[1] & 0x7F, seq, data[header_len:]))

    def send(self, dest_port: int, seq: int, payload: bytes, payload_type: int = 0) -> None:
        header = bytes([0x80, payload_type]) + seq.to_bytes(2, "big") + (seq * 160).to_bytes(4, "big")
        ssrc = (12345).to_bytes(4, "big")
        self._sock.sendto(header + ssrc + payload, (LOOPBACK, dest_port))

    def pcmu_audio(self) -> npt.NDArray[np.int16]:
        """The PCMU payloads received so far, decoded, in arrival order."""
        payload = b"".join(p.payload for p in self.packets if p.payload_type == 0)
        return ULAW_TO_PCM[np.frombuffer(payload, dtype=np.uint8)]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._sock.close()


# --- baresip --------------------------------------------------------------------------------------------


def render_baresip_config(
    *, port: int, rtp_ports: tuple[int, int], audio_source: Path, snd_dir: Path, ctrl_port: int | None
) -> str:
    lines = [
        "poll_method epoll",
        f"sip_listen {LOOPBACK}:{port}",
        f"net_interface {LOOPBACK}",  # "lo" fails: "could not get IPv4 address"
        f"rtp_ports {rtp_ports[0]}-{rtp_ports[1]}",
        "rtp_timeout 0",
        f"audio_source aufile,{audio_source}",
        "audio_player aufile,/dev/null",
        "audio_alert aufile,/dev/null",
        "audio_srate 8000",
        "audio_channels 1",
        "ausrc_srate 8000",
        "auplay_srate 8000",
        f"module_path {BARESIP_MODULES_DIR}",
        "module g711.so",
        "module aufile.so",
        "module sndfile.so",  # records what it sends (-enc.wav) and hears (-dec.wav)
        f"snd_path {snd_dir}",
        "module_app account.so",
        "module_app menu.so",  # the dial/hangup commands that ctrl_tcp forwards
    ]
    if ctrl_port is not None:
        lines += ["module_app ctrl_tcp.so", f"ctrl_tcp_listen {LOOPBACK}:{ctrl_port}"]
    return "\n".join(lines) + "\n"


def render_baresip_account(
    *, user: str, domain: str, register: bool, regint_s: int = 60, auth_pass: str | None = None
) -> str:
    """One `accounts` line: auto-answer, PCMU only; registers at `domain` when `register`."""
    params = [f"regint={regint_s if register else 0}", "answermode=auto", "audio_codecs=PCMU/8000/1"]
    if auth_pass is not None:
        params.append(f"auth_pass={auth_pass}")
    return f"<sip:{user}@{domain}>;" + ";".join(params) + "\n"


class Baresip(PeerProcess):
    """baresip 1.0 CLI: auto-answers, plays `wav_to_play` (8 kHz mono, padded so it never ends mid-test:
    baresip hangs up when its source file ends) and records what it hears into `rec/*-dec.wav`.

    With `registrar` ("127.0.0.1:PORT") it registers there as `user` and is reachable at `aor`.
    """

    name = "baresip"

    def __init__(
        self,
        workdir: Path,
        port: int,
        wav_to_play: Path,
        *,
        rtp_port: int | None = None,
        user: str = "customer",
        registrar: str | None = None,
        auth_pass: str | None = None,
        regint_s: int = 60,
        ctrl_port: int | None = None,
        lead_s: float = 1.0,
        tail_s: float = 60.0,
        max_lifetime_s: int = 600,
    ) -> None:
        super().__init__(workdir)
        self.port, self.user, self.registrar, self.ctrl_port = port, user, registrar, ctrl_port
        self.max_lifetime_s = max_lifetime_s
        rtp_port = free_port(span=BARESIP_RTP_PORTS) if rtp_port is None else rtp_port
        self.snd_dir = workdir / "rec"
        self.snd_dir.mkdir(exist_ok=True)
        source = workdir / "source.wav"
        pad_wav(wav_to_play, source, lead_s=lead_s, tail_s=tail_s)
        (workdir / "config").write_text(
            render_baresip_config(
                port=port,
                rtp_ports=(rtp_port, rtp_port + BARESIP_RTP_PORTS - 1),
                audio_source=source,
                snd_dir=self.snd_dir,
                ctrl_port=ctrl_port,
            )
        )
        domain = registrar or f"{LOOPBACK}:{port}"
        account = render_baresip_account(
            user=user, domain=domain, register=registrar is not None, regint_s=regint_s, auth_pass=auth_pass
        )
        (workdir / "accounts").write_text(account)

    @property
    def aor(self) -> str:
        """The address to call: at the registrar when there is one, else baresip itself."""
        return f"sip:{self.user}@{self.registrar or f'{LOOPBACK}:{self.port}'}"

    def argv(self) -> list[str]:
        # -t: baresip quits by itself even if a crashed test run never stops it.
        return ["baresip", "-f", str(self.workdir), "-t", str(self.max_lifetime_s)]

    def is_ready(self) -> bool:
        ctrl_ready = self.ctrl_port is None or bound_by(self.pid, self.ctrl_port, "tcp")
        return bound_by(self.pid, self.port) and ctrl_ready

    def wait_for_output(self, pattern: str, timeout_s: float) -> re.Match[str]:
        """Wait until baresip's output matches the regular expression `pattern`."""
        return wait_for_text(self.output_path, pattern, timeout_s, self)

    def command(self, command: str, params: str = "", timeout_s: float = 5.0) -> dict[str, object]:
        """One ctrl_tcp command (netstring-framed JSON), e.g. `command("dial", "sip:x@127.0.0.1:5090")`."""
        if self.ctrl_port is None:
            raise PeerError("baresip was started without ctrl_port")
        return ctrl_tcp_command(self.ctrl_port, command, params, timeout_s)

    def recorded_wav(self, timeout_s: float = 5.0) -> Path:
        """The `*-dec.wav` sndfile wrote (what baresip heard), once it holds audio."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = sorted(self.snd_dir.glob("*-dec.wav"))
            if found and found[-1].stat().st_size > 44:
                return found[-1]
            time.sleep(0.1)
        raise PeerError(f"baresip recorded nothing in {self.snd_dir}\n{self.output()}")


def ctrl_tcp_command(port: int, command: str, params: str, timeout_s: float) -> dict[str, object]:
    """Send one command and return its response, skipping the call events baresip interleaves."""
    body = json.dumps({"command": command, "params": params, "token": "harness"}).encode()
    with socket.create_connection((LOOPBACK, port), timeout=timeout_s) as sock:
        sock.sendall(str(len(body)).encode() + b":" + body + b",")
        buffer = b""
        while True:
            head, sep, rest = buffer.partition(b":")
            if sep and head.isdigit() and len(rest) > int(head):
                message: dict[str, object] = json.loads(rest[: int(head)])
                buffer = rest[int(head) + 1 :]  # drop the payload and its trailing ","
                if message.get("response"):
                    return message
                continue
            chunk = sock.recv(65536)
            if not chunk:
                raise PeerError(f"ctrl_tcp closed the connection during {command!r}")
            buffer += chunk


# --- kamailio -------------------------------------------------------------------------------------------


def render_kamailio_cfg(port: int, users: Mapping[str, str], *, min_expires_s: int = 1) -> str:
    """Registrar + stateful proxy; REGISTER and initial INVITE from a user in `users` need digest auth.

    Users without a password (the test customer) register and call unauthenticated. Every outcome is
    logged as one NOTICE line: `REGISTERED user=...`, `CHALLENGE <method> user=...` (no credentials yet),
    `AUTH-FAILED <method> user=...` (wrong password), `AUTH-OK <method> user=...`.
    """
    for user, password in users.items():
        if not (_SAFE_TOKEN.fullmatch(user) and _SAFE_TOKEN.fullmatch(password)):
            raise ValueError(f"expected user and password of [A-Za-z0-9._~-], got {user!r}")
    cases = "".join(
        f'        case "{u}":\n            $var(pw) = "{p}";\n            break;\n' for u, p in users.items()
    )
    return (
        _KAMAILIO_CFG.replace("@PORT@", str(port))
        .replace("@MIN_EXPIRES@", str(min_expires_s))
        .replace("@MODULES@", KAMAILIO_MODULES_DIR)
        .replace("@PASSWORD_CASES@", cases)
    )


_KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=2
dns=no
rev_dns=no
auto_aliases=no
disable_tcp=yes
listen=udp:127.0.0.1:@PORT@
alias="127.0.0.1:@PORT@"

mpath="@MODULES@"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"

modparam("usrloc", "db_mode", 0)
modparam("rr", "enable_full_lr", 1)
# Tests use expiries of a few seconds to see re-registration; the default minimum (60 s) would stretch them.
modparam("registrar", "min_expires", @MIN_EXPIRES@)
modparam("registrar", "default_expires", 60)

request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    xlog("L_NOTICE", "REQUEST $rm user=$fU to=$tU ruri=$ru from=$si:$sp\\n");
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
        sl_send_reply("404", "Not here"); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
    route(AUTH);
    if (is_method("REGISTER")) {
        if (!save("location")) { sl_reply_error(); exit; }
        xlog("L_NOTICE", "REGISTERED user=$tU expires=$hdr(Expires) contact=$ct\\n");
        exit;
    }
    if (is_method("INVITE")) { record_route(); }
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    t_relay();
}

# The user whose password counts: the AOR being registered, or the caller of an initial request.
route[AUTH] {
    if (is_method("REGISTER")) { $var(user) = $tU; } else { $var(user) = $fU; }
    route(PASSWORD);
    if ($var(pw) == "") { return; }
    if (is_method("REGISTER")) {
        if (!pv_www_authenticate("$td", "$var(pw)", "0")) { $var(rc) = $rc; route(REJECT_AUTH); }
    } else if (!pv_proxy_authenticate("$fd", "$var(pw)", "0")) {
        $var(rc) = $rc;
        route(REJECT_AUTH);
    }
    if ($au != $var(user)) {
        xlog("L_NOTICE", "AUTH-MISMATCH $rm user=$var(user) auth_user=$au\\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    xlog("L_NOTICE", "AUTH-OK $rm user=$var(user)\\n");
    consume_credentials();
}

# auth_rc -5: no credentials yet (the normal first round); -2: wrong password; others: see the auth module.
route[REJECT_AUTH] {
    if ($var(rc) == -5) { $var(event) = "CHALLENGE"; } else { $var(event) = "AUTH-FAILED"; }
    xlog("L_NOTICE", "$var(event) $rm user=$var(user) auth_rc=$var(rc)\\n");
    if (is_method("REGISTER")) { www_challenge("$td", "0"); } else { proxy_challenge("$fd", "0"); }
    exit;
}

route[PASSWORD] {
    $var(pw) = "";
    switch ($var(user)) {
@PASSWORD_CASES@    }
}
"""


class Kamailio(PeerProcess):
    """kamailio 5.6 as registrar and stateful proxy with digest auth for `users` (no database)."""

    name = "kamailio"

    def __init__(self, workdir: Path, port: int, users: Mapping[str, str] | None = None) -> None:
        super().__init__(workdir)
        self.port = port
        self.users = dict({"robot": "secret"} if users is None else users)
        self.cfg_path = workdir / "kamailio.cfg"
        self.cfg_path.write_text(render_kamailio_cfg(port, self.users))

    @property
    def uri(self) -> str:
        return f"sip:{LOOPBACK}:{self.port}"

    @property
    def hostport(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def argv(self) -> list[str]:
        # -DD: foreground with children; -E: log to stderr; -Y: runtime dir of our own (no /run).
        rundir = self.workdir / "run"
        rundir.mkdir(exist_ok=True)
        pidfile = str(rundir / "kamailio.pid")
        return [
            "kamailio",
            "-f",
            str(self.cfg_path),
            "-DD",
            "-E",
            "-m",
            "32",
            "-M",
            "4",
            "-Y",
            str(rundir),
            "-P",
            pidfile,
        ]

    def is_ready(self) -> bool:
        return bound_by(self.pid, self.port)

    def log(self) -> str:
        return self.output_path.read_text(errors="replace")

    def registrations(self, user: str) -> int:
        """Successful REGISTERs of `user` that added or refreshed a binding (un-REGISTERs not counted)."""
        pattern = re.compile(rf"REGISTERED user={re.escape(user)} expires=(\S*) contact=(.*)")
        return sum(1 for m in pattern.finditer(self.log()) if not _is_unregister(m[1], m[2]))

    def count(self, event: str, method: str, user: str) -> int:
        """Log lines like `CHALLENGE REGISTER user=robot`.

        `event`: CHALLENGE, AUTH-FAILED, AUTH-OK or AUTH-MISMATCH; `method`: REGISTER or INVITE.
        """
        return len(re.findall(rf"{event} {method} user={re.escape(user)}\b", self.log()))

    def wait_for_log(self, pattern: str, timeout_s: float) -> re.Match[str]:
        return wait_for_text(self.output_path, pattern, timeout_s, self)


def _is_unregister(expires_header: str, contact: str) -> bool:
    return expires_header == "0" or bool(re.search(r"expires=0\b", contact)) or contact.strip() == "*"


def check_kamailio_cfg(cfg_path: Path, timeout_s: float = 20.0) -> subprocess.CompletedProcess[str]:
    """`kamailio -c`: parse the config and load its modules without starting."""
    return subprocess.run(
        ["kamailio", "-c", "-f", str(cfg_path)], capture_output=True, text=True, timeout=timeout_s, check=False
    )


# --- waiting on logs ------------------------------------------------------------------------------------


def wait_for_text(path: Path, pattern: str, timeout_s: float, peer: PeerProcess | None = None) -> re.Match[str]:
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout_s
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        if match := regex.search(text):
            return match
        if time.monotonic() >= deadline or (peer is not None and peer.pid_exited()):
            tail = peer.diagnostics() if peer is not None else text[-4000:]
            raise PeerError(f"{pattern!r} not seen in {path} within {timeout_s} s\n{tail}")
        time.sleep(0.05)


# --- audio helpers --------------------------------------------------------------------------------------


def _run(argv: list[str], timeout_s: float = 30.0) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise PeerError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")


def make_speech_wav(path: Path, text: str, rate_hz: int = 8000, voice: str = "en-us") -> Path:
    """Real speech-like test audio: espeak-ng, resampled by sox to `rate_hz` mono s16, peak at -3 dBFS."""
    raw = path.with_suffix(".espeak.wav")
    _run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text])
    _run(["sox", str(raw), "-r", str(rate_hz), "-c", "1", "-b", "16", "-e", "signed-integer", str(path), "norm", "-3"])
    raw.unlink()
    return path


def pad_wav(src: Path, dst: Path, *, lead_s: float, tail_s: float) -> Path:
    """Silence before and after (sox `pad`)."""
    _run(["sox", str(src), str(dst), "pad", f"{lead_s}", f"{tail_s}"])
    return dst


def to_ulaw(src: Path, dst: Path) -> Path:
    """Headerless 8 kHz u-law: SIPp 3.6.1's rtp_stream sends a .wav file's header bytes as audio."""
    _run(["sox", str(src), "-r", "8000", "-c", "1", "-t", "ul", str(dst)])
    return dst


def read_wav(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    """Mono s16 samples and the sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise PeerError(f"expected mono s16 in {path}, got {w.getnchannels()} ch x {w.getsampwidth()} B")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


def normalised_xcorr(reference: npt.ArrayLike, recording: npt.ArrayLike) -> tuple[float, int]:
    """Where `reference` best matches inside `recording`: (peak normalised correlation, lag in samples).

    The correlation at lag k is <ref, rec[k:k+n]> / (|ref| |rec[k:k+n]|), 1.0 for an exact (scaled) copy.
    A recording shorter than the reference is padded with silence, so missing audio lowers the score.
    """
    ref = np.asarray(reference, dtype=np.float64)
    rec = np.asarray(recording, dtype=np.float64)
    n = len(ref)
    if n == 0 or not np.any(ref):
        raise ValueError("expected a non-silent reference")
    rec = np.concatenate([rec, np.zeros(n)])
    size = 1 << (len(rec) + n - 1).bit_length()
    numerator = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(ref, size)), size)
    lags = len(rec) - n + 1
    numerator = numerator[:lags]
    energy = np.concatenate([[0.0], np.cumsum(rec**2)])
    window_energy = np.maximum(energy[n : n + lags] - energy[:lags], 0.0)
    denominator = np.sqrt(np.dot(ref, ref) * window_energy)
    # Near-silent windows: FFT rounding noise over a tiny denominator must not look like a match.
    valid = denominator > 1e-6 * np.sqrt(np.dot(ref, ref) * max(window_energy.max(), 1e-12))
    score = np.where(valid, numerator / np.where(valid, denominator, 1.0), 0.0)
    best = int(np.argmax(score))
    return float(score[best]), best


def _corr_at(x: npt.NDArray[np.float64], rec: npt.NDArray[np.float64], at: int) -> float:
    got = rec[at : at + len(x)] if at >= 0 else rec[:0]
    norm = float(np.linalg.norm(x) * np.linalg.norm(got)) if len(got) == len(x) else 0.0
    return float(np.dot(x, got)) / norm if norm else 0.0


@dataclass(frozen=True)
class SpeechMatch:
    corr: float  # energy-weighted mean of each voiced frame's correlation at its own alignment
    frame_loss: float  # share of voiced 20 ms frames with no good match (correlation < FRAME_FOUND)
    frames: int  # voiced frames compared
    misses: tuple[tuple[float, float, int], ...] = ()  # (time s, correlation, rms) of each frame not found


# A frame counts as arrived when it correlates >= 0.8 at its place. Codecs alone stay above that: the worst
# seen is G.722's first loud frame after silence (0.875, its ADPCM step size still adapting); PCMU >= 0.99.
FRAME_FOUND = 0.8


def speech_intact(
    reference: npt.ArrayLike, recording: npt.ArrayLike, rate_hz: int, *, slack_ms: int = 60
) -> SpeechMatch:
    """How intact `reference` arrived inside `recording`, tolerant of playout-time shifts only.

    A jitter buffer may play a concealment frame when a packet is late and stay 20 ms behind from then on: no
    audio is lost, but one correlation over the whole utterance drops to ~0.6. So each voiced 20 ms frame of
    the reference is scored at the alignment of the 100 ms starting with it, searched within `slack_ms` of
    where the previous frame was found, so the alignment follows shifts. Lost, garbled or missing frames still
    score low, and count in `frame_loss`.
    """
    ref = np.asarray(reference, dtype=np.float64)
    rec = np.asarray(recording, dtype=np.float64)
    _, lag = normalised_xcorr(ref, rec)
    frame, slack = rate_hz // 50, slack_ms * rate_hz // 1000
    block = 5 * frame  # 100 ms: long enough not to lock onto a neighbouring pitch period
    scores: list[float] = []
    weights: list[float] = []
    misses: list[tuple[float, float, int]] = []
    for start in range(0, len(ref) - frame + 1, frame):
        one = ref[start : start + frame]
        energy = float(np.dot(one, one))
        if energy < frame * 300.0**2:
            continue  # silence: nothing to find, and its position is unknowable
        previous = lag
        lo = max(0, lag + start - slack)
        window = rec[lo : lag + start + block + slack]
        if len(window) >= block and np.any(ref[start : start + block]):
            block_corr, at = normalised_xcorr(ref[start : start + block], window)
            if block_corr >= FRAME_FOUND:
                lag = lo + at - start  # follow a playout shift
        # The frame just before a shift still sits at the previous alignment; a jitter buffer shifts by whole
        # frames, which also covers the last frames of an utterance, where the block above is cut short.
        candidates = (lag, previous, previous + frame, previous - frame)
        score, best = max((_corr_at(one, rec, c + start), c) for c in candidates)
        if score >= FRAME_FOUND:
            lag = best
        if score < FRAME_FOUND:
            misses.append((round(start / rate_hz, 2), round(score, 3), int(np.sqrt(energy / frame))))
        scores.append(score)
        weights.append(energy)
    if not scores:
        raise ValueError("expected a reference with speech in it")
    corr = float(np.average(scores, weights=weights))
    return SpeechMatch(corr, len(misses) / len(scores), len(scores), tuple(misses))


# --- the robot's side of a test call (telephony's call API) ------------------------------------------------
# telephony is imported inside these helpers so that the peers above work even while it is being changed.


async def receive_audio(call: Any, max_s: float) -> npt.NDArray[np.int16]:
    """Everything the robot hears for `max_s` seconds or until the call ends, as one signal."""
    from telephony import CallEnded

    chunks: list[npt.NDArray[np.int16]] = []
    with contextlib.suppress(TimeoutError, CallEnded):
        async with asyncio.timeout(max_s):
            while True:
                chunks.append((await call.recv()).samples)
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


async def send_audio(call: Any, samples: npt.NDArray[np.int16], rate_hz: int) -> int:
    """Play `samples` into the call at wire pace (bounded playout buffer); stops early if the call ends.

    Returns the number of frames queued.
    """
    from telephony import CallEnded, split_frames

    sent = 0
    with contextlib.suppress(CallEnded):
        for frame in split_frames(samples, rate_hz):
            call.send(frame)
            sent += 1
            await call.wait_writable()
    return sent


async def wait_idle(pool: Any, timeout_s: float = 5.0) -> int:
    """`pool.active_calls()` once it reaches 0, or its value after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    # The pool offers no "idle" event to wait on; a bounded poll is fine in a test.
    while pool.active_calls() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return int(pool.active_calls())
