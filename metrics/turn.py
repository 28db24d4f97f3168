"""Per-turn latency histograms: where one bot reply spent its time.

One observation per bot reply, no labels (a campaign label would multiply 30 buckets by every campaign for
little gain: latency depends on the host, not the campaign). Stages overlap with streaming, so they need not sum to
voice-to-voice.
"""

from __future__ import annotations

from prometheus_client import Histogram

from metrics.buckets import TURN_LATENCY_BUCKETS

VOICE_TO_VOICE_SECONDS = Histogram(
    "closerr_voice_to_voice_seconds",
    "Lead stops speaking (last voiced inbound frame) -> first reply audio frame sent to the carrier.",
    buckets=TURN_LATENCY_BUCKETS,
)
ENDPOINTING_SECONDS = Histogram(
    "closerr_endpointing_seconds",
    "Last voiced inbound frame -> end of turn decided (VAD stop + turn detector).",
    buckets=TURN_LATENCY_BUCKETS,
)
STT_SECONDS = Histogram(
    "closerr_stt_seconds",
    "End of turn -> final transcript, including any wait for the STT model.",
    buckets=TURN_LATENCY_BUCKETS,
)
LLM_FIRST_TOKEN_SECONDS = Histogram(
    "closerr_llm_first_token_seconds",
    "Transcript handed to the dialogue policy -> first reply text (first LLM token, or the scripted reply).",
    buckets=TURN_LATENCY_BUCKETS,
)
TTS_FIRST_AUDIO_SECONDS = Histogram(
    "closerr_tts_first_audio_seconds",
    "First reply text -> first synthesized audio chunk ready.",
    buckets=TURN_LATENCY_BUCKETS,
)


def observe_turn(
    *,
    voice_to_voice_s: float,
    endpointing_s: float | None = None,
    stt_s: float | None = None,
    llm_first_token_s: float | None = None,
    tts_first_audio_s: float | None = None,
) -> None:
    """Record one bot reply. Stages a turn did not go through (e.g. a scripted opener) are left out."""
    VOICE_TO_VOICE_SECONDS.observe(max(0.0, voice_to_voice_s))
    for histogram, value in (
        (ENDPOINTING_SECONDS, endpointing_s),
        (STT_SECONDS, stt_s),
        (LLM_FIRST_TOKEN_SECONDS, llm_first_token_s),
        (TTS_FIRST_AUDIO_SECONDS, tts_first_audio_s),
    ):
        if value is not None:
            histogram.observe(max(0.0, value))
