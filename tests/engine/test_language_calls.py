"""Per-campaign language and voice in the engine: which Whisper model and language a call asks for, which voice
speaks, and a Hindi campaign's call through the real pipeline spoken by espeak-ng's Hindi voice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.audio.end_of_turn import SmartTurn
from engine.call import run_call
from engine.config import EngineConfig
from engine.facade import Engine
from engine.records import CallRequest, Lead
from engine.services import EngineServices
from engine.speech.espeak import EspeakService, wav_samples
from engine.speech.languages import SttChoice, choose_voice, stt_choice
from engine.speech.stt import WhisperService
from engine.speech.tts import PiperService
from engine.telephony.leg import AudioIn, LegClosed, LegEvent
from models import ModelConfig, ModelMissingError, shared_registry
from tests.agent.conftest import SCRIPTS_DIR


@pytest.mark.parametrize(
    ("language", "choice"),
    [
        ("en-IN", SttChoice("english", "en")),
        ("hi-IN", SttChoice("multilingual", "hi")),
        ("hinglish", SttChoice("multilingual", "hi")),
    ],
)
def test_each_language_asks_for_its_whisper_model_and_language(language: str, choice: SttChoice) -> None:
    assert stt_choice(language) == choice


@pytest.mark.parametrize(
    ("language", "requested", "available", "chosen"),
    [
        ("en-IN", None, {"en-us-joe", "espeak-hi"}, "en-us-joe"),
        ("hi-IN", None, {"en-us-joe", "espeak-hi"}, "espeak-hi"),  # the bundled Hindi fallback
        ("hi-IN", None, {"en-us-joe", "espeak-hi", "hi-piper"}, "hi-piper"),  # a configured Hindi Piper voice wins
        ("hi-IN", "espeak-hi", {"en-us-joe", "espeak-hi", "hi-piper"}, "espeak-hi"),  # the script's choice wins
        ("en-IN", "en-female", {"en-us-joe", "en-female"}, "en-female"),
        ("en-IN", "en-female", {"en-us-joe"}, "en-us-joe"),  # its model removed since the campaign was checked
        ("hinglish", None, {"en-us-joe", "espeak-hi"}, "en-us-joe"),
    ],
)
def test_the_voice_is_the_scripts_choice_else_the_languages_default(
    language: str, requested: str | None, available: set[str], chosen: str
) -> None:
    assert choose_voice(language, requested, available) == chosen


def test_without_a_multilingual_model_hindi_is_refused_naming_the_setting() -> None:
    engine = Engine()
    assert engine.supports_language("en-IN")
    problem = engine.language_problem("hi-IN")
    assert problem is not None and "CLOSERR_WHISPER_MODEL_PATH_HI" in problem
    assert not engine.supports_language("hinglish")


def test_the_english_only_model_cannot_be_run_in_hindi() -> None:
    whisper = shared_registry(ModelConfig()).whisper()
    with pytest.raises(ValueError, match="English-only"):
        WhisperService(whisper, workers=1, language="hi")


def test_espeak_speaks_devanagari_as_telephone_pcm() -> None:
    tts = EspeakService("hi", out_rate=8000)
    try:
        pcm = tts.synthesize_blocking("नमस्ते, मैं प्रिया हूँ, एक एआई सहायक।")
    finally:
        tts.close()
    # About 3 s of speech at 8 kHz, 16-bit: a program that printed nothing or an error would give no samples.
    assert 8000 * 2 < len(pcm) < 8000 * 2 * 10
    assert max(abs(int.from_bytes(pcm[i : i + 2], "little", signed=True)) for i in range(0, len(pcm), 2)) > 1000


def test_espeak_stdout_wav_with_placeholder_sizes_is_read_to_its_end() -> None:
    header = (
        b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x22\x56\x00\x00\x44\xac\x00\x00"
        b"\x02\x00\x10\x00data\xff\xff\xff\x7f"
    )
    samples, rate = wav_samples(header + b"\x00\x40" * 5)
    assert rate == 22050 and samples.tolist() == [0.5] * 5


class SilentLead:
    """A leg whose lead listens in silence and hangs up once ``listen_bytes`` of the bot's audio arrived."""

    sample_rate = 8000
    supports_marks = False

    def __init__(self, listen_bytes: int) -> None:
        self.received = bytearray()
        self._listen_bytes = listen_bytes
        self._hung_up = asyncio.Event()

    async def events(self) -> AsyncIterator[LegEvent]:
        while len(self.received) < self._listen_bytes and not self._hung_up.is_set():
            yield AudioIn(bytes(320))
            await asyncio.sleep(0.02)
        yield LegClosed("lead hung up")

    async def send_audio(self, pcm: bytes) -> None:
        self.received += pcm

    async def send_mark(self, name: str) -> None:
        pass

    async def clear(self) -> None:
        pass

    async def hangup(self) -> None:
        self._hung_up.set()


def _services(hi_model: Path | None, load_stt: Callable[[Path, str], WhisperService] | None) -> EngineServices:
    """Services on the bundled models (shared by the process) with their own threads, closed by the test."""
    registry = shared_registry(ModelConfig())
    return EngineServices(
        config=EngineConfig(models=ModelConfig(whisper_model_path_hi=hi_model), end_of_turn="silence"),
        registry=registry,
        stt=WhisperService(registry.whisper(), workers=1),
        tts=PiperService(registry.piper()),
        smart_turn=SmartTurn(registry.smart_turn()),
        turn_executor=ThreadPoolExecutor(max_workers=1),
        stt_loader=load_stt,
    )


def _hindi_script() -> dict[str, Any]:
    script: dict[str, Any] = yaml.safe_load((SCRIPTS_DIR / "solar_hindi.yaml").read_text(encoding="utf-8"))
    del script["voice"]  # the hi-IN default: espeak-ng's Hindi voice, as no Hindi Piper voice is configured
    return script


def test_hindi_and_hinglish_share_one_service_on_the_multilingual_model_and_english_keeps_its_own(
    tmp_path: Path,
) -> None:
    hi_model = tmp_path / "whisper-small-multilingual"
    registry = shared_registry(ModelConfig())
    asked: list[tuple[Path, str]] = []

    def load_stt(path: Path, language: str) -> WhisperService:
        asked.append((path, language))
        return WhisperService(registry.whisper(), workers=1)

    services = _services(hi_model, load_stt)
    try:
        assert services.stt_for("en-IN") is services.stt
        assert asked == []  # an English call never asks for the multilingual model
        hindi = services.stt_for("hi-IN")
        assert services.stt_for("hinglish") is hindi
        assert asked == [(hi_model, "hi")]
    finally:
        services.close()


def test_without_the_setting_a_hindi_call_asks_for_no_model_and_the_service_names_the_setting() -> None:
    services = _services(None, None)
    try:
        with pytest.raises(ModelMissingError, match="CLOSERR_WHISPER_MODEL_PATH_HI"):
            services.stt_for("hi-IN")
    finally:
        services.close()


async def test_a_hindi_call_without_its_model_ends_at_once_with_an_error_naming_the_setting() -> None:
    # The API refuses such a campaign; this is a deployment whose setting was removed after the campaign was made.
    services = _services(None, None)
    leg = SilentLead(listen_bytes=1)
    try:
        record = await run_call(
            CallRequest(call_id="hindi-0", lead=Lead(name="Ravi", phone="+919812345678"), script=_hindi_script()),
            leg,
            services,
        )
    finally:
        services.close()
    assert record.error is not None and "CLOSERR_WHISPER_MODEL_PATH_HI" in record.error
    assert not leg.received and not record.transcript


async def test_a_hindi_campaign_call_speaks_with_espeak_and_asks_for_the_multilingual_model_in_hindi(
    tmp_path: Path,
) -> None:
    # No multilingual model ships here, so the loader of the Hindi speech-to-text records what the call asked for
    # and hands back a real Whisper service on the bundled model; the lead stays silent, so nothing is transcribed.
    hi_model = tmp_path / "whisper-base-multilingual"
    registry = shared_registry(ModelConfig())
    asked: list[tuple[Path, str]] = []

    def load_stt(path: Path, language: str) -> WhisperService:
        asked.append((path, language))
        return WhisperService(registry.whisper(), workers=1)

    services = _services(hi_model, load_stt)
    script = _hindi_script()
    leg = SilentLead(listen_bytes=8000 * 2)  # a second of the greeting
    try:
        record = await run_call(
            CallRequest(call_id="hindi-1", lead=Lead(name="Ravi", phone="+919812345678"), script=script, max_call_s=30),
            leg,
            services,
        )
        espeak = services.tts_for("espeak-hi")
    finally:
        services.close()

    assert record.error is None, record.error
    assert asked == [(hi_model, "hi")]
    greeting = record.transcript[0]
    assert greeting.role == "bot" and greeting.text.startswith("नमस्ते Ravi जी")
    spoken = espeak.cached(greeting.text)
    assert spoken is not None, "the greeting was not synthesized by espeak-ng"
    assert services.tts.cached(greeting.text) is None  # not by the English Piper voice
    heard = bytes(leg.received)
    assert len(heard) >= 8000 * 2 and heard[: 8000 * 2] == spoken[: 8000 * 2]


def test_an_idle_engine_trims_the_inference_threads_of_the_hindi_service_too(tmp_path: Path) -> None:
    registry = shared_registry(ModelConfig())
    workers = ModelConfig().stt_workers
    services = _services(
        tmp_path / "whisper-base", lambda path, language: WhisperService(registry.whisper(), workers=workers)
    )
    ran: list[int] = []
    try:
        services.stt_for("hi-IN").on_batch.append(lambda size, seconds, waits: ran.append(size))
        assert services.release_idle_memory()
    finally:
        services.close()
    # Each of its threads transcribed the short silence whose frees give their arenas' tops back to the OS.
    assert len(ran) == workers
