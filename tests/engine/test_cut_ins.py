"""The simulator counts cut-ins: a turn said in parts, with silence inside it, is one turn of the lead's; a bot that
starts speaking in that silence has cut in. Checked against two far ends on a real loopback WebSocket speaking
Twilio's media-stream messages: an eager one that answers after 0.2 s of silence and a patient one that waits 0.9 s."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
import websockets

from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.audio.pcm import frames, rms_dbfs, silence, to_pcm16
from engine.simulator.caller import SimulatedCaller
from engine.simulator.persona import parse_persona
from engine.simulator.run import lead_utterances

RATE = 8000
PERSONA = """\
lead: {name: Asha Rao, phone: "+919812345678"}
voice: espeak
pause_s: 0.3
turns:
  - say: ["Twelve", "thousand rupees."]
    gap_s: 0.6
  - say: "Yes."
  - hangup: true
"""


def _tone(seconds: float) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return to_pcm16((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32))


def _far_end(answer_after_silence_s: float) -> Any:
    """A bot that says a short line after the greeting and whenever the lead has been quiet long enough."""

    async def serve(ws: Any) -> None:
        stream = ""
        heard_voice = False
        quiet_frames = 0

        async def say(seconds: float) -> None:
            for frame in frames(_tone(seconds), RATE):
                payload = base64.b64encode(ulaw_encode(frame)).decode()
                await ws.send(json.dumps({"event": "media", "streamSid": stream, "media": {"payload": payload}}))

        async for raw in ws:
            message = json.loads(raw)
            if message["event"] == "start":
                stream = message["start"]["streamSid"]
                await say(0.3)
            elif message["event"] == "media":
                pcm = ulaw_decode(base64.b64decode(message["media"]["payload"]))
                if rms_dbfs(pcm) > -40:
                    heard_voice, quiet_frames = True, 0
                elif heard_voice:
                    quiet_frames += 1
                    if quiet_frames * 0.02 >= answer_after_silence_s:
                        heard_voice = False
                        await say(0.3)
            elif message["event"] == "stop":
                return

    return serve


async def _call(answer_after_silence_s: float) -> tuple[int, int]:
    persona = parse_persona(PERSONA)
    # Tones stand in for speech: the far end only listens for voice, and a test needs no synthesizer for that.
    # The second turn ends in 0.5 s of the voice's own trailing silence: answering in it is not a cut-in.
    utterances = [_tone(0.4) + silence(RATE, 0.6) + _tone(0.5), _tone(0.3) + silence(RATE, 0.5)]
    async with websockets.serve(_far_end(answer_after_silence_s), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        caller = SimulatedCaller(persona, utterances, f"ws://127.0.0.1:{port}", max_wait_s=10)
        result = await asyncio.wait_for(caller.run({}), timeout=60)
    return result.lead_turns, result.cut_ins


async def test_a_bot_that_answers_inside_the_leads_pause_has_cut_in() -> None:
    assert await _call(0.2) == (2, 1)


async def test_a_bot_that_waits_out_the_pause_has_not() -> None:
    assert await _call(0.9) == (2, 0)


def _longest_silence_s(pcm: bytes) -> float:
    longest = run = 0
    for frame in list(frames(pcm, RATE))[5:-5]:
        run = run + 1 if rms_dbfs(frame) <= -60 else 0
        longest = max(longest, run)
    return longest * 0.02


def test_a_turn_in_parts_is_one_line_with_its_gaps_of_silence() -> None:
    persona = parse_persona(PERSONA)
    assert [t.text for t in persona.turns[:2]] == ["Twelve thousand rupees.", "Yes."]
    long_gap = lead_utterances(persona)[0]
    short_gap = lead_utterances(parse_persona(PERSONA.replace("gap_s: 0.6", "gap_s: 0.1")))[0]
    # The voice's own silence at the edges of each part adds to both alike; the gap is the difference.
    assert 0.44 <= _longest_silence_s(long_gap) - _longest_silence_s(short_gap) <= 0.56
    assert len(long_gap) - len(short_gap) == 2 * int(RATE * 0.5)
