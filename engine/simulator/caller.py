"""The simulated lead on the far end of a carrier media stream.

It behaves like the carrier plus the phone: it streams the lead's microphone as 20 ms frames in real time (silence
between utterances), plays the bot's audio through a real-time playout buffer, echoes marks when playback reaches
them and drops its buffer on ``clear``, as Twilio, Exotel and Plivo document (``far_end.py`` holds the formats).
Timing is measured from what crosses the socket: voice-to-voice runs from the last voiced frame the lead sent to
the first voiced bot frame received. A voiced bot frame that arrives while a turn of the lead's is still being said
(a pause inside it, or its last words) is a cut-in: the agent took the turn before the lead gave it up.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import websockets

from engine.audio.pcm import frames, rms_dbfs
from engine.simulator.far_end import FAR_ENDS
from engine.simulator.persona import Persona
from engine.simulator.voices import beep

FRAME_S = 0.02
VOICED_DBFS = -40.0
SILENT_FRAME = b"\x00\x00" * 160


def _voiced(pcm: bytes) -> bool:
    return rms_dbfs(pcm) > VOICED_DBFS


@dataclass
class CallerResult:
    call_id: str
    v2v_s: list[float] = field(default_factory=list)
    hung_up_by_lead: bool = False
    engine_closed: bool = False
    bot_audio_s: float = 0.0
    error: str | None = None
    # Turns the lead said without talking over the bot, and how many of them the bot started speaking in before
    # the lead had finished (at a pause inside the turn): cut-ins.
    lead_turns: int = 0
    cut_ins: int = 0


class SimulatedCaller:
    def __init__(self, persona: Persona, utterances: list[bytes], url: str, *, max_wait_s: float = 25.0) -> None:
        self.persona = persona
        self.utterances = utterances
        self.url = url
        self.call_id = f"sim-{uuid.uuid4().hex[:12]}"
        self.stream_sid = f"MZ{uuid.uuid4().hex}"
        self.max_wait_s = max_wait_s
        self.result = CallerResult(self.call_id)
        self._mic: deque[bytes] = deque()
        self._playback: deque[bytes | str] = deque()  # audio frames and mark names, in arrival order
        self._last_heard_voice = 0.0
        self._bot_utterance_started = 0.0
        self._heard_since_speaking = False
        self._speech_end: float | None = None
        # Frames of the lead's current utterance still to send up to its last voiced one (the voice's trailing
        # silence is not part of it): while any are left, the lead has not finished, and bot voice is no reply.
        self._voiced_left = 0
        self._counting_cut_ins = False  # a turn said after the bot went quiet (not a barge-in)
        self._turn_cut_in = False
        self._closed = asyncio.Event()
        self._ws: Any = None
        self._far = FAR_ENDS[persona.carrier](self.stream_sid, self.call_id, persona.sample_rate)

    # -- messages --------------------------------------------------------------------------------------------
    async def _send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def _start(self, custom: dict[str, str]) -> None:
        for message in self._far.opening(custom):
            await self._send(message)

    # -- the two real-time loops -----------------------------------------------------------------------------
    async def _clock(self) -> None:
        """Every 20 ms: send one microphone frame and play one received frame."""
        next_at = time.monotonic()
        chunk = 0
        while not self._closed.is_set():
            if self._mic:
                pcm = self._mic.popleft()
                self._voiced_left = max(0, self._voiced_left - 1)
            else:
                pcm = SILENT_FRAME
            now = time.monotonic()
            if pcm is not SILENT_FRAME and _voiced(pcm):
                self._speech_end = now
                self._heard_since_speaking = False
            chunk += 1
            try:
                await self._send(self._far.media(pcm, chunk))
            except websockets.ConnectionClosed:
                self._closed.set()
                return
            await self._play_one()
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _play_one(self) -> None:
        while self._playback and isinstance(self._playback[0], str):
            await self._send_mark(str(self._playback.popleft()))
        if self._playback:
            pcm = self._playback.popleft()
            assert isinstance(pcm, bytes)
            if _voiced(pcm):
                self._last_heard_voice = time.monotonic()
        while self._playback and isinstance(self._playback[0], str):
            await self._send_mark(str(self._playback.popleft()))

    async def _send_mark(self, name: str) -> None:
        await self._send(self._far.mark_played(name))

    async def _receive(self) -> None:
        try:
            async for raw in self._ws:
                inbound = self._far.read(json.loads(raw))
                if inbound.kind == "media":
                    pcm = inbound.pcm
                    self.result.bot_audio_s += len(pcm) / 16000
                    if _voiced(pcm) and self._voiced_left and self._counting_cut_ins and not self._turn_cut_in:
                        self._turn_cut_in = True
                        self.result.cut_ins += 1
                    if _voiced(pcm) and not self._voiced_left:
                        now = time.monotonic()
                        if self._speech_end is not None:
                            self.result.v2v_s.append(round(now - self._speech_end, 4))
                            self._speech_end = None
                        if not self._heard_since_speaking:
                            self._bot_utterance_started = now
                        self._heard_since_speaking = True
                    self._playback.extend(frames(pcm, 8000))
                elif inbound.kind == "mark":
                    self._playback.append(inbound.name)
                elif inbound.kind == "clear":
                    marks = [m for m in self._playback if isinstance(m, str)]
                    self._playback.clear()
                    for message in self._far.cleared():
                        await self._send(message)
                    for name in marks:
                        await self._send_mark(name)
        except websockets.ConnectionClosed:
            pass
        self.result.engine_closed = not self.result.hung_up_by_lead
        self._closed.set()

    # -- the lead's behaviour --------------------------------------------------------------------------------
    async def _speak(self, pcm: bytes) -> None:
        utterance = list(frames(pcm, 8000))
        voiced = [i for i, frame in enumerate(utterance) if _voiced(frame)]
        self._voiced_left = voiced[-1] + 1 if voiced else 0
        self._mic.extend(utterance)
        while self._mic and not self._closed.is_set():
            await asyncio.sleep(FRAME_S)

    async def _wait_bot_quiet(self) -> None:
        """Until the bot has said something since we last spoke and then been quiet for the persona's pause."""
        deadline = time.monotonic() + self.max_wait_s
        while not self._closed.is_set() and time.monotonic() < deadline:
            quiet_for = time.monotonic() - self._last_heard_voice
            if self._heard_since_speaking and not self._playback_voiced() and quiet_for >= self.persona.pause_s:
                return
            await asyncio.sleep(FRAME_S)

    def _playback_voiced(self) -> bool:
        return any(isinstance(f, bytes) and _voiced(f) for f in list(self._playback)[:10])

    async def _wait_bot_talking(self) -> None:
        deadline = time.monotonic() + self.max_wait_s
        while not self._closed.is_set() and time.monotonic() < deadline:
            if self._heard_since_speaking:
                return
            await asyncio.sleep(FRAME_S)

    async def _behave(self) -> None:
        utterances = iter(self.utterances)
        if self.persona.answering_machine:
            greeting = next(utterances)
            await self._speak(greeting)
            await self._speak(beep())
            await self._closed.wait()
            return
        for turn in self.persona.turns:
            if self._closed.is_set():
                return
            if turn.hangup:
                await self._wait_bot_quiet()
                self.result.hung_up_by_lead = True
                stop = self._far.stop()
                if stop is not None:
                    await self._send(stop)
                await self._ws.close()
                self._closed.set()
                return
            if turn.silence_s is not None:
                await self._wait_bot_quiet()
                await asyncio.sleep(turn.silence_s)
                continue
            pcm = next(utterances)
            if turn.barge_in_after_s is not None:
                await self._wait_bot_talking()
                await asyncio.sleep(max(0.0, turn.barge_in_after_s - (time.monotonic() - self._bot_utterance_started)))
                await self._speak(pcm)
                continue
            await self._wait_bot_quiet()
            self.result.lead_turns += 1
            self._counting_cut_ins, self._turn_cut_in = True, False
            try:
                await self._speak(pcm)
            finally:
                self._counting_cut_ins = False
        try:
            await asyncio.wait_for(self._closed.wait(), timeout=self.max_wait_s + 15)
        except TimeoutError:
            self.result.error = "engine did not end the call"
            self._closed.set()

    async def run(self, custom: dict[str, str]) -> CallerResult:
        custom = {"call_id": self.call_id, **custom}
        async with websockets.connect(self.url, max_size=2**22, open_timeout=30) as ws:
            self._ws = ws
            await self._start(custom)
            tasks = [asyncio.create_task(c) for c in (self._clock(), self._receive(), self._behave())]
            try:
                await self._closed.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        return self.result
