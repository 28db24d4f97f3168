"""Prometheus metric definitions for Closerr (the bottom layer: imports nothing of ours).

Import the module-level objects from here; label values go through ``metrics.labels`` so they stay bounded and
never carry a phone number or a name. ``docs/telemetry.md`` has the full table.
"""

from metrics.call import (
    ACTIVE_CALLS,
    AUDIO_UNDERRUNS_TOTAL,
    CALL_DURATION_SECONDS,
    CALLS_TOTAL,
    INTERRUPTIONS_TOTAL,
    LEAD_SILENCE_TOTAL,
    record_call_finished,
    track_active_call,
)
from metrics.dispatch import (
    CAMPAIGN_QUEUE_DEPTH,
    CREDITS_CONSUMED_TOTAL,
    DISPATCH_TOTAL,
    DND_BLOCKED_TOTAL,
    record_credits_consumed,
    record_dispatch,
    record_dnd_block,
    remove_campaign,
    set_campaign_queue_depth,
)
from metrics.exposition import CONTENT_TYPE, render
from metrics.faults import (
    CARRIER_BREAKER_STATE,
    CARRIER_FAULTS_TOTAL,
    SETTLEMENT_RETRIES_TOTAL,
    record_carrier_fault,
    record_settlement_retry,
    set_breaker_state,
)
from metrics.ingress import (
    MEDIA_STREAMS_REFUSED_TOTAL,
    SIP_INVITES_REFUSED_TOTAL,
    record_sip_refused,
    record_stream_refused,
)
from metrics.process import (
    EVENT_LOOP_LAG_LAST_SECONDS,
    EVENT_LOOP_LAG_SECONDS,
    GC_PAUSE_SECONDS,
    INFERENCE_QUEUE_DEPTH,
    INFERENCE_QUEUE_WAIT_SECONDS,
    INFERENCE_SECONDS,
)
from metrics.turn import (
    ENDPOINTING_SECONDS,
    LLM_FIRST_TOKEN_SECONDS,
    STT_SECONDS,
    TTS_FIRST_AUDIO_SECONDS,
    VOICE_TO_VOICE_SECONDS,
    observe_turn,
)

__all__ = [
    "ACTIVE_CALLS",
    "AUDIO_UNDERRUNS_TOTAL",
    "CALLS_TOTAL",
    "CALL_DURATION_SECONDS",
    "CAMPAIGN_QUEUE_DEPTH",
    "CARRIER_BREAKER_STATE",
    "CARRIER_FAULTS_TOTAL",
    "CONTENT_TYPE",
    "CREDITS_CONSUMED_TOTAL",
    "DISPATCH_TOTAL",
    "DND_BLOCKED_TOTAL",
    "ENDPOINTING_SECONDS",
    "EVENT_LOOP_LAG_LAST_SECONDS",
    "EVENT_LOOP_LAG_SECONDS",
    "GC_PAUSE_SECONDS",
    "INFERENCE_QUEUE_DEPTH",
    "INFERENCE_QUEUE_WAIT_SECONDS",
    "INFERENCE_SECONDS",
    "INTERRUPTIONS_TOTAL",
    "LEAD_SILENCE_TOTAL",
    "LLM_FIRST_TOKEN_SECONDS",
    "MEDIA_STREAMS_REFUSED_TOTAL",
    "SETTLEMENT_RETRIES_TOTAL",
    "SIP_INVITES_REFUSED_TOTAL",
    "STT_SECONDS",
    "TTS_FIRST_AUDIO_SECONDS",
    "VOICE_TO_VOICE_SECONDS",
    "observe_turn",
    "record_call_finished",
    "record_carrier_fault",
    "record_credits_consumed",
    "record_dispatch",
    "record_dnd_block",
    "record_settlement_retry",
    "record_sip_refused",
    "record_stream_refused",
    "remove_campaign",
    "render",
    "set_breaker_state",
    "set_campaign_queue_depth",
    "track_active_call",
]
