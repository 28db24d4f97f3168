"""What the engine is configured with: plain values the command layer builds from the deployment's settings.

The engine reads no environment: every process that runs calls (``closerr serve``, ``closerr worker``,
``python -m closerr.engine_server``, the demo, tests) builds one ``EngineConfig`` and hands it to ``Engine``. The
defaults are the deployment defaults, so a test or benchmark can build a config with only what it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from models import ModelConfig


@dataclass(frozen=True)
class LlmEndpoint:
    """An OpenAI-compatible streaming chat-completions endpoint for the ``llm`` dialogue policy."""

    base_url: str = "http://127.0.0.1:8080/v1"
    model: str = "default"
    api_key: str | None = field(default=None, repr=False)
    first_token_timeout_s: float = 1.5


@dataclass(frozen=True)
class EngineConfig:
    models: ModelConfig = field(default_factory=ModelConfig)  # also how many Whisper workers (stt_workers)
    # Inference services shared by every call in the process.
    tts_workers: int = 1
    malloc_arenas: int = 2
    malloc_trim_threshold_mb: int = 1
    inference_nice: int = 4
    # Turn-taking.
    vad: Literal["webrtc", "silero"] = "webrtc"
    end_of_turn: Literal["smart_turn", "silence"] = "smart_turn"
    vad_stop_s: float = 0.2
    min_turn_silence_s: float = 0.4
    answer_turn_silence_s: float = 0.35
    max_turn_silence_s: float = 0.8
    barge_in_min_speech_s: float = 0.2
    lead_silence_timeout_s: float = 7.0
    max_call_s: float = 600.0
    # Admission: media streams beyond this many live calls are refused.
    max_concurrent_calls: int = 24
    # Inbound SIP: the networks (CIDRs) INVITEs are answered from (none: every other INVITE gets 403), and whether RTP
    # may go where the SDP says instead of to the address the signalling came from.
    sip_allowed_networks: tuple[str, ...] = ()
    sip_media_to_sdp_address: bool = False
    # Digest credentials a caller from elsewhere may prove instead (both set, or none).
    sip_inbound_username: str | None = None
    sip_inbound_password: str | None = field(default=None, repr=False)
    llm: LlmEndpoint = field(default_factory=LlmEndpoint)
    # Named endpoints an account may be assigned instead of ``llm`` (a call names its profile in the request).
    llm_profiles: Mapping[str, LlmEndpoint] = field(default_factory=dict)
    # Where call recordings are written (``<call_id>.ogg``); None: calls are never recorded.
    recordings_dir: Path | None = None
