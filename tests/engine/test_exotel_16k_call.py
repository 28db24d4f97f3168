"""A dialed call whose Exotel stream negotiated 16 kHz, through a real WebSocket to a worker's ``/media/exotel``
with the real models: the lead is heard, and the bot is heard, at 16 kHz, in chunks Exotel accepts."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
import websockets

from engine.audio.pcm import frames, to_pcm16
from engine.audio.resample import resample
from engine.facade import Engine
from engine.simulator.run import free_port
from engine.simulator.voices import synthesize
from tests.engine_services import shared_services
from tests.security.test_media_and_sip import GUARD_S, build_app, expect_call, serving, worker_settings

pytestmark = pytest.mark.e2e

RATE = 16000


def start(call_id: str, token: str) -> dict[str, object]:
    # As https://developer.exotel.com/docs/agentstream/websocket-protocol documents it, at the negotiated rate.
    return {
        "event": "start",
        "sequence_number": "1",
        "stream_sid": "MZ16",
        "start": {
            "stream_sid": "MZ16",
            "call_sid": "CA16",
            "account_sid": "AC16",
            "custom_parameters": {"call_id": call_id, "stream_token": token},
            "media_format": {"encoding": "audio/x-raw", "sample_rate": str(RATE), "bit_rate": "16"},
        },
    }


def media(pcm: bytes) -> str:
    payload = base64.b64encode(pcm).decode()
    return json.dumps({"event": "media", "stream_sid": "MZ16", "media": {"payload": payload}})


async def test_a_16_khz_exotel_stream_is_heard_and_answered_at_16_khz(tmp_path: Path) -> None:
    services = shared_services()
    engine = Engine(services=services)
    [said] = synthesize("piper", ["Wrong number."])
    lead = to_pcm16(resample(said, 8000, RATE))
    port = free_port()
    chunks: list[bytes] = []
    async with serving(build_app("worker", worker_settings(tmp_path), engine, port), port) as address:
        call_id, result = expect_call(engine)
        token = engine.directory.stream_token(call_id)
        async with asyncio.timeout(GUARD_S):
            async with websockets.connect(f"ws://{address}/media/exotel?sample-rate={RATE}") as ws:
                await ws.send(json.dumps({"event": "connected"}))
                await ws.send(json.dumps(start(call_id, token)))

                async def carrier() -> None:
                    """Plays what the bot sends at once and echoes each mark, as Exotel does."""
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["event"] == "media":
                            chunks.append(base64.b64decode(message["media"]["payload"]))
                        elif message["event"] == "mark":
                            await ws.send(json.dumps({"event": "mark", "stream_sid": "MZ16", "mark": message["mark"]}))

                listening = asyncio.create_task(carrier())
                while not chunks:  # the greeting has begun
                    await asyncio.sleep(0.02)
                greeting_bytes = 0
                while sum(map(len, chunks)) != greeting_bytes or greeting_bytes == 0:  # until it stops growing
                    greeting_bytes = sum(map(len, chunks))
                    await asyncio.sleep(0.5)
                # The lead speaks in 20 ms frames in real time, then stays silent until the bot ends the call.
                for frame in [*frames(lead, RATE), *frames(bytes(RATE * 2 * 3), RATE)]:
                    try:
                        await ws.send(media(frame))
                    except websockets.ConnectionClosed:
                        break  # the bot ended the call (its goodbye said) before the record was filed
                    await asyncio.sleep(0.02)
                    if result.done():
                        break
                record = await result
                listening.cancel()
    assert str(record.outcome) == "wrong_person", record.turns
    assert all(3200 <= len(c) <= 100_000 and len(c) % 320 == 0 for c in chunks), sorted({len(c) for c in chunks})
    # The greeting, transcribed as 16 kHz audio, says what the agent said: 8 kHz audio sent as 16 kHz would be
    # twice as fast and unintelligible.
    greeting = b"".join(chunks)[:greeting_bytes]
    heard = services.stt.transcribe_blocking(greeting, RATE).text.lower()
    assert "assistant" in heard, heard
