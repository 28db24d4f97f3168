"""Configuration from environment variables (prefix ``CLOSERR_``); see the README for the full table.

Only the commands in ``closerr/`` call ``get_settings()``; they hand each layer the part it needs (``Settings`` to the
control API, ``EngineConfig`` to the engine, ``ModelConfig`` to the model registry). This package imports nothing
of ours.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROFILE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class LlmProfile(BaseModel):
    """A named OpenAI-compatible endpoint; its key, if any, is in ``CLOSERR_LLM_PROFILE_API_KEYS``."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    model: str = Field(default="default", min_length=1, max_length=200)
    first_token_timeout_s: float | None = Field(default=None, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOSERR_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="SQLite file, audio and logs live here")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL (postgresql+asyncpg://...); default: SQLite under data_dir"
    )
    host: str = Field(default="127.0.0.1", description="interface the server listens on")
    port: int = Field(default=8000, description="HTTP port of the server")
    log_level: str = Field(default="INFO", description="DEBUG also shows pipecat's per-frame traffic")

    # Models: unset means "the bundled one".
    whisper_model_path: Path | None = Field(default=None, description="a CTranslate2 Whisper model directory")
    piper_model_path: Path | None = Field(default=None, description="a Piper voice (.onnx)")
    piper_config_path: Path | None = Field(default=None, description="its .onnx.json; default: next to the model")
    whisper_model_path_hi: Path | None = Field(
        default=None,
        description="a multilingual CTranslate2 Whisper model directory for hi-IN and hinglish campaigns "
        "(none is bundled: without it such campaigns are refused)",
    )
    piper_voice_en_female: Path | None = Field(
        default=None, description="a female English Piper voice (.onnx, .onnx.json beside it): script voice en-female"
    )
    piper_voice_hi: Path | None = Field(
        default=None,
        description="a Hindi Piper voice (.onnx, .onnx.json beside it): script voice hi-piper, the hi-IN default "
        "when set (else espeak-ng)",
    )
    stt_workers: int = Field(
        default=3, ge=1, description="Whisper inference threads serving every call's speech-to-text requests"
    )
    stt_threads: int = Field(default=1, ge=1, description="CPU threads each Whisper inference thread uses")
    tts_workers: int = Field(default=1, ge=1, description="threads synthesizing speech with Piper")
    malloc_arenas: int = Field(
        default=2,
        ge=0,
        description="glibc malloc arenas the engine's threads share (0: glibc's default, 8 per core); fewer arenas "
        "keep fewer freed pages, so the process returns near its idle size after calls",
    )
    malloc_trim_threshold_mb: int = Field(
        default=1,
        ge=0,
        description="free memory (MiB) a glibc thread arena keeps at its top once the engine falls idle (0: glibc's "
        "default, which keeps up to 64 MiB per arena after long utterances)",
    )
    inference_nice: int = Field(
        default=4,
        ge=0,
        le=19,
        description="nice value of the inference threads, so the event loop pacing calls' audio wins the CPU (0: off)",
    )

    # Audio pipeline.
    vad: Literal["webrtc", "silero"] = Field(default="webrtc", description="voice activity detector")
    end_of_turn: Literal["smart_turn", "silence"] = Field(
        default="smart_turn", description="smart_turn: Smart-Turn v3.2 decides at each pause; silence: VAD only"
    )
    vad_stop_s: float = Field(default=0.2, gt=0, description="pause that starts speculative speech-to-text")
    min_turn_silence_s: float = Field(
        default=0.4, gt=0, description="silence that ends a turn Smart-Turn calls complete (longer than a comma)"
    )
    answer_turn_silence_s: float = Field(
        default=0.35, gt=0, description="silence ending a turn whose words answer the question (a yes, an option)"
    )
    max_turn_silence_s: float = Field(
        default=0.8, gt=0, description="silence ending a turn Smart-Turn calls unfinished"
    )
    barge_in_min_speech_s: float = Field(default=0.2, gt=0, description="voiced speech over the bot that interrupts it")
    lead_silence_timeout_s: float = Field(default=7.0, gt=0, description="lead silence before a re-prompt")
    max_call_s: float = Field(default=600.0, gt=0, description="hard limit on one call's length")
    max_concurrent_calls: int = Field(
        default=24,
        ge=1,
        description="admission limit: media streams beyond this many live calls are refused (close code 1013); "
        "default: the largest N with p95 voice-to-voice <= 1 s in every capacity run on 2 cores "
        "(benchmarks/results/capacity.md)",
    )

    # SIP trunk endpoint (engine/telephony/sip). sip_port 0 disables the listener.
    sip_port: int = 0
    sip_advertise_host: str | None = Field(default=None, description="address put in Via/Contact/SDP; default: host")
    sip_trunk_host: str | None = None
    sip_trunk_port: int = 5060
    sip_trunk_transport: Literal["udp", "tcp"] = "udp"
    sip_trunk_username: str | None = None
    sip_trunk_password: SecretStr | None = None
    sip_trunk_domain: str | None = Field(default=None, description="domain of the Request-URI; default: trunk host")
    sip_caller_id: str = "closerr"
    sip_ring_timeout_s: float = 45.0
    sip_rtp_port_min: int = 0  # 0: any free port; else RTP binds even ports in [min, max] (firewall range)
    sip_rtp_port_max: int = 0
    sip_allowed_networks: str = Field(
        default="",
        description="CIDRs inbound INVITEs may come from, comma-separated; default: the trunk host's address; "
        "others get 403",
    )
    sip_inbound_username: str | None = Field(
        default=None, description="digest user a caller outside the allowed networks may authenticate as"
    )
    sip_inbound_password: SecretStr | None = None
    sip_media_to_sdp_address: bool = Field(
        default=False,
        description="send inbound calls' RTP to the SDP's address (a media gateway apart from the signalling "
        "proxy); default: to the address the INVITE came from",
    )

    # Next to the fields they check.
    @model_validator(mode="after")
    def _inbound_sip_settings(self) -> Settings:
        networks = []
        for item in (part.strip() for part in self.sip_allowed_networks.split(",")):
            if not item:
                continue
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError as exc:
                raise ValueError(f"CLOSERR_SIP_ALLOWED_NETWORKS: {item!r} is not an IP network or address") from exc
        self.sip_allowed_networks = ",".join(networks)  # normalised: 10.0.0.0/8,192.0.2.7/32
        if (self.sip_inbound_username is None) != (self.sip_inbound_password is None):
            raise ValueError("CLOSERR_SIP_INBOUND_USERNAME and CLOSERR_SIP_INBOUND_PASSWORD: set both or neither")
        return self

    # Secrets: only ever from the environment.
    audit_hmac_key: SecretStr = Field(
        default=SecretStr("closerr-dev-audit-key-change-me"),
        description="keys the audit chain and phone pseudonyms; 32+ random characters, required outside --dev",
    )
    llm_api_key: SecretStr | None = Field(default=None, description="bearer key of the deployment's LLM endpoint")
    llm_profile_api_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON {"profile": "key"}: the bearer key of each named LLM profile',
    )

    # LLM dialogue policy (a campaign's policy "llm"): any OpenAI-compatible chat-completions endpoint that streams.
    llm_base_url: str = Field(default="http://127.0.0.1:8080/v1", description="the deployment's LLM endpoint")
    llm_model: str = Field(default="default", description="the model it serves")
    llm_first_token_timeout_s: float = Field(
        default=1.5, gt=0, description="past this wait for a reply's first token the script answers the turn"
    )
    llm_profiles: dict[str, LlmProfile] = Field(
        default_factory=dict,
        description='JSON {"profile": {"base_url": ..., "model": ...}}: other endpoints an operator may assign to an '
        "account (`PUT /v1/operator/accounts/{id}/llm`)",
    )

    @model_validator(mode="after")
    def _llm_profile_keys_name_profiles(self) -> Settings:
        for name in self.llm_profiles:
            if not PROFILE_NAME.fullmatch(name):
                raise ValueError(f"CLOSERR_LLM_PROFILES: profile name {name!r} must match {PROFILE_NAME.pattern}")
        unknown = sorted(set(self.llm_profile_api_keys) - set(self.llm_profiles))
        if unknown:
            raise ValueError(f"CLOSERR_LLM_PROFILE_API_KEYS names profiles CLOSERR_LLM_PROFILES lacks: {unknown}")
        return self

    # Privacy: the two retention clocks, the purge schedule, grievance deadline, residency, TLS.
    content_retention_days: int = Field(
        default=90, ge=1, description="transcripts and audio; campaigns/accounts may set their own"
    )
    metadata_retention_days: int = Field(
        default=365, ge=365, description="call metadata and the audit log (DPDP Rule 8(3): at least one year)"
    )
    retention_interval_s: float = Field(default=3600.0, gt=0, description="how often the purge job runs")
    grievance_due_days: int = Field(default=90, ge=1, description="DPDP s.13: resolve within 90 days")
    default_region: str = "in"
    served_regions: str = Field(default="in", description="comma-separated regions whose data this deployment stores")
    retention_scheduler: bool = Field(default=True, description="run the retention purge inside the server")
    tls_cert: Path | None = None
    tls_key: Path | None = None

    # Control API: request size limits (bytes); the upload/import routes stream their bodies.
    api_max_body_bytes: int = Field(default=1_000_000, gt=0, description="JSON bodies")
    upload_max_bytes: int = Field(default=1 << 30, gt=0, description="lead uploads (CSV / NDJSON)")
    registry_import_max_bytes: int = Field(default=4 << 30, gt=0, description="DND registry imports")
    sql_echo: bool = False

    # Control API: abuse limits, counted in the database so every API process shares them.
    rate_limits: bool = Field(default=True, description="false switches every rate limit off (benchmarks only)")
    rate_limit_signups_per_hour: int = Field(default=5, ge=1, description="account sign-ups per client address")
    rate_limit_failed_auth_per_minute: int = Field(
        default=20, ge=1, description="invalid API keys per client address; then 429 until the minute ends"
    )
    rate_limit_expensive_per_minute: int = Field(
        default=60, ge=1, description="lead uploads, DND imports, campaign starts and access exports per API key"
    )
    warm_phone_cache: bool = Field(default=True, description="classify mobile prefixes at `closerr serve` start")

    # Web console: signs and encrypts the session cookie; unset: a random key per process (sign-ins end
    # on restart). 32+ random bytes, e.g. ``openssl rand -hex 32``.
    console_session_secret: SecretStr | None = None
    console_secure_cookies: bool = Field(
        default=False, description="Secure console cookies behind a TLS proxy (implied when `closerr serve` has TLS)"
    )

    # Legal calling hours in the lead's local time (TRAI: commercial calls 09:00-21:00). Every campaign window lies
    # within them and is clamped to them at dial time; only the operator of the deployment changes them.
    calling_hours_start: str = Field(
        default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="earliest legal call time (HH:MM)"
    )
    calling_hours_end: str = Field(
        default="21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="latest legal call time (HH:MM)"
    )

    # Dispatch: workers, leases, caps, carriers, credits, fraud guard, webhooks.
    carrier: Literal["simulated", "twilio", "exotel", "plivo", "sip"] = "simulated"
    media_public_url: str | None = Field(
        default=None, description="wss:// base the carrier's media stream connects back to; default ws://host:port"
    )
    public_url: str | None = Field(
        default=None, description="https:// base of this worker (Plivo answer URL, carriers' AMD callbacks)"
    )
    carrier_amd: bool = Field(
        default=True,
        description="ask Twilio and Plivo for answering-machine detection on each dial (local detection runs always)",
    )
    worker_id: str | None = Field(default=None, description="default: hostname-pid")
    worker_port: int = Field(default=8100, ge=1, le=65535)
    dispatch_poll_s: float = Field(default=1.0, gt=0)
    lease_ttl_s: float = Field(default=30.0, gt=0, description="a lease not heartbeated for this long expires")
    heartbeat_s: float = Field(default=5.0, gt=0)
    worker_max_calls: int = Field(
        default=24, ge=1, description="calls one worker runs at once (never more than CLOSERR_MAX_CONCURRENT_CALLS)"
    )
    worker_drain_s: float = Field(default=600.0, ge=0, description="on shutdown, wait this long for calls to end")
    account_concurrency: int = Field(default=20, ge=1, description="calls at once per account, across workers")
    ring_timeout_s: float = Field(default=45.0, gt=0)
    credit_rate_per_second: int = Field(default=1, ge=0, description="credits per started second of a call")
    fraud_max_calls_per_hour: int = Field(default=2000, ge=1)
    fraud_max_spend_per_day: int = Field(default=2_000_000, ge=1)
    carrier_retries: int = Field(
        default=2, ge=0, description="retries of an originate request the carrier surely did not act on (429, 503)"
    )
    carrier_backoff_s: float = Field(default=0.5, gt=0, description="first retry wait; doubles, with full jitter")
    carrier_backoff_max_s: float = Field(default=10.0, gt=0, description="longest wait between two retries")
    carrier_breaker_threshold: int = Field(
        default=5, ge=1, description="transient carrier failures in a row that open the breaker (no dials)"
    )
    carrier_breaker_cool_down_s: float = Field(
        default=30.0, ge=0, description="how long an open breaker stops dials before one trial dial"
    )
    sim_no_answer_rate: float = Field(default=0.0, ge=0, le=1)
    sim_busy_rate: float = Field(default=0.0, ge=0, le=1)
    sim_failed_rate: float = Field(default=0.0, ge=0, le=1)
    sim_ring_s: float = Field(default=0.3, ge=0)
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    exotel_account_sid: str | None = None
    exotel_api_key: str | None = None
    exotel_api_token: SecretStr | None = None
    exotel_caller_id: str | None = None
    exotel_app_id: str | None = Field(default=None, description="the flow (app) with the Voicebot applet")
    exotel_api_base: str = "https://api.exotel.com"
    plivo_auth_id: str | None = None
    plivo_auth_token: SecretStr | None = None
    plivo_from_number: str | None = None
    plivo_api_base: str = "https://api.plivo.com"
    webhook_allowed_networks: str = Field(
        default="",
        description="comma-separated CIDRs webhooks may reach although private (e.g. an on-premise receiver); "
        "default: public addresses only",
    )
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_s: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _calling_hours_in_order(self) -> Settings:
        if self.calling_hours_start >= self.calling_hours_end:
            raise ValueError("CLOSERR_CALLING_HOURS_START must be earlier than CLOSERR_CALLING_HOURS_END")
        return self

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the bad entry
        return value

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "closerr.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
