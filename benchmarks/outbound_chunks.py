"""Outbound chunking benchmark: what Exotel's chunk rule costs the first audio of a reply, and how far ahead of
playback the carrier stays.

One real ``Playout`` drives a real ``WebSocketLeg`` over each carrier protocol; the "socket" timestamps every
message. For each reply: first audio = the first ``SpeechAudioFrame`` handed to playout -> the first media message
on the wire; added = that minus Twilio's (one message per 20 ms frame). Carrier lead = for each message, when its
audio is due at the far end (playback starting with the first message) minus when it arrived; its minimum over a
reply (after the pre-buffer's burst) is the margin before the lead would hear a gap. The far end echoes each mark
when the audio before it has played. No models, no network: it measures the framing and pacing.

Cases: a reply whose first piece is long (0.6 s, the usual synthesized clause), and one whose first piece is a
short cached "Okay," (0.1 s: less than one Exotel chunk at 8 kHz) with the rest 0.3 s later. "exotel, frames
paced one by one" is the naive alternative (no chunk in the pre-buffer) for comparison.

Writes ``benchmarks/results/outbound_chunks.json`` and ``outbound_chunks.md``.

    .venv/bin/python -m benchmarks.outbound_chunks --replies 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pipecat.frames.frames import Frame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from benchmarks.report import RESULTS, exit_on_sigterm, machine, table, write_json, write_text
from engine.pipeline.frames import LegMarkFrame, SpeechAudioFrame
from engine.pipeline.playout import Playout
from engine.telephony.leg import LegEvent
from engine.telephony.media_streams import PROTOCOLS, CarrierProtocol
from engine.telephony.ws_leg import WebSocketLeg

START = {
    "twilio": {"streamSid": "S", "callSid": "C", "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000}},
    "plivo": {"streamId": "S", "callId": "C", "mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 8000}},
    "exotel": {"stream_sid": "S", "call_sid": "C", "media_format": {"encoding": "audio/x-raw", "sample_rate": "8000"}},
}

BURST_S = 0.005  # messages this soon after the first are the pre-buffer's burst


def protocol(carrier: str, rate: int) -> CarrierProtocol:
    p = PROTOCOLS[carrier]()
    start = json.loads(json.dumps(START[carrier]))
    if carrier == "exotel":
        start["media_format"]["sample_rate"] = str(rate)
    p.receive(json.dumps({"event": "start", "start": start}))
    return p


class Wire:
    """The far end of the socket: when each message arrived and how much audio it carried."""

    def __init__(self, protocol: CarrierProtocol) -> None:
        self.protocol = protocol
        self.media: list[tuple[float, int]] = []  # (arrival, PCM bytes)
        self.marks: asyncio.Queue[str] = asyncio.Queue()

    async def send(self, text: str) -> None:
        now = time.monotonic()
        message = json.loads(text)
        event = message["event"]
        if event in ("media", "playAudio"):
            payload = base64.b64decode(message["media"]["payload"])
            pcm_bytes = len(payload) * (2 if self.protocol.media_format.encoding == "mulaw" else 1)
            self.media.append((now, pcm_bytes))
        elif event in ("mark", "checkpoint"):
            await self.marks.put(message.get("name") or message["mark"]["name"])

    async def receive(self) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        pass


class PacedFramesOnly:
    """The leg without its chunking capability: playout paces frames one by one and the framer fills behind it."""

    def __init__(self, leg: WebSocketLeg) -> None:
        self._leg = leg
        self.sample_rate = leg.sample_rate
        self.supports_marks = True

    def events(self) -> AsyncIterator[LegEvent]:
        return self._leg.events()

    async def send_audio(self, pcm: bytes) -> None:
        await self._leg.send_audio(pcm)

    async def send_mark(self, name: str) -> None:
        await self._leg.send_mark(name)

    async def clear(self) -> None:
        await self._leg.clear()

    async def hangup(self) -> None:
        await self._leg.hangup()


def tone(rate: int, seconds: float) -> bytes:
    return b"\x00\x10" * int(rate * seconds)


async def measure(carrier: str, rate: int, short_first: bool, paced_only: bool, replies: int) -> dict[str, Any]:
    wire = Wire(protocol(carrier, rate))
    leg: Any = WebSocketLeg(wire.protocol, wire.receive, wire.send, wire.close)
    if paced_only:
        leg = PacedFramesOnly(leg)
    worker = PipelineWorker(
        Pipeline([Playout(leg)]),
        params=PipelineParams(),
        enable_rtvi=False,
        enable_turn_tracking=False,
        cancel_on_idle_timeout=False,
        idle_timeout_secs=None,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    await asyncio.sleep(0.3)
    bytes_per_s = rate * 2
    first_audio: list[float] = []
    min_lead: list[float] = []
    for reply in range(1, replies + 1):
        wire.media.clear()
        handed = time.monotonic()
        if short_first:
            await queue(worker, SpeechAudioFrame(utterance_id=reply, text="Okay,", pcm=tone(rate, 0.1)))
            await asyncio.sleep(0.3)  # the rest of the reply is still being synthesized
            await queue(worker, SpeechAudioFrame(utterance_id=reply, text="the rest", pcm=tone(rate, 0.5)))
        else:
            await queue(worker, SpeechAudioFrame(utterance_id=reply, text="a clause", pcm=tone(rate, 0.6)))
        await queue(worker, SpeechAudioFrame(utterance_id=reply, last=True))
        name = await asyncio.wait_for(wire.marks.get(), 10)
        t0 = wire.media[0][0]
        # The carrier echoes the mark once it has played everything before it.
        played_at = t0 + sum(size for _, size in wire.media) / bytes_per_s
        await asyncio.sleep(max(0.0, played_at - time.monotonic()))
        await queue(worker, LegMarkFrame(mark=name))
        first_audio.append(t0 - handed)
        due, leads = t0, []
        for arrived, size in wire.media:
            if arrived > t0 + BURST_S:  # the pre-buffer's burst is ahead by construction
                leads.append(due - arrived)
            due += size / bytes_per_s
        min_lead.append(min(leads, default=0.0))
        await asyncio.sleep(0.2)
    await worker.cancel()
    await asyncio.wait_for(running, 10)
    sizes = sorted({size for _, size in wire.media})
    return {
        "first_audio_ms_p50": round(1000 * statistics.median(first_audio), 1),
        "first_audio_ms_max": round(1000 * max(first_audio), 1),
        "min_carrier_lead_ms_p50": round(1000 * statistics.median(min_lead), 1),
        "min_carrier_lead_ms_min": round(1000 * min(min_lead), 1),
        "message_sizes_last_reply": sizes,
    }


async def queue(worker: PipelineWorker, frame: Frame) -> None:
    await worker.queue_frame(frame)


CASES = [
    # (label, carrier, rate, short first piece, frames paced one by one)
    ("twilio 8 kHz", "twilio", 8000, False, False),
    ("exotel 8 kHz", "exotel", 8000, False, False),
    ("exotel 16 kHz", "exotel", 16000, False, False),
    ("exotel 24 kHz", "exotel", 24000, False, False),
    ("exotel 8 kHz, frames paced one by one", "exotel", 8000, False, True),
    ("twilio 8 kHz, short first piece", "twilio", 8000, True, False),
    ("exotel 8 kHz, short first piece", "exotel", 8000, True, False),
    ("exotel 16 kHz, short first piece", "exotel", 16000, True, False),
]


async def run(replies: int) -> dict[str, Any]:
    before = machine()
    cases: dict[str, Any] = {}
    for label, carrier, rate, short_first, paced_only in CASES:
        cases[label] = await measure(carrier, rate, short_first, paced_only, replies)
        print(f"outbound_chunks: {label}: {cases[label]}", flush=True)
    for label, case in cases.items():
        base = "twilio 8 kHz, short first piece" if "short first piece" in label else "twilio 8 kHz"
        case["added_first_audio_ms_p50"] = round(case["first_audio_ms_p50"] - cases[base]["first_audio_ms_p50"], 1)
    after = machine()
    return {"machine": before, "load_average_after": after["load_average"], "replies_per_case": replies, "cases": cases}


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    rows = [
        [
            label,
            c["first_audio_ms_p50"],
            c["first_audio_ms_max"],
            c["added_first_audio_ms_p50"],
            c["min_carrier_lead_ms_p50"],
            c["min_carrier_lead_ms_min"],
            ", ".join(map(str, c["message_sizes_last_reply"])),
        ]
        for label, c in results["cases"].items()
    ]
    header = [
        "case",
        "first audio p50 (ms)",
        "first audio max (ms)",
        "added vs Twilio p50 (ms)",
        "min carrier lead p50 (ms)",
        "min carrier lead, worst (ms)",
        "message sizes (bytes of PCM)",
    ]
    return (
        "# Outbound chunking: first audio and carrier lead\n\n"
        f"Run {m['date_utc']} at {m['git_rev']}, {m['cpus']} CPUs, load average before {m['load_average']} / after "
        f"{results['load_average_after']}; {results['replies_per_case']} replies per case.\n\n"
        + table(header, rows)
        + "\nFirst audio: the reply's first audio handed to playout -> its first media message on the wire. Carrier "
        "lead: how long before it is due at the far end each message after the pre-buffer's burst arrives (playback "
        "starting with the first); negative is a gap the lead hears (in the short-first-piece cases, the 0.3 s wait "
        "for synthesis). "
        "Exotel's minimum chunk (3,200 bytes) is 200 ms at 8 kHz, 100 ms at 16 kHz and, as four 960-byte frames "
        "(3,840 bytes), 80 ms at 24 kHz. The pre-buffer holds one chunk more, so the first chunk leaves at once; a "
        "first piece shorter than a chunk is flushed, padded with silence, when speech runs dry.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=10, help="replies measured per case")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    results = asyncio.run(run(args.replies))
    write_json("outbound_chunks.json", results, args.results)
    write_text("outbound_chunks.md", markdown(results), args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
