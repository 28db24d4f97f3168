"""Text-to-speech, shared by every call in the process: Piper voices here, espeak-ng in ``engine.speech.espeak``.

Speech leaves in small pieces so the first audio is ready early: the text is split into sentences and the first
sentence into its first clause when that is an acknowledgement or the sentence is long, each synthesized on a
worker thread as the previous one plays; short pieces are cached. Fixed script lines
(greeting, questions, closings) are synthesized once and cached, so they start playing at once.

All calls share a few synthesis threads fed by one priority queue: a live reply always goes before the background
pre-synthesis of script lines, and a line already being synthesized for one call is not synthesized again for
another (its result is shared).
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future

import numpy as np

from engine.audio.pcm import to_pcm16
from engine.audio.resample import resample
from engine.speech.sentences import split_first_clause, split_sentences

LIVE = 0
BACKGROUND = 1


# A piece this short ("Got it,", "Okay,") recurs across calls: it is cached, so a reply opening with it starts
# playing at once even when every synthesis thread is busy.
SHORT_PIECE_WORDS = 3


def split_for_speech(text: str, min_words_to_split: int = 6) -> list[str]:
    """Sentences, with the first sentence split at its first clause boundary when it opens with a short
    acknowledgement ("Okay, 5 years.") or has more than a few words: "Got it," is ready at once and plays while
    the rest of the sentence is synthesized."""
    sentences = split_sentences(text)
    if not sentences:
        return []
    first = sentences[0]
    parts = split_first_clause(first)
    if parts is not None:
        head = len(parts[0].split())
        if head <= SHORT_PIECE_WORDS or (len(first.split()) > min_words_to_split and head >= 2):
            return [*parts, *sentences[1:]]
    return sentences


async def _shared(future: Future[bytes]) -> bytes:
    """Await a synthesis other calls may be waiting for too. A call interrupted while waiting (barge-in, hang-up)
    must not cancel it: the cancelled job stayed registered as pending, and every later call speaking the same
    piece got the cancellation instead of audio. A reply then stopped after its cached opening ("Okay,") in
    every call of that script, for the life of the process."""
    return await asyncio.shield(asyncio.wrap_future(future))


class SpeechSynthesizer:
    """The synthesis queue, threads and cache every voice shares; a voice supplies ``_audio`` (text -> float32
    samples at its own rate), which runs on the synthesis threads, never on the event loop."""

    thread_name = "tts"

    def __init__(self, *, out_rate: int = 8000, workers: int = 1, cache_size: int = 512) -> None:
        self.out_rate = out_rate
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._jobs: queue.PriorityQueue[tuple[int, int, str, bool]] = queue.PriorityQueue()
        self._pending: dict[str, Future[bytes]] = {}
        self._store_when_done: set[str] = set()
        self._order = itertools.count()
        self.on_synthesis: list[Callable[[float], None]] = []  # callbacks(seconds) for metrics
        self._threads = [
            threading.Thread(target=self._serve, name=f"{self.thread_name}-{index}", daemon=True)
            for index in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def _audio(self, text: str) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    # -- the synthesis threads ----------------------------------------------------------------------------------
    def _synthesize_blocking(self, text: str) -> bytes:
        started = time.perf_counter()
        audio, rate = self._audio(text)
        pcm = to_pcm16(resample(audio.astype(np.float32), rate, self.out_rate))
        for callback in self.on_synthesis:
            callback(time.perf_counter() - started)
        return pcm

    def _serve(self) -> None:
        while True:
            _, _, text, stop = self._jobs.get()
            if stop and not text:
                return
            with self._lock:
                future = self._pending.get(text)
                # Several queue entries may point at one job (a live request raised its priority): run it once.
                if future is None or future.running():
                    continue
                if not future.set_running_or_notify_cancel():
                    del self._pending[text]  # cancelled while queued: a later request starts afresh
                    continue
            try:
                pcm = self._synthesize_blocking(text)
            except Exception as exc:  # a bad line must not kill the thread every call shares
                with self._lock:
                    self._pending.pop(text, None)
                    self._store_when_done.discard(text)
                future.set_exception(exc)
                continue
            with self._lock:
                self._pending.pop(text, None)
                if text in self._store_when_done:
                    self._store_when_done.discard(text)
                    self._store_locked(text, pcm)
            future.set_result(pcm)

    def _submit(self, text: str, priority: int, cache: bool) -> Future[bytes]:
        with self._lock:
            if cache:
                self._store_when_done.add(text)
            future = self._pending.get(text)
            if future is None or future.cancelled():
                future = Future()
                self._pending[text] = future
            elif future.running() or priority == BACKGROUND:
                return future
            self._jobs.put((priority, next(self._order), text, cache))
            return future

    # -- cache ---------------------------------------------------------------------------------------------------
    def cached(self, text: str) -> bytes | None:
        with self._lock:
            pcm = self._cache.get(text)
            if pcm is not None:
                self._cache.move_to_end(text)
            return pcm

    def _store_locked(self, text: str, pcm: bytes) -> None:
        self._cache[text] = pcm
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def synthesize_blocking(self, text: str) -> bytes:
        """``synthesize`` for threads outside the event loop (start-up warm-up, tools)."""
        return self.cached(text) or self._submit(text, LIVE, False).result()

    # -- async API -----------------------------------------------------------------------------------------------
    async def synthesize(self, text: str, cache: bool = False, priority: int = LIVE) -> bytes:
        """The whole text as one piece of PCM16 at ``out_rate``."""
        pcm = self.cached(text)
        if pcm is not None:
            return pcm
        return await _shared(self._submit(text, priority, cache))

    async def stream(self, text: str, cache: bool = False) -> AsyncIterator[tuple[str, bytes]]:
        """(piece of text, its audio) in speaking order; the next piece is synthesized while this one is used."""
        whole = self.cached(text)
        if whole is not None:
            yield text, whole
            return
        if cache:
            # A fixed line being pre-synthesized right now: wait for it rather than synthesizing it twice.
            with self._lock:
                in_flight = self._pending.get(text)
            if in_flight is not None:
                self._submit(text, LIVE, cache)
                yield text, await _shared(in_flight)
                return
        pieces = split_for_speech(text)
        futures = [self._piece(piece) for piece in pieces[:2]]
        collected: list[bytes] = []
        for index, piece in enumerate(pieces):
            if index + 2 < len(pieces):
                futures.append(self._piece(pieces[index + 2]))
            pcm = await _shared(futures[index])
            collected.append(pcm)
            yield piece, pcm
        if cache:
            with self._lock:
                self._store_locked(text, b"".join(collected))

    def _piece(self, piece: str) -> Future[bytes]:
        pcm = self.cached(piece)
        if pcm is not None:
            done: Future[bytes] = Future()
            done.set_result(pcm)
            return done
        return self._submit(piece, LIVE, len(piece.split()) <= SHORT_PIECE_WORDS)

    async def prewarm(self, texts: list[str], priority: int = BACKGROUND) -> None:
        """Synthesize and cache ``texts``; background priority yields to every live reply."""
        futures = [self._submit(t, priority, True) for t in texts if self.cached(t) is None]
        for future in futures:
            await _shared(future)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the synthesis threads once the line in progress is done. A thread still inside onnxruntime when
        the interpreter exits aborts the process, so this runs at exit (see engine.services)."""
        with self._lock:
            while True:
                try:
                    self._jobs.get_nowait()
                except queue.Empty:
                    break
            for future in self._pending.values():
                future.cancel()
        for _ in self._threads:
            self._jobs.put((-1, next(self._order), "", True))
        for thread in self._threads:
            thread.join(timeout_s)


class PiperService(SpeechSynthesizer):
    """A Piper voice (onnxruntime, in process)."""

    thread_name = "piper"

    def __init__(self, voice: object, *, out_rate: int = 8000, workers: int = 1, cache_size: int = 512) -> None:
        from piper import PiperVoice, SynthesisConfig

        assert isinstance(voice, PiperVoice)
        self._voice = voice
        self._config = SynthesisConfig()
        super().__init__(out_rate=out_rate, workers=workers, cache_size=cache_size)

    def _audio(self, text: str) -> tuple[np.ndarray, int]:
        chunks = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=self._config)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return audio, self._voice.config.sample_rate
