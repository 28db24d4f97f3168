"""The metric catalogue: every metric the issue names exists with the right type, labels and buckets."""

from __future__ import annotations

import itertools

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import metrics
from metrics import buckets, call, dispatch, turn
from metrics.exposition import CONTENT_TYPE, render

# name as exposed (families drop _total) -> (type, label names)
CATALOGUE: dict[str, tuple[str, tuple[str, ...]]] = {
    "closerr_voice_to_voice_seconds": ("histogram", ()),
    "closerr_endpointing_seconds": ("histogram", ()),
    "closerr_stt_seconds": ("histogram", ()),
    "closerr_llm_first_token_seconds": ("histogram", ()),
    "closerr_tts_first_audio_seconds": ("histogram", ()),
    "closerr_calls": ("counter", ("outcome", "status")),
    "closerr_call_duration_seconds": ("histogram", ()),
    "closerr_active_calls": ("gauge", ()),
    "closerr_interruptions": ("counter", ()),
    "closerr_audio_underruns": ("counter", ()),
    "closerr_lead_silence": ("counter", ()),
    "closerr_dispatch": ("counter", ("disposition",)),
    "closerr_dnd_blocked": ("counter", ()),
    "closerr_credits_consumed": ("counter", ()),
    "closerr_campaign_queue_depth": ("gauge", ("campaign_id",)),
    "closerr_settlement_retries": ("counter", ("reason",)),
    "closerr_carrier_faults": ("counter", ("carrier", "kind")),
    "closerr_carrier_breaker_state": ("gauge", ("carrier",)),
    "closerr_event_loop_lag_seconds": ("histogram", ()),
    "closerr_event_loop_lag_last_seconds": ("gauge", ()),
    "closerr_inference_queue_wait_seconds": ("histogram", ("model",)),
    "closerr_inference_seconds": ("histogram", ("model",)),
    "closerr_inference_queue_depth": ("gauge", ("model",)),
    "closerr_media_streams_refused": ("counter", ("carrier", "reason")),
    "closerr_sip_invites_refused": ("counter", ("reason",)),
}


def _families() -> dict[str, object]:
    # Touch the labelled metrics once so their families carry samples.
    call.record_call_finished("completed", "qualified", 10.0)
    dispatch.record_dispatch("dialed")
    dispatch.set_campaign_queue_depth("c1", 1)
    metrics.record_settlement_retry("disk_full")
    metrics.record_carrier_fault("twilio", "http_5xx")
    metrics.set_breaker_state("twilio", "closed")
    metrics.INFERENCE_SECONDS.labels(model="stt").observe(0.1)
    metrics.INFERENCE_QUEUE_WAIT_SECONDS.labels(model="stt").observe(0.1)
    metrics.INFERENCE_QUEUE_DEPTH.labels(model="stt").set(0)
    metrics.record_stream_refused("twilio", "bad_token")
    metrics.record_sip_refused("source_not_allowed")
    body, _ = render()
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_metric_is_exposed_with_its_type_and_labels(name: str) -> None:
    kind, label_names = CATALOGUE[name]
    family = _families().get(name)
    assert family is not None, f"{name} missing from the exposition"
    assert family.type == kind  # type: ignore[attr-defined]
    sample_labels = {
        key
        for sample in family.samples  # type: ignore[attr-defined]
        for key in sample.labels
        if key not in ("le",)
    }
    assert sample_labels == set(label_names)


def test_counters_and_units_follow_prometheus_naming() -> None:
    body = render()[0].decode()
    for family in text_string_to_metric_families(body):
        if not family.name.startswith("closerr_"):
            continue
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name.endswith("_total"), sample.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), f"{family.name}: histograms here measure time in seconds"


def test_gauges_have_a_multiprocess_mode() -> None:
    # Without one, a multiprocess scrape shows one series per pid instead of the host's value.
    modes = {
        metrics.ACTIVE_CALLS: "livesum",
        metrics.CAMPAIGN_QUEUE_DEPTH: "livemostrecent",
        metrics.EVENT_LOOP_LAG_LAST_SECONDS: "livemax",
        metrics.INFERENCE_QUEUE_DEPTH: "livesum",
    }
    for gauge, mode in modes.items():
        assert gauge._multiprocess_mode == mode


@pytest.mark.parametrize(
    "histogram",
    [
        turn.VOICE_TO_VOICE_SECONDS,
        turn.ENDPOINTING_SECONDS,
        turn.STT_SECONDS,
        turn.LLM_FIRST_TOKEN_SECONDS,
        turn.TTS_FIRST_AUDIO_SECONDS,
    ],
)
def test_turn_buckets_resolve_100ms_to_3s_finely(histogram: object) -> None:
    bounds = [b for b in histogram._upper_bounds if b != float("inf")]  # type: ignore[attr-defined]
    inside = [b for b in bounds if 0.1 <= b <= 3.0]
    assert inside[0] == 0.1 and inside[-1] == 3.0
    steps = [hi - lo for lo, hi in itertools.pairwise(inside)]
    assert max(steps) <= 0.5
    assert all(step <= 0.05 + 1e-9 for lo, step in zip(inside, steps, strict=False) if lo < 0.5)
    assert len(inside) >= 20


def test_observe_turn_feeds_every_stage_it_is_given() -> None:
    def count(name: str) -> float:
        value = REGISTRY.get_sample_value(f"{name}_count")
        assert value is not None
        return value

    names = [
        "closerr_voice_to_voice_seconds",
        "closerr_endpointing_seconds",
        "closerr_stt_seconds",
        "closerr_llm_first_token_seconds",
        "closerr_tts_first_audio_seconds",
    ]
    before = {name: count(name) for name in names}
    turn.observe_turn(voice_to_voice_s=0.9, stt_s=0.4)
    after = {name: count(name) for name in names}
    assert after["closerr_voice_to_voice_seconds"] == before["closerr_voice_to_voice_seconds"] + 1
    assert after["closerr_stt_seconds"] == before["closerr_stt_seconds"] + 1
    for name in ("closerr_endpointing_seconds", "closerr_llm_first_token_seconds", "closerr_tts_first_audio_seconds"):
        assert after[name] == before[name]
    le_1 = REGISTRY.get_sample_value("closerr_voice_to_voice_seconds_bucket", {"le": "1.0"})
    le_08 = REGISTRY.get_sample_value("closerr_voice_to_voice_seconds_bucket", {"le": "0.8"})
    assert le_1 is not None and le_08 is not None and le_1 - le_08 >= 1


def test_track_active_call_releases_on_error() -> None:
    def active() -> float:
        value = REGISTRY.get_sample_value("closerr_active_calls")
        assert value is not None
        return value

    start = active()
    with pytest.raises(RuntimeError), call.track_active_call():
        assert active() == start + 1
        raise RuntimeError("call failed")
    assert active() == start


def test_credits_must_not_go_negative() -> None:
    with pytest.raises(ValueError, match="credits"):
        dispatch.record_credits_consumed(-1)


def test_finished_campaign_series_is_removed() -> None:
    dispatch.set_campaign_queue_depth("c-done", 5)
    assert REGISTRY.get_sample_value("closerr_campaign_queue_depth", {"campaign_id": "c-done"}) == 5
    dispatch.remove_campaign("c-done")
    assert REGISTRY.get_sample_value("closerr_campaign_queue_depth", {"campaign_id": "c-done"}) is None


def test_render_returns_the_text_format_content_type() -> None:
    body, content_type = render()
    assert content_type == CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    assert b"# TYPE closerr_voice_to_voice_seconds histogram" in body
    assert b"_created" not in body  # disabled: doubles the series count for nothing


def test_bucket_constants_are_sorted_and_positive() -> None:
    for bounds in (
        buckets.TURN_LATENCY_BUCKETS,
        buckets.CALL_DURATION_BUCKETS,
        buckets.LOOP_LAG_BUCKETS,
        buckets.INFERENCE_BUCKETS,
    ):
        assert list(bounds) == sorted(set(bounds)) and bounds[0] > 0


def test_every_call_outcome_is_its_own_metric_label() -> None:
    from engine.records import Outcome
    from metrics.labels import call_outcome

    assert {call_outcome(str(o)) for o in Outcome} == {str(o) for o in Outcome}
    assert call_outcome("needs_review") == "needs_review"
