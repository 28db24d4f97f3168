"""Speech-to-text with faster-whisper's CTranslate2 model, shared by every call in the process.

Two choices make replies fast and let one box carry many calls:

* The encoder gets a window sized to the utterance (at least ``min_window_s``) instead of Whisper's fixed 30 s.
  CTranslate2 accepts the shorter mel input; on tiny.en the encoder takes ~60 ms on a 10 s window, ~100 ms on
  15 s and ~400 ms on 30 s (one thread). Shorter windows make Whisper repeat itself ("Yes, speaking. Yes,
  speaking."), which a tight token budget and ``collapse_repeats`` undo. At 10 s the words of every persona
  line (three noisy renditions each) came out as at 15 s, for 23 % less CPU a request; Whisper drops the final
  full stop more often (54 % of lines instead of 41 %), which only means Smart-Turn is asked more often.
  Below 10 s the repeats start to mutate and can no longer be undone reliably.
* Requests from all calls go through one queue served by ``workers`` inference threads (one CTranslate2 replica
  each), so the event loop never blocks. On 2 cores, two single-threaded workers served 1.5x the requests per
  second of one worker with two threads, at nearly the same latency per request: tiny.en's matrices are too small
  for intra-op threads to pay. Batching (``max_batch``) is off by default: on a 2-core CPU a batch of 4 took
  longer than 4 single requests (benchmarks/README.md). A request cancelled while queued (a discarded
  speculation) is skipped.
* Under load the queue is served longest-silence first: a request carries when its lead fell silent (``since``),
  and the lead who has waited longest for a reply is transcribed next, not the one who paused last.
"""

from __future__ import annotations

import asyncio
import difflib
import itertools
import math
import queue
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import ctranslate2
import numpy as np

from engine.audio.resample import resample
from engine.priority import lower_thread_priority

WHISPER_RATE = 16000
_HOP = 160  # samples per mel frame at 16 kHz
_N_FFT = 400
_MAX_FRAMES = 3000


@dataclass(frozen=True)
class Transcript:
    text: str
    no_speech_prob: float
    queue_wait_s: float  # time spent waiting for the inference thread
    inference_s: float  # time of the batch this request ran in
    batch_size: int


@dataclass
class _Request:
    audio: np.ndarray  # float32 16 kHz
    prompt: str | None
    submitted: float
    future: Future[Transcript] = field(default_factory=Future)


# Queue entries: (since, sequence, request); a stop sentinel sorts after every request.
_Entry = tuple[float, int, _Request | None]
_STOP = math.inf


class WhisperService:
    def __init__(
        self,
        whisper_model: object,
        *,
        min_window_s: float = 10.0,
        max_batch: int = 1,
        no_speech_threshold: float = 0.6,
        workers: int = 1,
        nice: int = 0,
        language: str = "en",
    ) -> None:
        from faster_whisper import WhisperModel

        assert isinstance(whisper_model, WhisperModel)
        self._whisper = whisper_model
        self._model: ctranslate2.models.Whisper = whisper_model.model
        self._features = whisper_model.feature_extractor
        self._tokenizer = whisper_model.hf_tokenizer
        self._min_frames = int(min_window_s * WHISPER_RATE / _HOP)
        self._max_batch = max_batch
        self._no_speech_threshold = no_speech_threshold
        tok = self._tokenizer.token_to_id
        if language != "en" and not self._model.is_multilingual:
            raise ValueError(f"an English-only Whisper model cannot transcribe language {language!r}")
        # The language every request of this service is transcribed in (Whisper's token), fixed per model+language.
        self.language = language
        self._sot_sequence = [tok("<|startoftranscript|>")]
        if self._model.is_multilingual:
            language_token = tok(f"<|{language}|>")
            if language_token is None:
                raise ValueError(f"the Whisper model has no language {language!r}")
            self._sot_sequence += [language_token, tok("<|transcribe|>")]
        self._sot_sequence.append(tok("<|notimestamps|>"))
        self._prev = tok("<|startofprev|>")
        self._queue: queue.PriorityQueue[_Entry] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._nice = nice  # the inference threads' (engine/priority.py)
        self._threads = [
            threading.Thread(target=self._serve, name=f"whisper-inference-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()
        self.on_batch: list = []  # callbacks(batch_size, inference_s, [queue waits]) for metrics

    # -- public ------------------------------------------------------------------------------------------------
    async def transcribe(
        self, pcm16: bytes, sample_rate: int, prompt: str | None = None, since: float | None = None
    ) -> Transcript:
        """``since``: when the lead fell silent (``time.monotonic()``); the longest silence is served first."""
        return await asyncio.wrap_future(self._submit(pcm16, sample_rate, prompt, since).future)

    def transcribe_blocking(self, pcm16: bytes, sample_rate: int, prompt: str | None = None) -> Transcript:
        return self._submit(pcm16, sample_rate, prompt, None).future.result()

    def _submit(self, pcm16: bytes, sample_rate: int, prompt: str | None, since: float | None) -> _Request:
        request = _Request(resample(pcm16, sample_rate, WHISPER_RATE), prompt, time.perf_counter())
        self._queue.put((time.monotonic() if since is None else since, next(self._sequence), request))
        return request

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the inference threads after the batches in progress (see PiperService.close for why)."""
        for _ in self._threads:
            self._queue.put((_STOP, next(self._sequence), None))
        for thread in self._threads:
            thread.join(timeout_s)

    # -- inference thread ---------------------------------------------------------------------------------------
    def _serve(self) -> None:
        lower_thread_priority(self._nice)
        while True:
            first = self._queue.get()[2]
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry[2] is None:
                    self._queue.put(entry)
                    break
                batch.append(entry[2])
            # A speculation discarded while it waited (the lead kept talking) is cancelled: skip it.
            batch = [r for r in batch if r.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                self._run(batch)
            except Exception as exc:  # one bad batch must not kill the thread serving every call
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)

    def _log_mel(self, audio: np.ndarray, frames: int) -> np.ndarray:
        """Whisper's log-mel of ``audio`` zero-padded to ``frames`` frames, with the STFT run only over the audio.

        A frame that sees only padding has mel power 0, which Whisper's log-mel clamps to (loudest - 8); so every
        frame past the audio holds the same value, known once the audio's frames are done. A short answer in a 15 s
        window skips most of the feature work (a fifth of a request's CPU)."""
        audio = audio[: frames * _HOP]
        # Frames centred within half an FFT window (200 samples) of the audio see some of it; two more, of zeros,
        # give the clamp value.
        voiced = min(frames, (audio.size + _N_FFT // 2) // _HOP + 3)
        mel = self._features(np.pad(audio, (0, voiced * _HOP - audio.size + _HOP)))[:, :voiced]
        if voiced == frames:
            return mel  # type: ignore[no-any-return]
        silence = max(-1.5, float(mel.max()) - 2.0)  # (max(log10(1e-10), loudest - 8) + 4) / 4
        return np.pad(mel, ((0, 0), (0, frames - voiced)), constant_values=silence)  # type: ignore[no-any-return]

    def _prompt_ids(self, prompt: str | None) -> list[int]:
        if not prompt:
            return list(self._sot_sequence)
        ids = self._tokenizer.encode(" " + prompt.strip(), add_special_tokens=False).ids[-100:]
        return [self._prev, *ids, *self._sot_sequence]

    def _run(self, batch: list[_Request]) -> None:
        started = time.perf_counter()
        longest = max(r.audio.size for r in batch)
        # Round the window up to whole seconds so batches of similar utterances share one shape.
        frames = min(_MAX_FRAMES, max(self._min_frames, math.ceil(longest / WHISPER_RATE + 0.5) * 100))
        feats = [self._log_mel(request.audio, frames) for request in batch]
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(feats).astype(np.float32)))
        prompts = [self._prompt_ids(r.prompt) for r in batch]
        # CTranslate2 counts the prompt in max_length. The bound on new tokens (fast speech is ~5 tokens a second)
        # stops runaway repetition early: each needless token costs as much as a tenth of the encoder.
        max_tokens = min(200, int(longest / WHISPER_RATE * 6) + 6) + max(len(p) for p in prompts)
        results = self._model.generate(
            features,
            prompts,
            beam_size=1,
            max_length=max_tokens,
            return_no_speech_prob=True,
            suppress_blank=True,
        )
        elapsed = time.perf_counter() - started
        for request, result in zip(batch, results, strict=True):
            text = collapse_repeats(self._tokenizer.decode(result.sequences_ids[0]).strip())
            if result.no_speech_prob > self._no_speech_threshold and len(text.split()) <= 2:
                text = ""
            request.future.set_result(
                Transcript(text, result.no_speech_prob, started - request.submitted, elapsed, len(batch))
            )
        for callback in self.on_batch:
            callback(len(batch), elapsed, [started - r.submitted for r in batch])


def _norm(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def collapse_repeats(text: str) -> str:
    """Cut Whisper's hallucinated repetition: when the opening words (two or more, ending at punctuation) come
    round again nearly verbatim, keep the first round only. "No, no, I rent." is kept: a one-word unit is speech,
    not a loop."""
    tokens = text.split()
    words = [_norm(t) for t in tokens]
    for size in range(2, len(tokens)):
        if not re.search(r"[,.;:!?]$", tokens[size - 1]):
            continue
        follow = words[size : 2 * size]
        ends_inside_repeat = size + len(follow) == len(words) and follow == words[: len(follow)]
        if follow and ends_inside_repeat and re.search(r"[.!?]$", tokens[size - 1]):
            # The token budget stopped decoding inside the second round: what follows the sentence is its start.
            return " ".join(tokens[:size])
        if len(follow) < max(2, size - 1):
            continue
        if difflib.SequenceMatcher(None, words[:size], follow).ratio() >= 0.65:
            return " ".join(tokens[:size]).rstrip(",;:")
    return text
