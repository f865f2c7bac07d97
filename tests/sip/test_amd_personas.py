"""Acceptance: answering-machine detection on real SIP calls to simulator personas (tests/sip/amd_personas.yaml).

The worker pool calls each persona — mailboxes with and without a beep, people with short and long hellos, in
English and Mandarin, all spoken by espeak-ng — four calls at a time, stays silent, and feeds every received
frame to `AnsweringMachineDetector`. Audio only: transcript cues are covered by tests/unit/test_amd.py.

Asserted: no person is classified as a machine (precision 1.0), machine recall >= 0.75, and every beep reported
ends within 40 ms of the simulator's (measured from the voice onset on each side, so the line's delay cancels
out). The figures in docs/amd.md come from the summary this test prints (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from session.amd import AmdResult, AnsweringMachineDetector
from telephony import CallEnded, PoolConfig, SipWorkerPool
from telephony.simulator import Persona, SimulatorProcess, Voicemail, load_personas
from telephony.simulator.audio import TRIM_LEVEL
from telephony.simulator.timeline import CallResult as SimCall
from tests.ports import free_port

pytestmark = pytest.mark.sip
PERSONAS = Path(__file__).with_name("amd_personas.yaml")
RATE_HZ = 8000
PARALLEL = 4
LISTEN_S = 10.0  # a mailbox's beep can come up to ~8 s after the answer; people are decided by 7 s
FRAME_S = 0.020


@dataclass
class Outcome:
    persona_id: str
    truth: str  # "human" | "machine"
    expects_beep: bool
    decision: str
    reason: str
    at_s: float
    beep_at_s: float | None
    onset_s: float | None  # when the far end's voice started, on our side of the line
    results: int  # how many results the detector returned


async def listen(pool: SipWorkerPool, uri: str, language: str) -> tuple[list[AmdResult], float | None]:
    """Call, feed the detector until it has decided (and heard the beep after `machine`), hang up.

    Also returns when the far end's voice started on our side: the first sample at or above the simulator's own
    trim level (its utterances start exactly there, and the line is digital silence before them).
    """
    call = await pool.place_call(uri)
    assert await asyncio.wait_for(call.wait_answered(), 15.0), f"{uri} was not answered"
    detector = AnsweringMachineDetector(language=language)
    results: list[AmdResult] = []
    onset_s: float | None = None
    n = 0
    with contextlib.suppress(CallEnded, TimeoutError):
        async with asyncio.timeout(LISTEN_S + 3.0):
            while n * FRAME_S < LISTEN_S and not _done(detector.result):
                frame = await call.recv()
                if onset_s is None:
                    onset_s = _first_loud_s(frame.samples, n * FRAME_S)
                result = detector.push_frame(frame, n * FRAME_S)
                n += 1
                if result is not None:
                    results.append(result)
    await call.hangup()
    return results, onset_s


def _first_loud_s(samples: npt.NDArray[np.int16], t_s: float) -> float | None:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= TRIM_LEVEL)
    return t_s + int(loud[0]) / RATE_HZ if loud.size else None


def _done(result: AmdResult) -> bool:
    return result.decision == "human" or result.beep_at_s is not None


def test_voicemail_and_human_personas_over_sip(tmp_path: Path) -> None:
    personas = load_personas(PERSONAS)
    heard, sim_calls = asyncio.run(_call_everyone(personas, tmp_path))
    outcomes = [_outcome(pid, personas[pid].voicemail, *heard[pid]) for pid in personas]
    summary = _summarise(outcomes, {c.persona_id: c for c in sim_calls})
    report = json.dumps(asdict(summary), indent=2)
    (tmp_path / "amd_summary.json").write_text(report)
    print(report)

    people_as_machines = [o.persona_id for o in outcomes if o.truth == "human" and o.decision == "machine"]
    assert not people_as_machines, f"people classified as machines: {people_as_machines}\n{report}"
    assert all(o.decision != "undecided" for o in outcomes), report
    assert summary.machine_recall >= 0.75, report
    missed_beeps = [o.persona_id for o in outcomes if o.expects_beep and o.decision == "machine" and not o.beep_at_s]
    assert not missed_beeps, f"machines whose beep was not reported: {missed_beeps}\n{report}"
    errors = [e for e in summary.beep_end_error_ms.values() if e is not None]
    assert errors and max(abs(e) for e in errors) <= 40, report


async def _call_everyone(
    personas: dict[str, Persona], tmp_path: Path
) -> tuple[dict[str, tuple[list[AmdResult], float | None]], list[SimCall]]:
    cfg = PoolConfig(max_calls=PARALLEL, sample_rate_hz=RATE_HZ, sip_port=0, rtp_port=free_port(span=40))
    gate = asyncio.Semaphore(PARALLEL)
    rtp_low = free_port(span=64)
    sim_ports = (rtp_low, rtp_low + 63)
    async with SimulatorProcess(PERSONAS, tmp_path / "sim", port=free_port(), rtp_ports=sim_ports) as sim:
        async with SipWorkerPool(cfg) as pool:

            async def one(pid: str) -> tuple[list[AmdResult], float | None]:
                async with gate:
                    return await listen(pool, sim.uri(pid), personas[pid].language)

            heard = await asyncio.gather(*(one(pid) for pid in personas))
        return dict(zip(personas, heard, strict=True)), await sim.wait_for_results(len(personas))


def _outcome(pid: str, voicemail: Voicemail | None, results: list[AmdResult], onset_s: float | None) -> Outcome:
    final = results[-1] if results else AmdResult("undecided", "no result", 0.0)
    decision = next((r for r in results if r.decision != "undecided"), final)
    return Outcome(
        persona_id=pid,
        truth="machine" if voicemail is not None else "human",
        expects_beep=voicemail is not None and voicemail.beep,
        decision=decision.decision,
        reason=decision.reason,
        at_s=decision.at_s,
        beep_at_s=final.beep_at_s,
        onset_s=onset_s,
        results=len(results),
    )


def _beep_error_ms(o: Outcome, sim: SimCall) -> float | None:
    """Detected (beep end - voice onset) minus the simulator's: the line's delay cancels out."""
    if o.beep_at_s is None or o.onset_s is None:
        return None
    sent_onset = sim.times("speech_start", turn=0)[0]
    sent_beep_end = sim.times("speech_end", turn=1)[0]
    return round(((o.beep_at_s - o.onset_s) - (sent_beep_end - sent_onset)) * 1000, 1)


@dataclass
class Summary:
    calls: int
    machines: int
    humans: int
    machine_precision: float
    machine_recall: float
    humans_as_machines: int
    decision_s_p50_human: float
    decision_s_p50_machine: float
    beeps_expected: int
    beeps_reported: int
    beep_end_error_ms: dict[str, float | None]
    outcomes: list[Outcome]


def _summarise(outcomes: list[Outcome], sims: dict[str, SimCall]) -> Summary:
    tp = sum(o.truth == "machine" and o.decision == "machine" for o in outcomes)
    fp = sum(o.truth == "human" and o.decision == "machine" for o in outcomes)
    fn = sum(o.truth == "machine" and o.decision != "machine" for o in outcomes)
    human_times = [o.at_s for o in outcomes if o.truth == "human"] or [0.0]
    machine_times = [o.at_s for o in outcomes if o.decision == "machine"] or [0.0]
    return Summary(
        calls=len(outcomes),
        machines=tp + fn,
        humans=len(outcomes) - tp - fn,
        machine_precision=round(tp / (tp + fp), 3) if tp + fp else 1.0,
        machine_recall=round(tp / (tp + fn), 3) if tp + fn else 0.0,
        humans_as_machines=fp,
        decision_s_p50_human=round(statistics.median(human_times), 2),
        decision_s_p50_machine=round(statistics.median(machine_times), 2),
        beeps_expected=sum(o.expects_beep for o in outcomes),
        beeps_reported=sum(o.beep_at_s is not None for o in outcomes),
        beep_end_error_ms={o.persona_id: _beep_error_ms(o, sims[o.persona_id]) for o in outcomes if o.expects_beep},
        outcomes=outcomes,
    )
