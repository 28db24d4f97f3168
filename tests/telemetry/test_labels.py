"""Label values stay bounded and never carry a phone number or a name."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from metrics import call, dispatch, ingress, labels
from metrics.exposition import render
from metrics.inference import QueuedJob

PHONE_NUMBERS = [
    "+919876543210",
    "9876543210",
    "09876543210",
    "0091 98765 43210",
    "+91 98765-43210",
    "(022) 2345 6789",
    "98765.43210",
]
NOT_PHONE_NUMBERS = ["completed", "42", "campaign-7", "2026", "0.0005", "+Inf", "3.11.2", "123456"]


@pytest.mark.parametrize("value", PHONE_NUMBERS)
def test_phone_numbers_are_recognised(value: str) -> None:
    assert labels.looks_like_phone_number(value)
    assert labels.looks_like_phone_number(f"lead {value} called")


@pytest.mark.parametrize("value", NOT_PHONE_NUMBERS)
def test_ordinary_label_values_are_not_phone_numbers(value: str) -> None:
    assert not labels.looks_like_phone_number(value)


def test_uuid_campaign_ids_are_accepted_even_with_long_digit_runs() -> None:
    assert labels.campaign_id("12345678-1234-5678-1234-567812345678") == "12345678-1234-5678-1234-567812345678"


@pytest.mark.parametrize("value", [*PHONE_NUMBERS, "Ravi Kumar", "", "x" * 65, "a/b"])
def test_campaign_id_rejects_personal_or_malformed_values(value: str) -> None:
    with pytest.raises(ValueError, match="campaign_id"):
        labels.campaign_id(value)


def test_bounded_vocabularies_collapse_unknown_values_to_other() -> None:
    assert labels.call_status("Completed") == "completed"
    assert labels.call_status("no-answer") == "no_answer"
    assert labels.call_status("+919876543210") == "other"
    assert labels.call_outcome(None) == "none"
    assert labels.call_outcome("Ravi Kumar") == "other"
    assert labels.dispatch_disposition("DND_BLOCKED") == "dnd_blocked"
    assert labels.dispatch_disposition("9876543210") == "other"
    assert labels.model("stt") == "stt"
    assert labels.model("whisper tiny.en for Ravi") == "other"


def _all_label_values() -> list[tuple[str, str, str]]:
    body = render()[0].decode()
    return [
        (sample.name, key, value)
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        for key, value in sample.labels.items()
    ]


def test_no_exposed_label_value_looks_like_a_phone_number_or_a_name() -> None:
    # A careless caller hands personal data to every labelled metric...
    for phone in PHONE_NUMBERS:
        call.record_call_finished(phone, phone, 5.0)
        dispatch.record_dispatch(phone)
        ingress.record_stream_refused(phone, phone)
        ingress.record_sip_refused(phone)
        job = QueuedJob(phone)
        job.started()
        job.finished()
        with pytest.raises(ValueError):
            dispatch.set_campaign_queue_depth(phone, 1)
    call.record_call_finished("Ravi Kumar", "Priya Sharma", 5.0)
    dispatch.record_dispatch("Ravi Kumar")
    ingress.record_stream_refused("Ravi Kumar", "Priya Sharma")
    # ...and none of it reaches the exposition.
    values = _all_label_values()
    assert values, "expected labelled samples"
    leaks = [(name, key, value) for name, key, value in values if labels.looks_like_phone_number(value)]
    assert leaks == []
    exposed = {value for _, _, value in values}
    assert not exposed & {"Ravi Kumar", "Priya Sharma"}
    assert "other" in exposed


def test_closerr_metrics_use_only_the_documented_label_names() -> None:
    allowed = {
        "status",
        "outcome",
        "disposition",
        "campaign_id",
        "model",
        "carrier",
        "reason",
        "kind",
        "generation",
        "le",
    }
    used = {key for name, key, _ in _all_label_values() if name.startswith("closerr_")}
    assert used <= allowed
