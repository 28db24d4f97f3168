"""The services every call of one engine shares: the models and the inference queues in front of them."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

import metrics
from engine.audio.end_of_turn import SmartTurn
from engine.config import EngineConfig
from engine.memory import BUSY_TRIM_THRESHOLD, cap_heap_top, limit_malloc_arenas, release_free_memory
from engine.priority import lower_thread_priority, run_at_low_priority
from engine.speech.espeak import EspeakService, espeak_available
from engine.speech.languages import HI_MODEL_SETTING, VOICES, choose_voice, stt_choice
from engine.speech.stt import WhisperService
from engine.speech.tts import PiperService, SpeechSynthesizer
from models import ModelConfig, ModelMissingError, ModelRegistry, shared_registry

SMART_TURN_THREADS = 2
WARM_UP_LINE = "Thank you for calling back, could you tell me when you would like the visit and where you live?"


def available_voices(models: ModelConfig) -> frozenset[str]:
    """The voices a deployment can speak with: the bundled Piper voice, the Piper voices whose model is configured,
    and the espeak-ng voices when the program is installed."""
    names = {"en-us-joe"}
    for name, voice in VOICES.items():
        configured = models.piper_voice_path(name) is not None
        if configured if voice.kind == "piper" else espeak_available():
            names.add(name)
    return frozenset(names)


@dataclass
class EngineServices:
    config: EngineConfig
    registry: ModelRegistry
    stt: WhisperService
    tts: PiperService
    smart_turn: SmartTurn
    turn_executor: ThreadPoolExecutor

    _release_lock: threading.Lock = field(default_factory=threading.Lock)
    # The services of other languages and voices, started by the first call that needs them.
    _extra_stt: dict[str, WhisperService] = field(default_factory=dict)
    _extra_tts: dict[str, SpeechSynthesizer] = field(default_factory=dict)
    _extra_lock: threading.Lock = field(default_factory=threading.Lock)
    # Builds the speech-to-text service of (multilingual model path, Whisper language); None: load the model.
    stt_loader: Callable[[Path, str], WhisperService] | None = None

    def __post_init__(self) -> None:
        self._observe_stt(self.stt)
        self._observe_tts(self.tts)

    @staticmethod
    def _observe_stt(stt: WhisperService) -> None:
        def on_stt_batch(size: int, seconds: float, waits: list[float]) -> None:
            metrics.INFERENCE_SECONDS.labels(model="stt").observe(seconds)
            for wait in waits:
                metrics.INFERENCE_QUEUE_WAIT_SECONDS.labels(model="stt").observe(wait)

        stt.on_batch.append(on_stt_batch)

    @staticmethod
    def _observe_tts(tts: SpeechSynthesizer) -> None:
        tts.on_synthesis.append(lambda s: metrics.INFERENCE_SECONDS.labels(model="tts").observe(s))

    # -- per-language speech ------------------------------------------------------------------------------------
    def stt_for(self, language: str) -> WhisperService:
        """The speech-to-text service of a campaign language: the English service, or one on the multilingual
        model run with that language's token. Blocking on first use (loads the model): call off the event loop.
        Raises ModelMissingError when the language needs a model that is not configured."""
        choice = stt_choice(language)
        if choice.model == "english":
            return self.stt
        path = self.config.models.whisper_model_path_hi
        if path is None:
            raise ModelMissingError(
                f"{language} needs a multilingual Whisper model: set {HI_MODEL_SETTING} to a CTranslate2 Whisper "
                "model directory"
            )
        with self._extra_lock:
            service = self._extra_stt.get(choice.language)
            if service is None:
                service = (self.stt_loader or self._load_stt)(path, choice.language)
                self._observe_stt(service)
                self._extra_stt[choice.language] = service
        return service

    def _load_stt(self, path: Path, language: str) -> WhisperService:
        whisper = self.registry.whisper(path)
        models = self.config.models
        return WhisperService(whisper, workers=models.stt_workers, nice=self.config.inference_nice, language=language)

    def voice_for(self, language: str, requested: str | None) -> str:
        return choose_voice(language, requested, available_voices(self.config.models))

    def tts_for(self, voice: str) -> SpeechSynthesizer:
        """The synthesis service of a voice (``engine.speech.languages.VOICES``). Blocking on first use."""
        if voice == "en-us-joe":
            return self.tts
        spec = VOICES[voice]
        with self._extra_lock:
            service = self._extra_tts.get(voice)
            if service is None:
                if spec.kind == "espeak":
                    assert spec.espeak_voice is not None
                    service = EspeakService(
                        spec.espeak_voice, out_rate=self.tts.out_rate, workers=self.config.tts_workers
                    )
                else:
                    path = self.config.models.piper_voice_path(voice)
                    if path is None:
                        raise ModelMissingError(f"voice {voice!r} needs {spec.setting}")
                    service = PiperService(self.registry.piper(path), out_rate=self.tts.out_rate,
                                           workers=self.config.tts_workers)  # fmt: skip
                self._observe_tts(service)
                self._extra_tts[voice] = service
        return service

    @classmethod
    def create(cls, config: EngineConfig, registry: ModelRegistry | None = None) -> EngineServices:
        """Load the models (once per process: ``shared_registry``) and start the inference threads. Blocking."""
        registry = registry or shared_registry(config.models)
        low_priority = functools.partial(lower_thread_priority, config.inference_nice)
        # One BLAS thread. numpy's OpenBLAS otherwise keeps a thread per core that spin-waits after every small
        # matrix product (the mel filterbank of each STT and Smart-Turn request): it doubled the CPU an STT request
        # costs (0.175 -> 0.084 CPU-s at the same wall time), CPU every other call was waiting for.
        threadpool_limits(limits=1, user_api="blas")
        limit_malloc_arenas(config.malloc_arenas)
        if config.malloc_trim_threshold_mb:
            cap_heap_top(BUSY_TRIM_THRESHOLD)

        # Speech synthesis keeps the event loop's priority: a reply's next clause must be ready before the one
        # playing ends, or the lead hears the bot stall mid-sentence. It is a small share of the CPU (10-20 % of
        # one thread at 24 calls); Whisper and Smart-Turn are the bulk and can wait a few milliseconds.
        tts = PiperService(registry.piper(), out_rate=8000, workers=config.tts_workers)

        def build() -> EngineServices:
            return cls(
                config=config,
                registry=registry,
                stt=WhisperService(registry.whisper(), workers=config.models.stt_workers, nice=config.inference_nice),
                tts=tts,
                smart_turn=SmartTurn(registry.smart_turn()),
                turn_executor=ThreadPoolExecutor(
                    max_workers=SMART_TURN_THREADS, thread_name_prefix="smart-turn", initializer=low_priority
                ),
            )

        # Every thread the models and services start inherits the loading thread's (lower) priority.
        return run_at_low_priority(build, config.inference_nice)

    def warm_up(self, rounds: int = 3) -> None:
        """Run every inference thread a few times, side by side, before the first call.

        CTranslate2's replicas and onnxruntime's sessions allocate their working buffers on first use, per
        thread, and grow them over the first few runs. Done here, the first calls do not pay for it, and the
        process's idle size is its size ready to serve, so memory after a busy hour can be compared with it
        (benchmarks/README.md, capacity: memory).
        """
        speech = self.tts.synthesize_blocking(WARM_UP_LINE)
        for _ in range(rounds):
            turns = [
                self.turn_executor.submit(self.smart_turn.predict, speech, self.tts.out_rate)
                for _ in range(SMART_TURN_THREADS)
            ]
            self._on_every_stt_worker(speech, turns)

    def _on_every_stt_worker(self, speech: bytes, alongside: list[Future[Any]] | None = None) -> None:
        """Transcribe ``speech`` once per STT worker, all at once, so every worker (and its CTranslate2 replica)
        runs one: those of the English service and of every language's service started so far."""
        workers = max(self.config.models.stt_workers, 1)
        with self._extra_lock:
            services = [self.stt, *self._extra_stt.values()]
        with ThreadPoolExecutor(max_workers=workers * len(services)) as callers:
            running = [
                callers.submit(stt.transcribe_blocking, speech, self.tts.out_rate)
                for stt in services
                for _ in range(workers)
            ]
            for future in [*running, *(alongside or [])]:
                future.result()

    def release_idle_memory(self, still_idle: Callable[[], bool] = lambda: True) -> bool:
        """Give the memory the finished calls freed back to the OS, down to the idle size; False where the C
        library cannot. Blocking (it runs Whisper): call it off the event loop, when no call is running.

        A thread arena's top is given back only by a large ``free()`` in that arena (``cap_heap_top``), and the
        arenas holding Whisper's buffers belong to CTranslate2's inference threads. So for a moment the threshold
        is lowered and every worker transcribes a short silence: its frees trim its arena's top. Each replica's
        working buffers also shrink to a short window's. Without it, the process stayed up to 64 MiB per thread
        arena above its idle size after long utterances (benchmarks/README.md, capacity: memory)."""
        with self._release_lock:
            if not still_idle():
                return False
            capped = cap_heap_top(self.config.malloc_trim_threshold_mb * 2**20)
            try:
                if capped:
                    self._on_every_stt_worker(bytes(self.tts.out_rate))  # half a second of 16-bit silence
                return release_free_memory()
            finally:
                if capped:
                    cap_heap_top(BUSY_TRIM_THRESHOLD)

    def close(self) -> None:
        with self._extra_lock:
            extra: list[WhisperService | SpeechSynthesizer] = [*self._extra_stt.values(), *self._extra_tts.values()]
        for service in [self.stt, self.tts, *extra]:
            service.close()
        self.turn_executor.shutdown(wait=True, cancel_futures=True)
