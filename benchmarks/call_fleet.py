"""The simulated callers of a benchmark, in a process of their own (never the engine's event loop or core).

``CallFleet`` starts one spawned process that synthesizes every persona's lines once, before any call, then on
each ``run`` places ``lines`` of calls (each line: calls one after another, the first after its start delay) with
``SimulatedCaller``, the same caller ``closerr simulate`` uses, and returns what each caller measured. The process
pins itself to one core and raises its priority (when allowed) so that its 20 ms clock stays true while the
engine is saturated; it also reports its own event-loop lag, so a run whose measuring side fell behind is visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from benchmarks.stats import pct
from engine.simulator.caller import SimulatedCaller
from engine.simulator.persona import Persona, load_persona

FLEET_MAX_WAIT_S = 10.0  # a bot silent this long after the lead spoke has dropped the turn: the lead goes on


@dataclass(frozen=True)
class CallSpec:
    persona: str  # path of the persona file
    custom: dict[str, str]  # the stream's custom parameters (script, lead, baseline reply lines)
    start_delay_s: float = 0.0  # before this call, counted from the run's start (first call of a line only)


@dataclass
class CallOutcome:
    line: int
    persona: str
    call_id: str
    v2v_s: list[float] = field(default_factory=list)
    gaps: int = 0  # caller-side: bot audio ran out mid-speech (the phone would play a gap)
    lead_turns: int = 0
    cut_ins: int = 0  # the bot began speaking while the lead's turn went on (see SimulatedCaller)
    error: str | None = None
    started_s: float = 0.0  # since the run's start
    ended_s: float = 0.0


class BenchCaller(SimulatedCaller):
    """``SimulatedCaller`` that also counts playback starvation: the bot was speaking (the last frame played was
    voiced) and the next 20 ms tick found no audio to play. Natural utterance ends fade to silence first, so they
    do not count."""

    def __init__(self, persona: Persona, utterances: list[bytes], url: str, *, max_wait_s: float) -> None:
        super().__init__(persona, utterances, url, max_wait_s=max_wait_s)
        self.gaps = 0
        self._playing_voice = False

    async def _play_one(self) -> None:
        before = self._last_heard_voice
        buffered = any(isinstance(f, bytes) for f in itertools.islice(self._playback, 8))
        if self._playing_voice and not buffered:
            self.gaps += 1
        await super()._play_one()
        self._playing_voice = self._last_heard_voice != before


def _pin_and_prioritize() -> dict[str, Any]:
    info: dict[str, Any] = {}
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[-1]})
        info["caller_cpu"] = cpus[-1]
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
        info["caller_nice"] = -10
    except OSError:
        info["caller_nice"] = os.getpriority(os.PRIO_PROCESS, 0)
    return info


async def _loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        t = time.monotonic()
        await asyncio.sleep(0.02)
        lags.append(time.monotonic() - t - 0.02)


async def _run_lines(
    url: str, lines: list[list[CallSpec]], voices: dict[str, list[bytes]], personas: dict[str, Persona]
) -> dict[str, Any]:
    t0 = time.monotonic()
    outcomes: list[CallOutcome] = []
    lags: list[float] = []
    stop = asyncio.Event()

    async def line(index: int, calls: list[CallSpec]) -> None:
        for n, spec in enumerate(calls):
            if n == 0 and spec.start_delay_s > 0:
                await asyncio.sleep(spec.start_delay_s)
            caller = BenchCaller(personas[spec.persona], voices[spec.persona], url, max_wait_s=FLEET_MAX_WAIT_S)
            outcome = CallOutcome(index, spec.persona, caller.call_id, started_s=time.monotonic() - t0)
            try:
                result = await caller.run(spec.custom)
                outcome.v2v_s = list(result.v2v_s)
                outcome.error = result.error
                outcome.lead_turns, outcome.cut_ins = result.lead_turns, result.cut_ins
            except Exception as exc:  # a refused or broken call is a result, not the end of the run
                outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.gaps = caller.gaps
            outcome.ended_s = time.monotonic() - t0
            outcomes.append(outcome)

    lag_task = asyncio.create_task(_loop_lag(stop, lags))
    await asyncio.gather(*(line(i, calls) for i, calls in enumerate(lines)))
    stop.set()
    await lag_task
    return {
        "calls": [asdict(o) for o in outcomes],
        "wall_s": round(time.monotonic() - t0, 3),
        "caller_loop_lag_p50_ms": _ms(pct(lags, 50)),
        "caller_loop_lag_p99_ms": _ms(pct(lags, 99)),
        "caller_loop_lag_max_ms": _ms(max(lags) if lags else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _fleet_main(conn: Connection, persona_paths: list[str]) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    info = _pin_and_prioritize()
    from engine.simulator.run import lead_utterances

    personas = {path: load_persona(path) for path in persona_paths}
    # Every line is synthesized now, before any call, so synthesis never competes with a measured call.
    voices = {path: lead_utterances(p) for path, p in personas.items()}
    conn.send({"ready": True, **info})
    while True:
        message = conn.recv()
        if message is None:
            return
        url, raw_lines = message
        lines = [[CallSpec(**c) for c in calls] for calls in raw_lines]
        try:
            conn.send(asyncio.run(_run_lines(url, lines, voices, personas)))
        except Exception as exc:
            conn.send({"error": f"{type(exc).__name__}: {exc}", "calls": []})


class CallFleet:
    """Handle on the caller process. Use as a context manager; ``run`` blocks until every call has ended."""

    def __init__(self, persona_paths: list[str], *, ready_timeout_s: float = 180.0) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_fleet_main, args=(child, persona_paths), name="call-fleet", daemon=True)
        self.process.start()
        deadline = time.monotonic() + ready_timeout_s
        while not self._conn.poll(0.5):
            if not self.process.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the caller process did not get ready (exit code {self.process.exitcode})")
        ready: dict[str, Any] = self._conn.recv()
        self.info = {k: v for k, v in ready.items() if k != "ready"}  # where the callers run

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def run(self, url: str, lines: list[list[CallSpec]]) -> dict[str, Any]:
        self._conn.send((url, [[asdict(c) for c in calls] for calls in lines]))
        result: dict[str, Any] = self._conn.recv()
        return result

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(None)
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)

    def __enter__(self) -> CallFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
