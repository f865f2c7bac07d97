"""A supervised pool of SIP worker processes (`telephony.worker`), at most 4 calls each.

The pool starts one worker, grows up to `PoolConfig.max_workers` as calls need room, and replaces a worker
that dies. A dead worker is noticed the moment its socket closes (the kernel closes it with the process);
its calls end at once with disposition `media_worker_failed`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from telephony import ipc
from telephony.call import Call, CallResult
from telephony.config import PoolConfig
from telephony.dispositions import Disposition

log = logging.getLogger("telephony.pool")

READ_BATCH = 512  # datagrams per reader callback, so one busy worker cannot starve the loop


class PoolFull(Exception):
    """Every worker is at its call limit and the pool may not grow."""


class WorkerHandle:
    """The main process's end of one worker: its process, its socket and the calls it carries."""

    def __init__(self, index: int, cfg: PoolConfig, on_dead: Callable[[WorkerHandle, str], None]) -> None:
        self.index = index
        self.cfg = cfg
        self.calls: dict[int, Call] = {}
        self.pid = 0
        self.sip_hostport = ""
        self.registrations: list[dict[str, Any]] = []
        self.registered = asyncio.Event()
        self.alive = False
        self.tx_dropped = 0
        self._on_dead = on_dead
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending_control: deque[bytes] = deque()  # control is never dropped; drained by add_writer
        self._sock: socket.socket | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._exit_task: asyncio.Task[None] | None = None

    def forget(self, call: Call) -> None:
        self.calls.pop(call.call_id, None)

    @property
    def free_slots(self) -> int:
        return self.cfg.calls_per_worker - len(self.calls) if self.alive else 0

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for s in (ours, theirs):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, ipc.SOCKET_BUFFER_BYTES)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, ipc.SOCKET_BUFFER_BYTES)
        settings = json.dumps(self.cfg.worker_settings(self.index))
        fd = theirs.fileno()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "telephony.worker", "--fd", str(fd), "--settings", settings,
                pass_fds=(fd,), stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            theirs.close()
        self.pid = self._proc.pid
        ours.setblocking(False)
        self._sock = ours
        self.alive = True
        asyncio.get_running_loop().add_reader(ours, self._on_readable)
        self._exit_task = asyncio.create_task(self._watch_exit(), name=f"sip-worker-{self.index}-exit")
        await asyncio.wait_for(asyncio.shield(self._ready), self.cfg.worker_start_timeout_s)

    async def _watch_exit(self) -> None:
        assert self._proc is not None
        await self._proc.wait()
        self._die(f"exited with code {self._proc.returncode}")

    # -- sending -----------------------------------------------------------------------------------

    def send_audio(self, msg: bytes) -> None:
        if self._sock is None or not self.alive:
            return
        try:
            self._sock.send(msg)
        except BlockingIOError:
            self.tx_dropped += 1  # the worker is not keeping up: drop, never block the loop
        except OSError:
            self._die("socket error")

    def send_control(self, obj: dict[str, Any]) -> None:
        if self._sock is None or not self.alive:
            return
        self._pending_control.append(ipc.encode_control(obj))
        self._flush_control()

    def _flush_control(self) -> None:
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        while self._pending_control:
            try:
                self._sock.send(self._pending_control[0])
            except BlockingIOError:
                loop.add_writer(self._sock, self._flush_control)  # control is never dropped
                return
            except OSError:
                self._die("socket error")
                return
            self._pending_control.popleft()
        loop.remove_writer(self._sock)

    # -- receiving ---------------------------------------------------------------------------------

    def _on_readable(self) -> None:
        assert self._sock is not None
        for _ in range(READ_BATCH):
            try:
                msg = self._sock.recv(ipc.MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                msg = b""
            if not msg:
                self._die("socket closed")
                return
            self._dispatch(msg)

    def _dispatch(self, msg: bytes) -> None:
        if ipc.kind(msg) == ipc.RX_AUDIO:
            tick = ipc.decode_rx(msg)
            call = self.calls.get(tick.call_id)
            if call is not None:
                call.on_tick(tick)
            return
        ev = ipc.decode_control(msg)
        if "call_id" in ev:
            call = self.calls.get(int(ev["call_id"]))
            if call is not None:
                call.on_event(ev)
        elif ev["ev"] == "ready":
            self.sip_hostport = str(ev["sip"])
            if not self._ready.done():
                self._ready.set_result(None)
        elif ev["ev"] == "reg":
            self._on_registration(ev)

    def _on_registration(self, ev: dict[str, Any]) -> None:
        self.registrations.append(ev)
        if ev["account"] == "default" and 200 <= int(ev["code"]) < 300 and int(ev["expires_s"]) > 0:
            self.registered.set()
        log.info("worker %d registration: code=%s expires_s=%s", self.index, ev["code"], ev["expires_s"])

    # -- death and shutdown ------------------------------------------------------------------------

    def _die(self, why: str) -> None:
        if not self.alive and self._sock is None:
            return
        was_alive, self.alive = self.alive, False
        if self._sock is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._sock)
            loop.remove_writer(self._sock)
            self._sock.close()
            self._sock = None
        if not self._ready.done():
            self._ready.set_exception(RuntimeError(f"SIP worker {self.index} failed to start: {why}"))
        failed = CallResult(Disposition.MEDIA_WORKER_FAILED, 0, f"worker_failed: {why}", "system", False, 0.0, 0.0)
        for call in list(self.calls.values()):
            call.finish(failed)
        self.calls.clear()
        if was_alive:
            self._on_dead(self, why)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the worker to hang up and exit; kill it if it does not within `timeout_s`."""
        proc = self._proc
        if self.alive:
            self.send_control({"op": "shutdown"})
        self.alive = False  # a clean stop is not a death: no replacement
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), timeout_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._exit_task is not None:
            await self._exit_task
        self._die("stopped")


class SipWorkerPool:
    """Places calls through supervised pjsua2 worker processes.

    `async with SipWorkerPool(cfg) as pool: call = await pool.place_call(uri)`.
    """

    def __init__(self, cfg: PoolConfig) -> None:
        self.cfg = cfg
        self.workers: dict[int, WorkerHandle] = {}
        self.failures = 0
        self._call_ids = itertools.count(1)
        self._grow_lock = asyncio.Lock()
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._workers_changed = asyncio.Event()

    async def __aenter__(self) -> SipWorkerPool:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        await self._spawn(0)

    async def place_call(
        self,
        to: str,
        *,
        caller_id: str | None = None,
        headers: dict[str, str] | None = None,
        record_path: Path | None = None,
    ) -> Call:
        """Dial `to` (a SIP URI). Returns at once; follow the call through its events and waits."""
        if not to.startswith(("sip:", "sips:", "tel:")):
            raise ValueError(f"expected a sip:, sips: or tel: URI, got {to[:4]!r}...")
        worker = await self._worker_with_room()
        call = Call(
            next(self._call_ids),
            worker,
            self.cfg.sample_rate_hz,
            recv_queue_frames=self.cfg.recv_queue_frames,
            high_water_frames=self.cfg.playout_high_water_frames,
            record_path=record_path,
            on_end=worker.forget,
        )
        worker.calls[call.call_id] = call
        worker.send_control(
            {
                "op": "call",
                "call_id": call.call_id,
                "to": to,
                "caller_id": caller_id,
                "headers": headers or {},
            }
        )
        return call

    def active_calls(self) -> int:
        return sum(len(w.calls) for w in self.workers.values())

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers.values() if w.alive]

    async def wait_registered(self, timeout_s: float = 10.0) -> None:
        """Wait until every live worker's default account is registered (when a registrar is set)."""
        async with asyncio.timeout(timeout_s):
            for worker in list(self.workers.values()):
                await worker.registered.wait()

    async def wait_workers(self, count: int, timeout_s: float = 10.0) -> None:
        """Wait until `count` workers are alive (e.g. after a replacement)."""
        async with asyncio.timeout(timeout_s):
            while len(self.worker_pids()) < count:
                self._workers_changed.clear()
                await self._workers_changed.wait()

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in self.workers.values()))
        self.workers.clear()

    # -- growth and supervision --------------------------------------------------------------------

    async def _worker_with_room(self) -> WorkerHandle:
        async with self._grow_lock:
            if self.active_calls() >= self.cfg.max_calls:
                raise PoolFull(f"all {self.cfg.max_calls} call slots are busy")
            live = [w for w in self.workers.values() if w.free_slots > 0]
            if live:
                return max(live, key=lambda w: w.free_slots)  # spread calls: fewer per clock thread
            free_index = next((i for i in range(self.cfg.max_workers) if i not in self.workers), None)
            if free_index is None:
                raise PoolFull(f"all {self.cfg.max_calls} call slots are busy")
            return await self._spawn(free_index)

    async def _spawn(self, index: int) -> WorkerHandle:
        worker = WorkerHandle(index, self.cfg, self._on_worker_dead)
        self.workers[index] = worker
        try:
            await worker.start()
        except BaseException:
            self.workers.pop(index, None)
            await worker.stop(timeout_s=1.0)
            raise
        log.info("SIP worker %d started (pid %d)", index, worker.pid)
        self._workers_changed.set()
        return worker

    def _on_worker_dead(self, worker: WorkerHandle, why: str) -> None:
        if self._closing or self.workers.get(worker.index) is not worker:
            return
        self.failures += 1
        log.error("SIP worker %d (pid %d) died: %s; starting a replacement", worker.index, worker.pid, why)
        del self.workers[worker.index]
        self._workers_changed.set()
        task = asyncio.create_task(self._replace(worker.index), name=f"sip-worker-{worker.index}-replace")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _replace(self, index: int) -> None:
        async with self._grow_lock:
            if index in self.workers or self._closing:
                return
            try:
                await self._spawn(index)
            except Exception:
                # not fatal: place_call starts a worker on demand when it needs the room
                log.exception("replacement for SIP worker %d failed to start", index)
