"""The composition root's one recipe: from the deployment's ``Settings`` to the ``Engine`` every command runs.

Each command reads the environment once (``get_settings()``), then builds what it serves from here, so every
process turns a setting into behaviour the same way.
"""

from __future__ import annotations

import ipaddress
import socket

from loguru import logger

from config.settings import Settings
from control_api.privacy.audio_files import audio_dir
from engine.facade import Engine, EngineConfig, LlmEndpoint, ModelConfig


def model_config(settings: Settings) -> ModelConfig:
    return ModelConfig(
        whisper_model_path=settings.whisper_model_path,
        piper_model_path=settings.piper_model_path,
        piper_config_path=settings.piper_config_path,
        whisper_model_path_hi=settings.whisper_model_path_hi,
        piper_voice_en_female_path=settings.piper_voice_en_female,
        piper_voice_hi_path=settings.piper_voice_hi,
        stt_threads=settings.stt_threads,
        stt_workers=settings.stt_workers,
    )


def llm_endpoint(settings: Settings) -> LlmEndpoint:
    """The endpoint the ``llm`` dialogue policy streams from: the engine's and ``closerr chat``'s."""
    key = settings.llm_api_key
    return LlmEndpoint(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=key.get_secret_value() if key is not None else None,
        first_token_timeout_s=settings.llm_first_token_timeout_s,
    )


def engine_config(settings: Settings) -> EngineConfig:
    inbound_password = settings.sip_inbound_password
    return EngineConfig(
        models=model_config(settings),
        tts_workers=settings.tts_workers,
        malloc_arenas=settings.malloc_arenas,
        malloc_trim_threshold_mb=settings.malloc_trim_threshold_mb,
        inference_nice=settings.inference_nice,
        vad=settings.vad,
        end_of_turn=settings.end_of_turn,
        vad_stop_s=settings.vad_stop_s,
        min_turn_silence_s=settings.min_turn_silence_s,
        answer_turn_silence_s=settings.answer_turn_silence_s,
        max_turn_silence_s=settings.max_turn_silence_s,
        barge_in_min_speech_s=settings.barge_in_min_speech_s,
        lead_silence_timeout_s=settings.lead_silence_timeout_s,
        max_call_s=settings.max_call_s,
        max_concurrent_calls=settings.max_concurrent_calls,
        sip_allowed_networks=sip_allowed_networks(settings),
        sip_media_to_sdp_address=settings.sip_media_to_sdp_address,
        sip_inbound_username=settings.sip_inbound_username,
        sip_inbound_password=inbound_password.get_secret_value() if inbound_password is not None else None,
        llm=llm_endpoint(settings),
        llm_profiles=llm_profiles(settings),
        # Where the privacy controls look for a call's audio, so retention and erasure find every recording.
        recordings_dir=audio_dir(settings.data_dir),
    )


def llm_profiles(settings: Settings) -> dict[str, LlmEndpoint]:
    """The named endpoints operators assign to accounts, each with its key from ``CLOSERR_LLM_PROFILE_API_KEYS``."""
    keys = settings.llm_profile_api_keys
    return {
        name: LlmEndpoint(
            base_url=profile.base_url,
            model=profile.model,
            api_key=keys[name].get_secret_value() if name in keys else None,
            first_token_timeout_s=profile.first_token_timeout_s or settings.llm_first_token_timeout_s,
        )
        for name, profile in settings.llm_profiles.items()
    }


def sip_allowed_networks(settings: Settings) -> tuple[str, ...]:
    """The networks inbound INVITEs may come from: ``CLOSERR_SIP_ALLOWED_NETWORKS`` (validated and normalised
    by ``Settings``), else the trunk host's addresses, else none."""
    if settings.sip_allowed_networks:
        return tuple(settings.sip_allowed_networks.split(","))
    host = settings.sip_trunk_host
    if not host:
        return ()
    try:
        return (str(ipaddress.ip_network(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError:
        logger.warning("CLOSERR_SIP_TRUNK_HOST does not resolve: inbound SIP is refused until it does")
        return ()
    return tuple(sorted({str(ipaddress.ip_network(info[4][0])) for info in infos}))


def build_engine(settings: Settings, *, accept_adhoc_streams: bool = False) -> Engine:
    """The process's engine. Ad-hoc media streams (no dispatcher announced them) stay refused unless asked for:
    only the engine-alone server, which no carrier reaches, asks."""
    return Engine(engine_config(settings), accept_adhoc_streams=accept_adhoc_streams)
