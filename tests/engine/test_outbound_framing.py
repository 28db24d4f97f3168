"""Outbound framing: Exotel's chunk rule on the sans-I/O protocol, and playout driving a real WebSocketLeg with it.

Exotel's rule (https://developer.exotel.com/docs/agentstream/stream-voicebot-applet, "Chunk Size Requirements"):
minimum 3.2 KB, maximum 100 KB, a multiple of 320 bytes.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from pipecat.frames.frames import InterruptionFrame

from engine.pipeline.frames import PlayoutFrame, SpeechAudioFrame
from engine.pipeline.playout import Playout
from engine.telephony.media_streams import ExotelProtocol, PlivoProtocol, TwilioProtocol
from engine.telephony.media_streams.framing import EXOTEL_CHUNKS, ChunkRule, OutboundFramer
from engine.telephony.ws_leg import WebSocketLeg
from tests.engine.pipelines import Collect, run_pipeline

MIN, MULTIPLE, MAX = 3200, 320, 100_000


def exotel(rate: int = 8000) -> ExotelProtocol:
    p = ExotelProtocol()
    fmt = {"encoding": "audio/x-raw", "sample_rate": str(rate), "bit_rate": "16"}
    p.receive(json.dumps({"event": "start", "start": {"stream_sid": "S1", "call_sid": "C1", "media_format": fmt}}))
    return p


def tone(n_bytes: int, start: int = 0) -> bytes:
    """Distinct non-zero bytes, so padding (zeros) and reordering show."""
    return bytes((start + i) % 251 + 1 for i in range(n_bytes))


def payloads(messages: list[str]) -> list[bytes]:
    return [base64.b64decode(json.loads(m)["media"]["payload"]) for m in messages if json.loads(m)["event"] == "media"]


def test_exotel_rule_is_the_documented_one():
    assert (EXOTEL_CHUNKS.min_bytes, EXOTEL_CHUNKS.multiple_bytes, EXOTEL_CHUNKS.max_bytes) == (MIN, MULTIPLE, MAX)
    assert EXOTEL_CHUNKS.limit_bytes == 99_840  # the largest multiple of 320 within 100 KB


@pytest.mark.parametrize(
    ("rate", "frame_bytes", "hold"),
    [(8000, 320, 10), (16000, 640, 5), (24000, 960, 4)],
)
def test_frames_held_before_the_first_chunk_follow_the_rate(rate, frame_bytes, hold):
    assert EXOTEL_CHUNKS.hold_frames(frame_bytes) == hold
    assert exotel(rate).hold_frames == hold


def test_twilio_and_plivo_hold_nothing_and_send_one_message_per_frame():
    for p in (TwilioProtocol(), PlivoProtocol()):
        p.receive(json.dumps({"event": "start", "start": {"streamSid": "S", "streamId": "S"}}))
        assert p.hold_frames == 1
        assert len(p.frame_audio(bytes(320))) == 1
        assert p.flush() == []
        assert len(p.frame_mark("u1")) == 1


@pytest.mark.parametrize(
    ("pushes", "expected_sizes", "held"),
    [
        ([320] * 9, [], 2880),  # 180 ms at 8 kHz: below the minimum, nothing leaves
        ([320] * 10, [3200], 0),  # the tenth 20 ms frame fills the first chunk
        ([320] * 25, [3200, 3200], 1600),
        ([640] * 5, [3200], 0),  # 16 kHz frames
        ([960] * 4, [3840], 0),  # 24 kHz frames: 3,840 is the first multiple of 320 at or above the minimum
        ([960] * 7, [3840], 2880),
        ([3300], [3200], 100),  # a ragged push: the chunk is cut at a multiple of 320
        ([250_000], [99_840, 99_840, 50_240], 80),  # one huge push: capped at 100 KB, the rest chunked
    ],
)
def test_framer_emits_only_allowed_chunks(pushes, expected_sizes, held):
    framer = OutboundFramer(EXOTEL_CHUNKS)
    sizes = [len(chunk) for size in pushes for chunk in framer.push(tone(size))]
    assert sizes == expected_sizes
    assert framer.held_bytes == held
    assert all(MIN <= s <= MAX and s % MULTIPLE == 0 for s in sizes)


@pytest.mark.parametrize(
    ("held", "flushed"),
    [(0, None), (1, 3200), (320, 3200), (2880, 3200), (3199, 3200)],
)
def test_flush_pads_the_tail_with_silence_to_the_minimum(held, flushed):
    framer = OutboundFramer(EXOTEL_CHUNKS)
    data = tone(held)
    assert framer.push(data) == []
    chunks = framer.flush()
    if flushed is None:
        assert chunks == []
    else:
        [chunk] = chunks
        assert len(chunk) == flushed and chunk[:held] == data and chunk[held:] == bytes(flushed - held)
    assert framer.held_bytes == 0


def test_padded_size_rounds_up_to_the_multiple_above_the_minimum():
    rule = ChunkRule(min_bytes=640, multiple_bytes=320, max_bytes=3200)
    assert [rule.padded_size(n) for n in (1, 640, 641, 960, 961)] == [640, 640, 960, 960, 1280]
    with pytest.raises(ValueError):
        ChunkRule(min_bytes=3000, multiple_bytes=320, max_bytes=100_000)


def test_exotel_audio_leaves_in_order_and_whole():
    p = exotel()
    sent: list[str] = []
    data = tone(320 * 37)
    for i in range(37):
        sent += p.frame_audio(data[i * 320 : (i + 1) * 320])
    assert [len(x) for x in payloads(sent)] == [3200, 3200, 3200]
    sent += p.frame_mark("u1")
    out = payloads(sent)
    assert [len(x) for x in out] == [3200, 3200, 3200, 3200]
    assert b"".join(out)[: len(data)] == data  # nothing lost, nothing reordered
    assert b"".join(out)[len(data) :] == bytes(3200 - 7 * 320)  # the tail padded with silence


def test_a_mark_goes_after_the_flushed_tail_and_needs_no_audio():
    p = exotel()
    assert p.frame_audio(tone(640)) == []
    messages = [json.loads(m) for m in p.frame_mark("u3")]
    assert [m["event"] for m in messages] == ["media", "mark"]
    assert messages[1] == {"event": "mark", "stream_sid": "S1", "mark": {"name": "u3"}}
    assert [json.loads(m)["event"] for m in p.frame_mark("u4")] == ["mark"]  # nothing held: the mark alone


def test_clear_drops_what_is_held_unsent():
    p = exotel()
    p.frame_audio(tone(320 * 7))
    assert [json.loads(m) for m in p.frame_clear()] == [{"event": "clear", "stream_sid": "S1"}]
    assert p.held_bytes == 0
    assert p.flush() == []
    # The next utterance starts a fresh chunk: none of the cleared audio comes back.
    fresh = tone(3200, start=99)
    assert payloads(p.frame_audio(fresh)) == [fresh]


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_every_exotel_chunk_obeys_the_rule_at_each_rate(rate):
    p = exotel(rate)
    frame = rate // 50 * 2
    sent: list[str] = []
    for i in range(123):
        sent += p.frame_audio(tone(frame, start=i))
        if i % 40 == 39:
            sent += p.frame_mark(f"u{i}")
    sent += p.flush()
    sizes = [len(x) for x in payloads(sent)]
    assert sizes and all(MIN <= s <= MAX and s % MULTIPLE == 0 for s in sizes)
    assert sum(sizes) >= 123 * frame


# -- playout through a real WebSocketLeg -----------------------------------------------------------------------
class Wire:
    """The sending half of a WebSocket: what the leg wrote, in order."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.arrived = asyncio.Event()

    async def send(self, text: str) -> None:
        self.messages.append(json.loads(text))
        self.arrived.set()

    async def receive(self) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        pass

    def events(self) -> list[str]:
        return [m["event"] for m in self.messages]

    def sizes(self) -> list[int]:
        return [len(base64.b64decode(m["media"]["payload"])) for m in self.messages if m["event"] == "media"]


async def play(script, rate: int = 8000) -> tuple[Wire, Collect[PlayoutFrame]]:
    wire = Wire()
    leg = WebSocketLeg(exotel(rate), wire.receive, wire.send, wire.close)
    reports = Collect(PlayoutFrame)
    await run_pipeline([reports, Playout(leg)], lambda worker: script(worker, wire))
    return wire, reports


async def until(condition, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_playout_sends_exotel_only_whole_chunks_and_the_mark_after_the_last(rate):
    speech = tone(rate * 2 * 7 // 10)  # 0.7 s: not a whole number of chunks

    async def script(worker, wire):
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, text="one two", pcm=speech))
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, last=True))
        await until(lambda: "mark" in wire.events())

    wire, _ = await play(script, rate)
    assert wire.events()[-1] == "mark" and wire.events().count("mark") == 1
    sizes = wire.sizes()
    assert all(MIN <= s <= MAX and s % MULTIPLE == 0 for s in sizes)
    assert sum(sizes) >= len(speech) and sum(sizes) - len(speech) < MIN


async def test_playout_flushes_a_short_first_piece_while_the_next_is_synthesized():
    """Speech ran dry before a chunk filled: the held frames leave padded instead of waiting for the next piece."""

    async def script(worker, wire):
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, text="Okay,", pcm=tone(320 * 4)))
        await until(lambda: bool(wire.messages))
        assert wire.sizes() == [3200]
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, last=True))
        await until(lambda: "mark" in wire.events())

    wire, _ = await play(script)
    assert wire.events() == ["media", "mark"]


async def test_barge_in_sends_clear_and_nothing_held_leaves_after_it():
    async def script(worker, wire):
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, text="a b c d", pcm=tone(16000 * 3)))
        await until(lambda: len(wire.sizes()) >= 2)
        await worker.queue_frame(InterruptionFrame())
        await until(lambda: "clear" in wire.events())
        await asyncio.sleep(0.3)  # time for any held frame to have leaked out, were it kept

    wire, reports = await play(script)
    assert wire.events().count("clear") == 1
    assert wire.events()[-1] == "clear"
    assert [r.event for r in reports.frames] == ["started", "interrupted"]
