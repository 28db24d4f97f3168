"""RTP media benchmark: N concurrent SIP call legs holding RTP at real time on loopback (media only).

The engine side (this process) runs N ``RtpMediaLeg``s on one event loop, each fed 20 ms PCM frames by a paced
producer (as the pipeline's playout does) and drained by a consumer (as the pipeline's listener does). A peer
process plays N phones: it sends each leg 50 packets/s and timestamps every packet the engine sends back.

Reported: packets handled per CPU-second of the engine process (in + out), outbound inter-packet jitter at the
receiver (|arrival gap - 20 ms|, p50/p99/max over all streams), loss, and the engine clock's tick lateness.
Target: outbound inter-packet jitter p99 < 5 ms with 50 concurrent calls on the 2-core machine.

    .venv/bin/python -m benchmarks.rtp_media --calls 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import selectors
import socket
import struct
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from engine.telephony.leg import AudioIn, LegClosed
from engine.telephony.sip.leg import RtpMediaLeg, media_clock
from engine.telephony.sip.sdp import Negotiated

RESULTS = Path(__file__).parent / "results"
FRAME_S = 0.020
WARMUP_S = 1.0
TARGET_P99_MS = 5.0


# -- the peer process: N phones ------------------------------------------------------------------------------
def _open_phones(count: int, sel: selectors.BaseSelector) -> list[socket.socket]:
    socks = []
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sel.register(sock, selectors.EVENT_READ, i)
        socks.append(sock)
    return socks


def _drain(sock: socket.socket, arrivals: list[int], seqs: list[int]) -> None:
    """Reads every packet waiting on ``sock``, keeping its arrival time and RTP sequence number."""
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return
        arrivals.append(time.perf_counter_ns())
        seqs.append(struct.unpack_from("!H", data, 2)[0])


def _reception(arrivals: list[list[int]], seqs: list[list[int]], warm_ns: int) -> dict[str, Any]:
    """Packets received and lost over all streams, and the arrival gaps (ms) after the warm-up."""
    gaps: list[float] = []
    received = 0
    lost = 0
    for times, seq in zip(arrivals, seqs, strict=True):
        received += len(times)
        if len(seq) > 1:
            expected = (seq[-1] - seq[0]) % 65536 + 1
            lost += max(0, expected - len(seq))
        t = np.array(times, dtype=np.int64)
        t = t[t >= warm_ns]
        if t.size > 1:
            gaps.extend((np.diff(t) / 1e6).tolist())
    return {"received": received, "lost": lost, "gaps_ms": gaps}


def _peer(engine_ports: list[int], duration_s: float, conn: Connection, nice: int, realtime: bool) -> None:
    _raise_priority(nice, realtime)
    sel = selectors.DefaultSelector()
    socks = _open_phones(len(engine_ports), sel)
    conn.send([s.getsockname()[1] for s in socks])
    conn.recv()  # go
    payload = b"\xff" * 160
    ssrcs = [0x1000 + i for i in range(len(socks))]
    arrivals: list[list[int]] = [[] for _ in socks]
    seqs: list[list[int]] = [[] for _ in socks]
    start = time.perf_counter()
    end = start + duration_s
    next_send = start
    n = 0
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if now >= next_send:
            for i, sock in enumerate(socks):
                header = struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, (n * 160) & 0xFFFFFFFF, ssrcs[i])
                sock.sendto(header + payload, ("127.0.0.1", engine_ports[i]))
            n += 1
            next_send += FRAME_S
            continue
        for key, _ in sel.select(max(0.0, min(next_send, end) - now)):
            i = key.data
            _drain(socks[i], arrivals[i], seqs[i])
    conn.send({"sent": n * len(socks), **_reception(arrivals, seqs, int((start + WARMUP_S) * 1e9))})
    for sock in socks:
        sock.close()


# -- the engine side ------------------------------------------------------------------------------------------
class _ClockProbe:
    """Registered on the media clock like a leg; keeps the times its ticks ran."""

    def __init__(self) -> None:
        self.ticks: list[float] = []

    def _on_tick(self, now: float) -> None:
        self.ticks.append(time.perf_counter())

    def jitter_summary(self) -> dict[str, float]:
        gaps = np.diff(np.array(self.ticks[int(WARMUP_S / FRAME_S) :])) * 1000
        dev = np.abs(gaps - FRAME_S * 1000) if gaps.size else np.zeros(1)
        return {"p50": round(float(np.percentile(dev, 50)), 3), "p99": round(float(np.percentile(dev, 99)), 3)}


async def _producer(leg: RtpMediaLeg, stop: asyncio.Event) -> None:
    """Feed 20 ms frames on an absolute schedule, like engine.pipeline.playout does."""
    loop = asyncio.get_running_loop()
    t = np.arange(160) / 8000
    frame = (np.sin(2 * np.pi * 440 * t) * 6000).astype("<i2").tobytes()
    next_at = loop.time()
    while not stop.is_set():
        await leg.send_audio(frame)
        next_at += FRAME_S
        await asyncio.sleep(max(0.0, next_at - loop.time()))


async def _consumer(leg: RtpMediaLeg, counts: list[int]) -> None:
    async for event in leg.events():
        if isinstance(event, AudioIn):
            counts[0] += 1
        elif isinstance(event, LegClosed):
            return


def _raise_priority(nice: int, realtime: bool = False) -> bool:
    """Media processes run at a raised priority in production (as PBXs do: Asterisk's -p is SCHED_RR); the
    benchmark may do the same so a shared machine's other load does not decide the tail. Needs root or
    CAP_SYS_NICE; harmless without."""
    if realtime:
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(10))
            return True
        except (OSError, AttributeError):
            pass
    if nice >= 0:
        return False
    try:
        os.nice(nice)
    except OSError:
        return False
    return True


async def _engine(calls: int, duration_s: float, nice: int, realtime: bool) -> dict[str, Any]:
    load_average = os.getloadavg()[0]
    priority_raised = _raise_priority(nice, realtime)
    legs = [await RtpMediaLeg.open("127.0.0.1") for _ in range(calls)]
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    peer = ctx.Process(
        target=_peer, args=([leg.port for leg in legs], duration_s + 0.5, child, nice, realtime), daemon=True
    )
    peer.start()
    loop = asyncio.get_running_loop()
    peer_ports: list[int] = await loop.run_in_executor(None, parent.recv)
    for leg, port in zip(legs, peer_ports, strict=True):
        leg.configure(Negotiated("127.0.0.1", port, 0, "PCMU", 101, "sendrecv"))
        leg.connect_pipeline()
    stop = asyncio.Event()
    frames_in = [0]
    tasks = [asyncio.create_task(_producer(leg, stop)) for leg in legs]
    tasks += [asyncio.create_task(_consumer(leg, frames_in)) for leg in legs]
    clock = media_clock()
    parent.send("go")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    # A probe on the shared media clock records when each tick really ran: the sender-side view of jitter.
    probe = _ClockProbe()
    clock.add(probe)  # type: ignore[arg-type]
    last_sent = sum(leg.session.stats.packets_out for leg in legs)
    await asyncio.sleep(duration_s)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    packets_out = sum(leg.session.stats.packets_out for leg in legs) - last_sent
    packets_in = sum(leg.session.stats.packets_in for leg in legs)
    stop.set()
    peer_result: dict[str, Any] = await loop.run_in_executor(None, parent.recv)
    for leg in legs:
        await leg.hangup()
    await asyncio.gather(*tasks, return_exceptions=True)
    peer.join(5)
    gaps = np.array(peer_result["gaps_ms"], dtype=np.float64)
    jitter = np.abs(gaps - FRAME_S * 1000) if gaps.size else np.zeros(1)
    cpu_s = cpu1 - cpu0
    wall_s = wall1 - wall0
    handled = packets_in + packets_out
    return {
        "calls": calls,
        "seconds": round(wall_s, 2),
        "packets_out": packets_out,
        "packets_in": packets_in,
        "frames_to_pipeline": frames_in[0],
        "engine_cpu_s": round(cpu_s, 3),
        "engine_cpu_utilisation": round(cpu_s / wall_s, 3),
        "packets_per_s": round(handled / wall_s, 1),
        "packets_per_cpu_s": round(handled / cpu_s, 1) if cpu_s > 0 else None,
        "outbound_jitter_ms": {
            "p50": round(float(np.percentile(jitter, 50)), 3),
            "p99": round(float(np.percentile(jitter, 99)), 3),
            "max": round(float(jitter.max()), 3),
            "samples": int(gaps.size),
        },
        "peer": {"sent": peer_result["sent"], "received": peer_result["received"], "lost": peer_result["lost"]},
        "clock_late_ticks": clock.late_ticks,
        "clock_tick_jitter_ms": probe.jitter_summary(),
        "target_p99_ms": TARGET_P99_MS,
        "load_average_at_start": round(load_average, 2),
        "priority_raised": priority_raised,
        "scheduling": "SCHED_RR" if realtime and priority_raised else f"nice {nice}",
        "meets_target": bool(float(np.percentile(jitter, 99)) < TARGET_P99_MS),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


def _markdown(result: dict[str, Any]) -> str:
    j = result["outbound_jitter_ms"]
    verdict = "meets" if result["meets_target"] else "MISSES"
    return "\n".join(
        [
            "# RTP media benchmark",
            "",
            f"{result['calls']} concurrent call legs, {result['seconds']} s of RTP at real time on loopback,",
            f"media only; load average at start {result['load_average_at_start']}, "
            f"scheduling: {result['scheduling']} (raised: {result['priority_raised']})",
            f"(`python -m benchmarks.rtp_media`); machine: {result['machine']['cpus']} CPUs, "
            f"Python {result['machine']['python']}.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| outbound inter-packet jitter p50 / p99 / max | {j['p50']} / {j['p99']} / {j['max']} ms |",
            f"| target p99 | < {result['target_p99_ms']} ms ({verdict} it) |",
            f"| packets handled (in + out) per second | {result['packets_per_s']} |",
            f"| packets per CPU-second of the engine process (per core) | {result['packets_per_cpu_s']} |",
            f"| engine CPU utilisation | {result['engine_cpu_utilisation'] * 100:.1f} % of one core |",
            f"| peer sent / received / lost | {result['peer']['sent']} / {result['peer']['received']} / "
            f"{result['peer']['lost']} |",
            f"| frames handed to the pipeline | {result['frames_to_pipeline']} |",
            f"| media clock tick jitter p50 / p99 (sender side) | {result['clock_tick_jitter_ms']['p50']} / "
            f"{result['clock_tick_jitter_ms']['p99']} ms |",
            f"| media clock resyncs (fell > 60 ms behind) | {result['clock_late_ticks']} |",
            "",
            "Jitter is measured at the receiving peer process: |gap between consecutive packets of a stream - 20 ms|,",
            "over every stream after a 1 s warm-up. The machine is shared, so other load shows up in the tail.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--nice", type=int, default=-10, help="niceness for both processes (0: leave as is)")
    parser.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="SCHED_RR for both processes (default; --no-realtime uses --nice instead)",
    )
    args = parser.parse_args()
    if args.calls < 1 or args.seconds < 3:
        parser.error("--calls must be >= 1 and --seconds >= 3")
    result = asyncio.run(_engine(args.calls, args.seconds, args.nice, args.realtime))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rtp_media.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "rtp_media.md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()
