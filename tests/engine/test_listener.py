"""LeadListener on the real models, driven through a pipecat pipeline with telephone audio in real time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.pipeline.worker import PipelineWorker

from engine.audio.end_of_turn import SmartTurn, TurnVerdict
from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.audio.pcm import frames, rms_dbfs, silence
from engine.audio.vad import WebRtcVad
from engine.pipeline.frames import LeadTurnFrame
from engine.pipeline.listener import LeadListener, ListenerConfig
from engine.simulator.voices import synthesize
from engine.speech.stt import WhisperService
from tests.engine.pipelines import Collect, run_pipeline
from tests.engine_services import shared_services

RATE = 8000
# Shaped like the script policy's prompt (a transcript of this call): Whisper then punctuates as it did there.
PROMPT = "Priya from SunRoof Solar: Hello. Lead: Yes."


class CountingSmartTurn:
    """The real Smart-Turn model, counting how often the listener asks it."""

    def __init__(self, model: SmartTurn) -> None:
        self._model = model
        self.calls = 0

    def predict(self, pcm16: bytes, sample_rate: int) -> TurnVerdict:
        self.calls += 1
        return self._model.predict(pcm16, sample_rate)


@pytest.fixture(scope="module")
def phone_audio() -> dict[str, bytes]:
    texts = [
        "Call me tomorrow at five.",
        "My bill is about, um",
        "Well.",
        "Yes, I would like that.",
        "Yes,",
        "I have a car.",
    ]
    return {t: ulaw_decode(ulaw_encode(pcm)) for t, pcm in zip(texts, synthesize("piper", texts), strict=True)}


class BusyStt:
    """The real speech-to-text, reporting other calls' requests waiting in its queue."""

    queue_depth = 3

    def __init__(self, stt: WhisperService) -> None:
        self._stt = stt

    async def transcribe(self, pcm16: bytes, sample_rate: int, prompt: str | None = None, since: float | None = None):
        return await self._stt.transcribe(pcm16, sample_rate, prompt, since)


async def listen(
    audio: bytes,
    expects_more: Callable[[str], bool] | None = None,
    settles_turn: Callable[[str], bool] | None = None,
    config: ListenerConfig | None = None,
    busy: bool = False,
) -> tuple[list[LeadTurnFrame], int, LeadListener]:
    """Play ``audio`` and 1.2 s of silence into a listener in real time: the turns it reports, how many times it
    asked Smart-Turn, and the listener (its counts)."""
    services = shared_services()
    smart_turn = CountingSmartTurn(services.smart_turn)
    turns = Collect(LeadTurnFrame)
    listener = LeadListener(
        vad=WebRtcVad(RATE),
        stt=BusyStt(services.stt) if busy else services.stt,  # type: ignore[arg-type]
        smart_turn=smart_turn,  # type: ignore[arg-type]
        turn_executor=services.turn_executor,
        sample_rate=RATE,
        config=config or ListenerConfig(),
        stt_prompt=PROMPT,
        expects_more=expects_more,
        settles_turn=settles_turn,
    )

    async def play(worker: PipelineWorker) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, chunk in enumerate(frames(audio + silence(RATE, 1.2), RATE)):
            await worker.queue_frame(InputAudioRawFrame(audio=chunk, sample_rate=RATE, num_channels=1))
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))
        await asyncio.sleep(0.3)

    await run_pipeline([listener, turns], play)
    return turns.frames, smart_turn.calls, listener


async def test_a_finished_sentence_ends_the_turn_without_asking_smart_turn(phone_audio):
    """Whisper's full stop already says the turn is over: Smart-Turn's CPU is spent only where the words leave the
    turn open (it used to run beside every speculation, 15 % of the engine's CPU at 24 calls)."""
    turns, smart_turn_calls, _ = await listen(phone_audio["Call me tomorrow at five."])
    assert [t.turn_end for t in turns] == ["sentence"], [(t.text, t.turn_end) for t in turns]
    assert "tomorrow" in turns[0].text.lower()
    assert smart_turn_calls == 0


async def test_an_answer_the_policy_recognises_ends_the_turn_sooner_than_a_sentence(phone_audio):
    """A yes to the pending question needs only ``answer_turn_silence_s``; the same words with no question pending
    are a sentence and wait for ``min_turn_silence_s`` (set far apart here so the order cannot be noise)."""
    # 0.35 s: the voice pauses 0.26 s after "Yes," here, and a shorter wait cuts the answer in two (the reason for
    # the default).
    config = ListenerConfig(answer_turn_silence_s=0.35, min_turn_silence_s=0.7, max_turn_silence_s=1.0)
    audio = phone_audio["Yes, I would like that."]

    def says_yes(text: str) -> bool:
        return "yes" in text.lower()

    answered, _, _ = await listen(audio, settles_turn=says_yes, config=config)
    said, _, _ = await listen(audio, config=config)
    assert [t.turn_end for t in answered] == ["answer"], [(t.text, t.turn_end) for t in answered]
    assert [t.turn_end for t in said] == ["sentence"], [(t.text, t.turn_end) for t in said]
    answer_wait = answered[0].decided_at - answered[0].last_voiced_at
    sentence_wait = said[0].decided_at - said[0].last_voiced_at
    # A frame (20 ms) of slack: the last voiced moment is estimated from the VAD pause.
    assert 0.33 <= answer_wait < sentence_wait and sentence_wait >= 0.68, (answer_wait, sentence_wait)


async def test_an_open_ended_transcript_asks_smart_turn_before_the_turn_ends(phone_audio):
    turns, smart_turn_calls, _ = await listen(phone_audio["My bill is about, um"])
    assert smart_turn_calls >= 1
    assert len(turns) == 1 and turns[0].turn_end in ("smart_turn", "silence"), [(t.text, t.turn_end) for t in turns]


def _trimmed(pcm: bytes) -> bytes:
    """Without the voice's own silence at either end, so a gap put between two clips is the gap heard."""
    voiced = [i for i, frame in enumerate(frames(pcm, RATE)) if rms_dbfs(frame) > -45]
    return b"".join(list(frames(pcm, RATE))[voiced[0] : voiced[-1] + 1])


async def test_a_thinking_pause_after_words_that_only_open_a_reply_does_not_end_the_turn(phone_audio):
    """ "Well." then 0.6 s of thought then the answer: Whisper writes a full stop after "Well", and without the
    policy's word that a bare "Well." answers nothing the turn ended there, and the agent cut in."""
    audio = _trimmed(phone_audio["Well."]) + silence(RATE, 0.6) + _trimmed(phone_audio["Yes, I would like that."])

    def opener(text: str) -> bool:
        return set(text.lower().replace(".", " ").replace(",", " ").split()) == {"well"}

    turns, _, _ = await listen(audio)
    assert len(turns) == 2, [(t.text, t.turn_end) for t in turns]  # the cut-in the hint prevents
    turns, _, _ = await listen(audio, expects_more=opener)
    assert len(turns) == 1, [(t.text, t.turn_end) for t in turns]
    assert "would" in turns[0].text.lower() and turns[0].text.lower().startswith("well")


async def test_under_load_a_short_pause_inside_a_turn_costs_no_speech_to_text(phone_audio):
    """A 0.25 s pause between "Well." and the answer starts speculative speech-to-text on an idle service; with
    requests waiting in its queue it does not (they start at ``busy_vad_stop_s``), and the turn comes out whole."""
    audio = _trimmed(phone_audio["Well."]) + silence(RATE, 0.25) + _trimmed(phone_audio["Yes, I would like that."])
    _, _, idle = await listen(audio)
    busy_turns, _, busy = await listen(audio, busy=True)
    assert idle.speculations >= 2 and idle.deferred_pauses == 0
    assert busy.deferred_pauses >= 1 and busy.speculations == 1
    assert len(busy_turns) == 1 and "would" in busy_turns[0].text.lower(), [t.text for t in busy_turns]
    assert busy_turns[0].text.lower().startswith("well")
