"""Text-to-speech with Piper, shared by every call in the process.

Speech leaves in small pieces so the first audio is ready early: the text is split into sentences and a long first
sentence into its first clause, each synthesized on a worker thread as the previous one plays. Fixed script lines
(greeting, questions, closings) are synthesized once and cached, so they start playing at once.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.audio.pcm import to_pcm16
from engine.audio.resample import resample

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def split_for_speech(text: str, min_words_to_split: int = 6) -> list[str]:
    """Sentences, with the first sentence split at its first clause boundary when it has more than a few words:
    "Got it," is ready in a few milliseconds and plays while the rest of the sentence is synthesized."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    if not sentences:
        return []
    first = sentences[0]
    if len(first.split()) > min_words_to_split:
        parts = _CLAUSE_END.split(first, maxsplit=1)
        if len(parts) == 2 and len(parts[0].split()) >= 2:
            return [parts[0], parts[1], *sentences[1:]]
    return sentences


class PiperService:
    def __init__(self, voice: object, *, out_rate: int = 8000, workers: int = 1, cache_size: int = 512) -> None:
        from piper import PiperVoice, SynthesisConfig

        assert isinstance(voice, PiperVoice)
        self._voice = voice
        self._config = SynthesisConfig()
        self._in_rate = voice.config.sample_rate
        self.out_rate = out_rate
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="piper")
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.on_synthesis: list = []  # callbacks(seconds) for metrics

    def _synthesize_blocking(self, text: str) -> bytes:
        started = time.perf_counter()
        chunks = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=self._config)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        pcm = to_pcm16(resample(audio.astype(np.float32), self._in_rate, self.out_rate))
        for callback in self.on_synthesis:
            callback(time.perf_counter() - started)
        return pcm

    def cached(self, text: str) -> bytes | None:
        with self._lock:
            pcm = self._cache.get(text)
            if pcm is not None:
                self._cache.move_to_end(text)
            return pcm

    def _store(self, text: str, pcm: bytes) -> None:
        with self._lock:
            self._cache[text] = pcm
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    async def synthesize(self, text: str, cache: bool = False) -> bytes:
        """The whole text as one piece of PCM16 at ``out_rate``."""
        pcm = self.cached(text)
        if pcm is not None:
            return pcm
        pcm = await asyncio.get_running_loop().run_in_executor(self._executor, self._synthesize_blocking, text)
        if cache:
            self._store(text, pcm)
        return pcm

    async def stream(self, text: str, cache: bool = False) -> AsyncIterator[tuple[str, bytes]]:
        """(piece of text, its audio) in speaking order; the next piece is synthesized while this one is used."""
        whole = self.cached(text)
        if whole is not None:
            yield text, whole
            return
        pieces = split_for_speech(text)
        loop = asyncio.get_running_loop()
        futures = [loop.run_in_executor(self._executor, self._synthesize_blocking, p) for p in pieces[:1]]
        collected: list[bytes] = []
        for index, piece in enumerate(pieces):
            if index + 1 < len(pieces):
                futures.append(loop.run_in_executor(self._executor, self._synthesize_blocking, pieces[index + 1]))
            pcm = await futures[index]
            collected.append(pcm)
            yield piece, pcm
        if cache:
            self._store(text, b"".join(collected))

    async def prewarm(self, texts: list[str]) -> None:
        for text in texts:
            if self.cached(text) is None:
                await self.synthesize(text, cache=True)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
