"""Finds the lead's turns in the inbound audio and transcribes them, as early as it safely can.

At every VAD pause (``vad_stop_s`` of silence) speech-to-text starts on the utterance so far (speculatively). A
transcript that ends a sentence (final punctuation, no dangling "and"/"about") is a finished turn, and so is one the
dialogue policy says already answers its question (``settles_turn``: Whisper often leaves "This month" without a
full stop, and Smart-Turn hears such short answers as unfinished); otherwise Smart-Turn decides. An answer the
policy recognises ends the turn after ``answer_turn_silence_s`` (0.35 s: the test voice pauses up to 0.30 s after
the comma of "Yes, I own it.", and the speech so far is a yes that Whisper writes "Yes." and Smart-Turn calls
finished, p 0.89-0.98, while it calls a whole "Yes, I would." unfinished); a turn that only sounds finished waits
for ``min_turn_silence_s`` (a comma pause inside "Yes, speaking." is shorter: ending the turn there cut the sentence
in two); if neither, the listener waits for more speech (the speculation is then discarded) or for
``max_turn_silence_s`` of silence, whichever comes first. While other calls' requests wait in the STT queue, a pause
reaches speech-to-text only at ``busy_vad_stop_s``: under load the short pauses inside a turn cost nothing, and the
queue (longest silence first) serves the leads who have finished. Smart-Turn runs only after Whisper, on transcripts
whose words do not settle the turn (about one turn in ten on the benchmark personas). Running it alongside every
speculation whenever an STT worker was idle cost 15 % of the engine's CPU at 24 calls and raised p95 voice-to-voice
by about 0.1 s; waiting for the transcript first adds nothing at one call, because STT and Smart-Turn together
finish before ``min_turn_silence_s`` (benchmarks/README.md).
Words that only open a reply ("Well.", "Let me check.", "About.": the policy's ``expects_more``) end the turn only
after ``max_turn_silence_s``, however finished they sound: Whisper puts a full stop after a thinking pause, and
answering there cut in on 45 % of the turns of the pause-heavy benchmark personas.
Speech over the bot becomes a barge-in only after ``barge_in_min_speech_s`` of voiced audio, so coughs and
"hmm"s do not stop the bot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from engine.audio.end_of_turn import SmartTurn, TurnVerdict
from engine.audio.pcm import samples_per_frame
from engine.audio.segmenter import SpeechPaused, SpeechResumed, SpeechSegmenter, SpeechStarted
from engine.audio.vad import FrameVad
from engine.pipeline.frames import BargeInFrame, LeadSpeechStartedFrame, LeadTurnFrame, PlayoutFrame
from engine.speech.stt import Transcript, WhisperService

# Words a finished sentence rarely ends on: a transcript ending on one is a turn still in progress.
_TRAILING_WORDS = frozenset(
    {
        "and",
        "or",
        "but",
        "so",
        "about",
        "around",
        "is",
        "are",
        "was",
        "the",
        "a",
        "an",
        "to",
        "of",
        "my",
        "um",
        "uh",
        "er",
        "like",
        "with",
        "for",
        "in",
        "at",
        "because",
        "if",
        "then",
    }
)


def trails_off(text: str) -> bool:
    """The transcript ends on a word that leads on ("My bill is about", "Yes, and"), or on nothing."""
    words = text.strip().rstrip(".?!").split()
    return not words or words[-1].lower().strip(",") in _TRAILING_WORDS


def ends_sentence(text: str) -> bool:
    """Whisper ended the transcript as a finished sentence: final punctuation, and not on a word that leads on
    ("My bill is about." is a pause, not an answer)."""
    text = text.strip()
    if not text or text.endswith("...") or text[-1] not in ".?!":
        return False
    return not trails_off(text)


def listening_rate(leg_rate: int) -> int:
    """The rate the listener hears a leg at: the leg's own where the VADs run at it (8 or 16 kHz), else 16 kHz
    (Whisper's rate; a 24 kHz stream is resampled on the way in)."""
    return leg_rate if leg_rate in (8000, 16000) else 16000


@dataclass
class ListenerConfig:
    vad_stop_s: float = 0.2
    min_turn_silence_s: float = 0.4
    max_turn_silence_s: float = 0.8
    # A turn whose words the policy says answer its question (a yes, one of the options) ends sooner.
    answer_turn_silence_s: float = 0.35
    # While requests wait in the STT queue, a pause starts speech-to-text only once it has lasted this long: the
    # shorter pauses inside a turn would queue work that the lead's next word throws away.
    busy_vad_stop_s: float = 0.3
    barge_in_min_speech_s: float = 0.2
    min_turn_voiced_s: float = 0.12


@dataclass
class _Speculation:
    audio: bytes
    paused_at: float
    last_voiced_at: float
    voiced_s: float
    task: asyncio.Task[None] | None = None
    transcript: Transcript | None = None
    expects_more: bool = False  # the words only open a reply: the turn waits out max_turn_silence_s
    verdict: TurnVerdict | None = None
    stt_s: float = 0.0
    silence_needed: float = 0.0  # the silence that ends the turn, set with the transcript


class LeadListener(FrameProcessor):
    def __init__(
        self,
        *,
        vad: FrameVad,
        stt: WhisperService,
        smart_turn: SmartTurn | None,
        turn_executor: Executor | None,
        sample_rate: int,
        config: ListenerConfig,
        stt_prompt: str | None = None,
        settles_turn: Callable[[str], bool] | None = None,
        expects_more: Callable[[str], bool] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(name="LeadListener", **kwargs)  # type: ignore[arg-type]
        self._vad = vad
        self._stt = stt
        self._smart_turn = smart_turn
        self._turn_executor = turn_executor
        self._rate = sample_rate
        self._cfg = config
        self._prompt = stt_prompt
        self._settles_turn = settles_turn
        self._expects_more = expects_more
        self._frame_bytes = samples_per_frame(sample_rate) * 2
        self._buffer = b""
        self._segmenter = SpeechSegmenter(pause_s=config.vad_stop_s)
        self._speculation: _Speculation | None = None
        self._started_at = 0.0
        self._barged = False
        self._bot_utterances: set[int] = set()
        self.speculations = 0
        self.discarded_speculations = 0
        self.deferred_pauses = 0

    @property
    def bot_speaking(self) -> bool:
        return bool(self._bot_utterances)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self._on_audio(frame.audio)
            return
        if isinstance(frame, PlayoutFrame):
            if frame.event == "started":
                self._bot_utterances.add(frame.utterance_id)
            else:
                self._bot_utterances.discard(frame.utterance_id)
        await self.push_frame(frame, direction)

    async def _on_audio(self, pcm: bytes) -> None:
        self._buffer += pcm
        while len(self._buffer) >= self._frame_bytes:
            chunk, self._buffer = self._buffer[: self._frame_bytes], self._buffer[self._frame_bytes :]
            await self._on_frame(chunk)

    async def _on_frame(self, chunk: bytes) -> None:
        now = time.monotonic()
        for event in self._segmenter.feed(chunk, self._vad.is_speech(chunk)):
            logger.debug("lead {}", type(event).__name__)
            if isinstance(event, SpeechStarted):
                self._started_at = now - (self._segmenter.voiced_s or 0.0)
                self._barged = False
                await self.push_frame(LeadSpeechStartedFrame(at=now, during_bot_speech=self.bot_speaking))
            elif isinstance(event, SpeechPaused):
                self._speculate(event, now)
            elif isinstance(event, SpeechResumed):
                self._discard()
        if (
            self.bot_speaking
            and not self._barged
            and self._segmenter.in_speech
            and self._segmenter.voiced_s >= self._cfg.barge_in_min_speech_s
        ):
            self._barged = True
            await self.push_frame(BargeInFrame(at=now))
        spec = self._speculation
        if spec is None:
            return
        if spec.task is None and (self._stt.queue_depth == 0 or self._segmenter.silence_s >= self._cfg.busy_vad_stop_s):
            self._start_stt(spec)
        elif spec.transcript is not None and self._turn_over(spec):
            await self._finalize(spec)

    def _speculate(self, event: SpeechPaused, now: float) -> None:
        self._discard()
        spec = _Speculation(
            audio=event.audio,
            paused_at=now,
            last_voiced_at=now - self._cfg.vad_stop_s,
            voiced_s=event.voiced_s,
        )
        self._speculation = spec
        if self._stt.queue_depth == 0:
            self._start_stt(spec)
        # else: other calls' requests are waiting; _on_frame starts this one when the pause grows or the queue drains

    def _start_stt(self, spec: _Speculation) -> None:
        self.speculations += 1
        spec.task = self.create_task(self._run_speculation(spec), "speculate")

    def _discard(self) -> None:
        spec, self._speculation = self._speculation, None
        if spec is None:
            return
        if spec.task is None:
            self.deferred_pauses += 1  # never reached speech-to-text
            return
        self.discarded_speculations += 1
        # Cancelling reaches the STT queue: a request not yet started is skipped, not transcribed for nothing.
        spec.task.cancel()

    async def _run_speculation(self, spec: _Speculation) -> None:
        stt = asyncio.ensure_future(
            self._stt.transcribe(spec.audio, self._rate, self._prompt, since=spec.last_voiced_at)
        )
        verdict: TurnVerdict | None = None
        try:
            transcript = await stt
            spec.stt_s = time.monotonic() - spec.paused_at
            if self._smart_turn is not None and self._words_end_turn(transcript.text) is None:
                verdict = await self._predict_turn(spec)
        except asyncio.CancelledError:
            stt.cancel()
            raise
        spec.transcript = transcript
        spec.verdict = verdict
        spec.expects_more = self._expects_more is not None and self._expects_more(transcript.text)
        spec.silence_needed = self._silence_needed(spec)  # once: _on_frame compares it on every frame
        if self._speculation is spec and self._turn_over(spec):
            await self._finalize(spec)

    async def _predict_turn(self, spec: _Speculation) -> TurnVerdict:
        assert self._smart_turn is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._turn_executor, self._smart_turn.predict, spec.audio, self._rate)

    def _turn_over(self, spec: _Speculation) -> bool:
        return self._segmenter.silence_s >= spec.silence_needed

    def _silence_needed(self, spec: _Speculation) -> float:
        """The silence that ends this turn: short for an answer the policy recognises, longer for a sentence that
        only sounds finished, longest for words that open a reply or that nothing calls finished."""
        if spec.expects_more:
            return self._cfg.max_turn_silence_s
        completion = self._completion(spec)
        if completion == "answer":
            return self._cfg.answer_turn_silence_s
        return self._cfg.max_turn_silence_s if completion is None else self._cfg.min_turn_silence_s

    def _completion(self, spec: _Speculation) -> str | None:
        """Why the turn sounds finished, or None. The words first, Smart-Turn for the rest: Smart-Turn calls short
        complete answers on telephone audio ("Yes, I do.") unfinished about a third of the time
        (benchmarks/README.md)."""
        if self._smart_turn is None:
            return "pause"
        words = self._words_end_turn(spec.transcript.text) if spec.transcript is not None else None
        if words is not None:
            return words
        return "smart_turn" if spec.verdict is not None and spec.verdict.complete else None

    def _words_end_turn(self, text: str) -> str | None:
        """ "answer" for an answer to the pending question that does not lead on, "sentence" for a finished
        sentence, else None."""
        if self._settles_turn is not None and not trails_off(text) and self._settles_turn(text):
            return "answer"
        if ends_sentence(text):
            return "sentence"
        return None

    async def _finalize(self, spec: _Speculation) -> None:
        if self._speculation is not spec or spec.transcript is None:
            return
        self._speculation = None
        self._segmenter.reset()
        text = spec.transcript.text.strip()
        logger.debug("lead turn: {} chars, voiced {:.2f}s", len(text), spec.voiced_s)
        if not text or spec.voiced_s < self._cfg.min_turn_voiced_s:
            return
        await self.push_frame(
            LeadTurnFrame(
                text=text,
                started_at=self._started_at,
                last_voiced_at=spec.last_voiced_at,
                decided_at=time.monotonic(),
                stt_s=spec.stt_s,
                stt_queue_s=spec.transcript.queue_wait_s,
                voiced_s=spec.voiced_s,
                turn_end="silence" if spec.expects_more else (self._completion(spec) or "silence"),
            )
        )
