"""Each stream's media format comes from its start message (or Exotel's ``?sample-rate=``): decoded, encoded and
chunked at that rate, and refused, with the reason, when the engine cannot serve it."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame

from engine.audio.g711 import ulaw_encode
from engine.facade import Engine
from engine.pipeline.frames import LegClosedFrame
from engine.pipeline.leg_source import LegSource
from engine.pipeline.listener import listening_rate
from engine.simulator.persona import PersonaError, parse_persona
from engine.simulator.run import free_port
from engine.telephony.leg import AudioIn, LegClosed, LegEvent
from engine.telephony.media_streams import (
    Audio,
    ExotelProtocol,
    MediaFormat,
    PlivoProtocol,
    ProtocolError,
    TwilioProtocol,
    UnsupportedMedia,
)
from tests.engine.pipelines import Collect, run_pipeline

PCM = bytes(range(1, 201)) * 8  # 1,600 bytes: 100 ms at 8 kHz, 50 ms at 16 kHz


def exotel_start(media_format: dict | None = None, custom: dict | None = None) -> str:
    """Exotel's documented start message (https://developer.exotel.com/docs/agentstream/websocket-protocol)."""
    start = {
        "event": "start",
        "sequence_number": "1",
        "stream_sid": "MZxxxxxxxxxxxxxxxxxxxxxxxx",
        "start": {
            "stream_sid": "MZxxxxxxxxxxxxxxxxxxxxxxxx",
            "call_sid": "CAxxxxxxxxxxxxxxxxxxxxxxxx",
            "account_sid": "ACxxxxxxxxxxxxxxxxxxxxxxxx",
            "from": "+919876543210",
            "to": "+918047491899",
            "custom_parameters": custom if custom is not None else {"key1": "value1"},
            "media_format": {"encoding": "audio/x-raw", "sample_rate": "8000", "bit_rate": "16"},
        },
    }
    if media_format is not None:
        start["start"]["media_format"] = media_format
    elif custom is not None:
        del start["start"]["media_format"]
    return json.dumps(start)


def plivo_start(media_format: dict | None) -> str:
    """Plivo's documented start message
    (https://www.plivo.com/docs/voice-agents/audio-streaming/concepts/audio-streaming-reference)."""
    start = {
        "event": "start",
        "sequenceNumber": 1,
        "start": {
            "callId": "12345678-1234-1234-1234-123456789abc",
            "streamId": "87654321-4321-4321-4321-cba987654321",
            "accountId": "MAXXXXXXXXXXXXXXXXXX",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
        },
        "extra_headers": "userId=12345;sessionId=abc-xyz",
    }
    if media_format is None:
        del start["start"]["mediaFormat"]
    else:
        start["start"]["mediaFormat"] = media_format
    return json.dumps(start)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- Exotel ------------------------------------------------------------------------------------------------------
def test_exotel_documented_start_is_8_khz_pcm():
    p = ExotelProtocol()
    p.receive(exotel_start())
    assert p.media_format == MediaFormat("l16", 8000) and p.sample_rate == 8000


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_exotel_negotiated_rate_is_the_streams_rate(rate):
    p = ExotelProtocol()
    p.receive(exotel_start({"encoding": "audio/x-raw", "sample_rate": str(rate), "bit_rate": "16"}))
    assert p.sample_rate == rate
    [audio] = p.receive(json.dumps({"event": "media", "stream_sid": "MZ", "media": {"payload": b64(PCM)}}))
    assert audio == Audio(PCM)  # 16-bit PCM passes through at the stream's own rate
    assert p.hold_frames == -(-3200 // (rate // 50 * 2))


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_exotel_rate_from_the_stream_urls_query_when_the_start_does_not_say(rate):
    p = ExotelProtocol(query={"sample-rate": str(rate)})
    p.receive(exotel_start({"encoding": "base64"}))
    assert p.sample_rate == rate


def test_exotel_rate_from_the_custom_parameters_and_the_start_message_wins():
    p = ExotelProtocol()
    p.receive(exotel_start(custom={"call_id": "c1", "sample-rate": "16000"}))
    assert p.sample_rate == 16000
    p = ExotelProtocol(query={"sample-rate": "24000"})
    p.receive(exotel_start({"encoding": "audio/x-raw", "sample_rate": "16000"}))
    assert p.sample_rate == 16000


def test_exotel_without_any_rate_is_8_khz():
    p = ExotelProtocol()
    p.receive(exotel_start(custom={"call_id": "c1"}))
    assert p.sample_rate == 8000


@pytest.mark.parametrize(
    ("media_format", "query", "reason"),
    [
        ({"encoding": "audio/x-raw", "sample_rate": "44100"}, {}, "44100 Hz"),
        ({"encoding": "audio/x-raw", "sample_rate": "11025"}, {}, "11025 Hz"),
        ({"encoding": "audio/x-raw", "sample_rate": "sixteen"}, {}, "not a sample rate"),
        ({"encoding": "audio/x-mulaw", "sample_rate": "8000"}, {}, "encoding 'audio/x-mulaw'"),
        ({"encoding": "opus", "sample_rate": "16000"}, {}, "encoding 'opus'"),
        ({"encoding": "base64"}, {"sample-rate": "48000"}, "48000 Hz"),
    ],
)
def test_exotel_refuses_what_it_cannot_serve_and_says_why(media_format, query, reason):
    p = ExotelProtocol(query=query)
    with pytest.raises(UnsupportedMedia, match=reason):
        p.receive(exotel_start(media_format))
    assert p.stream_id is None  # not started


# -- Plivo -------------------------------------------------------------------------------------------------------
def test_plivo_documented_start_is_mu_law_and_play_audio_answers_in_kind():
    p = PlivoProtocol()
    p.receive(plivo_start({"encoding": "audio/x-mulaw", "sampleRate": 8000}))
    assert p.media_format == MediaFormat("mulaw", 8000)
    [audio] = p.receive(json.dumps({"event": "media", "media": {"payload": b64(ulaw_encode(PCM))}}))
    assert len(audio.pcm) == len(PCM)
    media = json.loads(p.media(PCM))["media"]
    assert (media["contentType"], media["sampleRate"]) == ("audio/x-mulaw", 8000)
    assert base64.b64decode(media["payload"]) == ulaw_encode(PCM)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_plivo_linear_16_at_each_documented_rate(rate):
    p = PlivoProtocol()
    p.receive(plivo_start({"encoding": "audio/x-l16", "sampleRate": rate}))
    assert p.media_format == MediaFormat("l16", rate) and p.sample_rate == rate and p.hold_frames == 1
    [audio] = p.receive(json.dumps({"event": "media", "media": {"payload": b64(PCM)}}))
    assert audio == Audio(PCM)
    [message] = p.frame_audio(PCM)
    media = json.loads(message)["media"]
    assert media == {"contentType": "audio/x-l16", "sampleRate": rate, "payload": b64(PCM)}


def test_plivo_start_without_a_media_format_is_what_the_dialer_asks_for():
    p = PlivoProtocol()
    p.receive(plivo_start(None))
    assert p.media_format == MediaFormat("mulaw", 8000)


@pytest.mark.parametrize(
    ("media_format", "reason"),
    [
        ({"encoding": "audio/x-mulaw", "sampleRate": 16000}, "mulaw at 16000 Hz"),
        ({"encoding": "audio/x-l16", "sampleRate": 24000}, "l16 at 24000 Hz"),
        ({"encoding": "audio/opus", "sampleRate": 16000}, "encoding 'audio/opus'"),
    ],
)
def test_plivo_refuses_undocumented_formats(media_format, reason):
    with pytest.raises(UnsupportedMedia, match=reason):
        PlivoProtocol().receive(plivo_start(media_format))


# -- Twilio ------------------------------------------------------------------------------------------------------
def test_twilio_refuses_a_rate_other_than_8_khz():
    start = {"streamSid": "MZ1", "callSid": "CA1", "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 16000}}
    with pytest.raises(UnsupportedMedia, match="16000 Hz"):
        TwilioProtocol().receive(json.dumps({"event": "start", "start": start}))


def test_a_second_start_cannot_change_the_format():
    p = ExotelProtocol()
    p.receive(exotel_start({"encoding": "audio/x-raw", "sample_rate": "16000"}))
    with pytest.raises(ProtocolError, match="second 'start'"):
        p.receive(exotel_start({"encoding": "audio/x-raw", "sample_rate": "8000"}))
    assert p.sample_rate == 16000


# -- the pipeline's rates ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("leg", "heard"), [(8000, 8000), (16000, 16000), (24000, 16000)])
def test_the_listener_hears_each_leg_at_a_rate_its_vad_runs_at(leg, heard):
    assert listening_rate(leg) == heard


async def test_leg_source_resamples_a_24_khz_stream_for_the_listener():
    second = (np.sin(np.arange(24000) * 2 * np.pi * 440 / 24000) * 8000).astype("<i2").tobytes()

    class Leg24k:
        sample_rate = 24000
        supports_marks = True

        async def events(self) -> AsyncIterator[LegEvent]:
            for i in range(0, len(second), 960):
                yield AudioIn(second[i : i + 960])
            yield LegClosed("stop")

    frames = Collect(Frame)

    async def script(worker: object) -> None:
        async with asyncio.timeout(10):  # only so a broken build fails instead of hanging
            while not any(isinstance(f, LegClosedFrame) for f in frames.frames):
                await asyncio.sleep(0.01)

    await run_pipeline([LegSource(Leg24k(), sample_rate=16000), frames], script)  # type: ignore[arg-type]
    audio = [f for f in frames.frames if isinstance(f, InputAudioRawFrame)]
    assert {f.sample_rate for f in audio} == {16000}
    samples = sum(len(f.audio) for f in audio) // 2
    assert 15000 <= samples <= 16000  # a second of audio at 16 kHz (less the resampler's short delay)


# -- refusal through a real socket -----------------------------------------------------------------------------------
async def test_a_stream_at_an_unserved_rate_is_closed_before_any_audio_and_the_log_says_why(tmp_path: Path) -> None:
    from tests.security.test_media_and_sip import build_app, refusals, refused_stream, serving, worker_settings

    engine = Engine()
    port = free_port()
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING")
    try:
        async with serving(build_app("worker", worker_settings(tmp_path), engine, port), port) as address:
            before = await refusals(address, "exotel", "unsupported_media")
            fmt = {"encoding": "audio/x-raw", "sample_rate": "44100", "bit_rate": "16"}
            opening = [{"event": "connected"}, json.loads(exotel_start(fmt))]
            received, code = await refused_stream(address, "exotel", opening)
            assert received == [] and code == 1008
            assert await refusals(address, "exotel", "unsupported_media") == before + 1
    finally:
        logger.remove(sink)
    [line] = [x for x in lines if "exotel stream refused" in x]
    assert "unsupported_media" in line and "44100 Hz" in line and "l16/16000" in line
    assert "9876543210" not in "".join(lines)  # the start message's numbers never reach the log
    assert engine.active_calls == 0


@pytest.mark.parametrize(
    ("carrier", "rate", "ok"),
    [
        ("exotel", 16000, True),
        ("exotel", 24000, True),
        ("plivo", 16000, False),
        ("twilio", 16000, False),
        ("exotel", 44100, False),
    ],
)
def test_a_persona_streams_at_a_rate_only_where_the_carrier_offers_it(carrier, rate, ok):
    text = f"carrier: {carrier}\nsample_rate: {rate}\nlead: {{name: Ravi, phone: '+919812345678'}}\n"
    if ok:
        assert parse_persona(text).sample_rate == rate
    else:
        with pytest.raises(PersonaError, match="sample_rate"):
            parse_persona(text)
