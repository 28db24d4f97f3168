"""The composition root turns every setting the engine uses into its EngineConfig, and builds a closed engine."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from closerr.build import build_engine, engine_config
from config.settings import Settings
from engine.facade import EngineConfig, LlmEndpoint, ModelConfig


def test_every_engine_setting_reaches_the_engine() -> None:
    settings = Settings(
        stt_workers=2,
        stt_threads=2,
        whisper_model_path=Path("/models/whisper"),
        tts_workers=2,
        inference_nice=7,
        vad="silero",
        end_of_turn="silence",
        min_turn_silence_s=0.5,
        lead_silence_timeout_s=3.0,
        max_call_s=90.0,
        max_concurrent_calls=7,
        llm_base_url="http://127.0.0.1:9/v1",
        llm_api_key="sk-test",  # type: ignore[arg-type]
    )
    config = engine_config(settings)
    assert config.models.stt_workers == 2 and config.models.stt_threads == 2
    assert config.models.whisper_model_path == Path("/models/whisper")
    assert (config.tts_workers, config.inference_nice, config.vad, config.end_of_turn) == (2, 7, "silero", "silence")
    assert (config.min_turn_silence_s, config.lead_silence_timeout_s, config.max_call_s) == (0.5, 3.0, 90.0)
    assert config.max_concurrent_calls == 7
    assert config.llm.base_url == "http://127.0.0.1:9/v1" and config.llm.api_key == "sk-test"
    assert "sk-test" not in repr(config)  # the key is a plain string down here: never in a log line


def test_the_defaults_agree_with_the_settings_defaults() -> None:
    # A test or benchmark that builds EngineConfig() runs the engine the deployment runs by default.
    config = engine_config(Settings())
    assert config.recordings_dir == Settings().data_dir / "audio"
    for part, default in ((config, EngineConfig()), (config.models, ModelConfig()), (config.llm, LlmEndpoint())):
        for f in fields(part):
            # Where recordings go is the deployment's data directory: a bare EngineConfig() writes none.
            if f.name not in ("models", "llm", "recordings_dir"):
                assert getattr(part, f.name) == getattr(default, f.name), f.name


def test_a_built_engine_refuses_streams_no_dispatcher_announced() -> None:
    assert not build_engine(Settings()).directory.accept_adhoc
    assert build_engine(Settings(), accept_adhoc_streams=True).directory.accept_adhoc
