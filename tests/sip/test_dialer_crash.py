"""`kill -9` of a dialer process in the middle of a campaign, against the customer simulator over real SIP.

A real `callcenter dialer run` (the robot with its models, the SIP worker pool) dials eight simulated customers:
some answer and talk, some are busy, some do not answer. Once calls are in progress the dialer is killed with
SIGKILL; its SIP workers must notice and leave. A second dialer process is started on the same database and
finishes the campaign. Then, for every lead:

- the simulator received exactly as many INVITEs as the database has attempts that were dialed (none was dialed
  twice, none was dialed without a record);
- attempts are numbered 1..n with no gap, all ended, and the lead is done (nothing lost);
- the dispositions are exactly what the campaign's retry policy asks for, with at most one `lease_expired`
  attempt for a call the kill cut short.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
import yaml
from sqlalchemy import select

from storage import Database, migrate
from storage.models import AttemptState, CallAttempt, Campaign, CampaignStatus, Lead, LeadStatus
from telephony.ports import free_port
from telephony.simulator import SimulatorProcess

pytestmark = pytest.mark.sip

ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
RETRY = {
    "busy": {"times": 1, "after_s": 1},
    "no_answer": {"times": 1, "after_s": 1},
    "lease_expired": {"times": 2, "after_s": 1},
    "dialer_stopped": {"times": 2, "after_s": 1},
}
LEASE_S = 6.0
# persona id -> (how it answers, the dispositions a clean run gives it)
PERSONAS = {
    "talk-1": ("answer", ["answered"]),
    "talk-2": ("answer", ["answered"]),
    "talk-3": ("answer", ["answered"]),
    "talk-4": ("answer", ["answered"]),
    "busy-1": ("busy", ["busy", "busy"]),
    "busy-2": ("busy", ["busy", "busy"]),
    "ring-1": ("no_answer", ["no_answer", "no_answer"]),
    "ring-2": ("no_answer", ["no_answer", "no_answer"]),
}


def _personas_file(path: Path) -> Path:
    items = []
    for pid, (mode, _) in PERSONAS.items():
        item: dict[str, object] = {"id": pid, "language": "en", "answer": mode, "ring_s": 0.5}
        if mode == "answer":
            item["max_call_s"] = 12.0  # long enough for the kill to land mid-call
        if mode == "no_answer":
            item["ring_s"] = 1.0  # then 480
        items.append(item)
    path.write_text(yaml.safe_dump({"personas": items}), encoding="utf-8")
    return path


def _numbers() -> dict[str, str]:
    return {f"+1212555{i + 100:04d}": pid for i, pid in enumerate(PERSONAS)}


def _setup_database(url: str, numbers: dict[str, str]) -> None:
    migrate.upgrade(url)
    db = Database(url)
    try:
        with db.transaction() as s:
            campaign = Campaign(
                name="crash",
                script_id="insurance-en",
                language="en",
                status=CampaignStatus.RUNNING,
                calling_windows=ALWAYS_OPEN,
                retry_policy=RETRY,
                max_attempts=4,
                max_concurrent_calls=4,
                calls_per_second=4.0,
                dialogue_settings={"recording_notice": False},
            )
            s.add(campaign)
            s.flush()
            s.add_all(Lead(campaign_id=campaign.id, phone_e164=p) for p in numbers)
    finally:
        db.dispose()


def _start_dialer(tmp: Path, url: str, sim_port: int, users: Path, name: str) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "callcenter_cli",
        "dialer",
        "run",
        "--db-url",
        url,
        "--dial-plan",
        f"sip:{{user}}@127.0.0.1:{sim_port}",
        "--users",
        str(users),
        "--max-calls",
        "4",
        "--lease-s",
        str(LEASE_S),
        "--sip-port",
        str(free_port()),
        "--rtp-port",
        str(free_port(span=40)),
        "--recordings",
        str(tmp / "recordings"),
        "--phrases",
        str(tmp / "phrases"),
        "--no-detect-machines",
        "--window-margin-s",
        "0",
    ]
    with (tmp / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _attempts(url: str) -> list[tuple[str, CallAttempt]]:
    db = Database(url)
    try:
        with db.read() as s:
            rows = s.execute(select(Lead.phone_e164, CallAttempt).join(CallAttempt, CallAttempt.lead_id == Lead.id))
            return [(phone, attempt) for phone, attempt in rows]
    finally:
        db.dispose()


def _lead_statuses(url: str) -> dict[str, LeadStatus]:
    db = Database(url)
    try:
        with db.read() as s:
            return {phone: status for phone, status in s.execute(select(Lead.phone_e164, Lead.status))}
    finally:
        db.dispose()


def _wait(predicate: object, timeout_s: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the dialer exited ({proc.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_kill_9_mid_campaign_loses_no_lead_and_dials_no_attempt_twice(tmp_path: Path) -> None:
    numbers = _numbers()
    users = tmp_path / "users.json"
    users.write_text(json.dumps(numbers), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    _setup_database(url, numbers)
    personas = _personas_file(tmp_path / "personas.yaml")

    async def campaign() -> list[object]:
        low = free_port(span=80)
        async with SimulatorProcess(personas, tmp_path / "sim", port=free_port(), rtp_ports=(low, low + 79)) as sim:
            first = _start_dialer(tmp_path, url, sim.port, users, "dialer-1")
            try:
                dialing = lambda: sum(a.state == AttemptState.DIALING for _, a in _attempts(url)) >= 2  # noqa: E731
                await asyncio.to_thread(_wait, dialing, 180, "two calls in progress", first)
                workers = psutil.Process(first.pid).children(recursive=True)
                os.kill(first.pid, signal.SIGKILL)
                first.wait(10)
            finally:
                if first.poll() is None:
                    first.kill()
            _, alive = psutil.wait_procs(workers, timeout=15)
            assert alive == [], f"SIP workers outlived their dialer: {[p.pid for p in alive]}"

            second = _start_dialer(tmp_path, url, sim.port, users, "dialer-2")
            try:
                settled = lambda: all(  # noqa: E731
                    st not in (LeadStatus.QUEUED, LeadStatus.CALLING) for st in _lead_statuses(url).values()
                )
                await asyncio.to_thread(_wait, settled, 240, "every lead to be settled", second)
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(60)
            await asyncio.sleep(1.0)  # the simulator writes the last timelines
            return list(sim.results())

    results = asyncio.run(campaign())
    invites = Counter(r.persona_id for r in results)  # type: ignore[attr-defined]
    assert len({r.sip_call_id for r in results}) == len(results)  # type: ignore[attr-defined]

    attempts = _attempts(url)
    by_lead: dict[str, list[CallAttempt]] = {p: [] for p in numbers}
    for phone, attempt in attempts:
        by_lead[phone].append(attempt)
    assert any(a.disposition == "lease_expired" for _, a in attempts), "the kill did not land mid-call"
    for phone, pid in numbers.items():
        mine = sorted(by_lead[phone], key=lambda a: a.attempt_no)
        assert [a.attempt_no for a in mine] == list(range(1, len(mine) + 1)), pid
        assert all(a.state == AttemptState.ENDED for a in mine), pid
        dialed = [a for a in mine if a.started_at is not None]
        assert invites[pid] == len(dialed), (pid, invites[pid], [a.disposition for a in mine])
        cut = [a for a in mine if a.disposition == "lease_expired"]
        assert len(cut) <= 1, pid
        clean = [a.disposition for a in mine if a.disposition != "lease_expired"]
        assert clean == PERSONAS[pid][1], (pid, [a.disposition for a in mine])
    assert all(st == LeadStatus.DONE for st in _lead_statuses(url).values())
