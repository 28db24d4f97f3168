"""The pure rules: retry decisions, the calling window in the lead's local time, record -> disposition, billing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from control_api.credits.ledger import billed_seconds
from control_api.dispatch import retry, window
from control_api.dispatch.dispositions import Disposition, from_record
from control_api.dnd.preferences import zone_of
from engine.records import CallRecord, Outcome

POLICY = {"dispositions": ["no_answer", "busy", "callback_requested"], "spacing_minutes": [30, 60], "max_attempts": 3}
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # Monday 11:30 IST
PHONE = 919876543210


def test_retryable_disposition_waits_the_spacing_of_its_attempt() -> None:
    first = retry.decide(
        POLICY, attempts=1, errors=0, disposition=Disposition.NO_ANSWER, outcome=None, callback_at=None, now=NOW
    )
    second = retry.decide(
        POLICY, attempts=2, errors=0, disposition=Disposition.BUSY, outcome=None, callback_at=None, now=NOW
    )
    assert (first.status, first.next_attempt_at) == ("retry", NOW + timedelta(minutes=30))
    assert (second.status, second.next_attempt_at) == ("retry", NOW + timedelta(minutes=60))


def test_max_attempts_and_unlisted_dispositions_are_final() -> None:
    last = retry.decide(
        POLICY, attempts=3, errors=0, disposition=Disposition.NO_ANSWER, outcome=None, callback_at=None, now=NOW
    )
    failed = retry.decide(
        POLICY, attempts=1, errors=0, disposition=Disposition.FAILED, outcome=None, callback_at=None, now=NOW
    )
    voicemail = retry.decide(
        POLICY, attempts=1, errors=0, disposition=Disposition.VOICEMAIL, outcome="voicemail", callback_at=None, now=NOW
    )
    assert (last.status, failed.status, voicemail.status) == ("no_answer", "failed", "voicemail")


def test_opt_out_is_never_retried_even_when_listed() -> None:
    policy = {**POLICY, "dispositions": ["completed", "opted_out"]}
    d = retry.decide(
        policy, attempts=1, errors=0, disposition=Disposition.COMPLETED, outcome="opted_out", callback_at=None, now=NOW
    )
    assert d.status == "completed" and d.next_attempt_at is None


def test_error_is_retried_once_then_quarantined() -> None:
    once = retry.decide(
        POLICY, attempts=1, errors=1, disposition=Disposition.ERROR, outcome=None, callback_at=None, now=NOW
    )
    twice = retry.decide(
        POLICY, attempts=2, errors=2, disposition=Disposition.ERROR, outcome=None, callback_at=None, now=NOW
    )
    assert once.status == "retry" and twice.status == "error"


def test_callback_uses_the_time_the_lead_asked_for() -> None:
    asked = NOW + timedelta(days=1)
    d = retry.decide(
        POLICY,
        attempts=1,
        errors=0,
        disposition=Disposition.COMPLETED,
        outcome="callback_requested",
        callback_at=asked.isoformat(),
        now=NOW,
    )
    assert d == retry.Decision("retry", asked, "callback")


def _callback(policy: dict[str, Any], callback_at: str | None, attempts: int = 1) -> retry.Decision:
    return retry.decide(
        policy,
        attempts=attempts,
        errors=0,
        disposition=Disposition.COMPLETED,
        outcome="callback_requested",
        callback_at=callback_at,
        now=NOW,
    )


def test_a_callback_is_a_promise_kept_whatever_the_retry_list_says() -> None:
    no_retries = {"dispositions": [], "max_attempts": 1, "spacing_minutes": []}
    asked = NOW + timedelta(hours=20)
    # The retry list and max_attempts do not cover callbacks: the agent promised one, so it is scheduled.
    assert _callback(no_retries, asked.isoformat()) == retry.Decision("retry", asked, "callback")
    # Asked without a time the agent could read: the same hour the next day.
    assert _callback(no_retries, None) == retry.Decision("retry", NOW + timedelta(days=1), "callback")
    assert _callback(no_retries, "tomorrow-ish").next_attempt_at == NOW + timedelta(days=1)
    # Asked for beyond the client's limit: no later than the limit.
    far = (NOW + timedelta(days=30)).isoformat()
    assert _callback(no_retries, far).next_attempt_at == NOW + timedelta(days=7)
    assert _callback({**no_retries, "callback_within_days": 2}, far).next_attempt_at == NOW + timedelta(days=2)
    # A time in the past is not a time: the next day.
    assert _callback(no_retries, (NOW - timedelta(hours=1)).isoformat()).next_attempt_at == NOW + timedelta(days=1)
    # A lead that keeps asking is not called forever.
    assert _callback(no_retries, None, attempts=retry.CALLBACK_ATTEMPT_CAP).status == "completed"


def test_voicemail_is_retried_by_default_and_its_promise_follows_the_policy() -> None:
    default = {"dispositions": ["no_answer", "busy", "failed", "voicemail"], "max_attempts": 3, "spacing_minutes": [60]}
    d = retry.decide(
        default, attempts=1, errors=0, disposition=Disposition.VOICEMAIL, outcome="voicemail", callback_at=None, now=NOW
    )
    assert d == retry.Decision("retry", NOW + timedelta(minutes=60), "voicemail")
    assert retry.leaves_voicemail_promise(default, 1) and retry.leaves_voicemail_promise(default, 2)
    assert not retry.leaves_voicemail_promise(default, 3)  # the last dial: no "we will call you again"
    assert not retry.leaves_voicemail_promise({**default, "dispositions": ["no_answer"]}, 1)


def test_window_is_the_leads_local_time_and_days() -> None:
    days = ["mon", "tue", "wed", "thu", "fri"]
    assert window.inside(zone_of(PHONE), NOW, "09:00", "21:00", days)
    late = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 21:30 IST: closed
    assert not window.inside(zone_of(PHONE), late, "09:00", "21:00", days)
    # Next opening: Tuesday 09:00 IST = 03:30 UTC.
    assert window.next_opening(zone_of(PHONE), late, "09:00", "21:00", days) == datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    friday_night = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert window.next_opening(zone_of(PHONE), friday_night, "09:00", "21:00", days) == datetime(
        2026, 12, 7, 3, 30, tzinfo=UTC
    )


def test_engine_record_maps_to_dispositions() -> None:
    def record(outcome: Outcome, **kw: Any) -> CallRecord:
        return CallRecord(call_id="c1", outcome=outcome, **kw)

    assert from_record(record(Outcome.QUALIFIED)) == (Disposition.COMPLETED, "qualified")
    assert from_record(record(Outcome.VOICEMAIL)) == (Disposition.VOICEMAIL, "voicemail")
    assert from_record(record(Outcome.HUNG_UP)) == (Disposition.HUNG_UP, "hung_up")
    assert from_record(record(Outcome.ERROR, error="engine error")) == (Disposition.ERROR, "error")
    assert from_record(record(Outcome.QUALIFIED, error="tts failed", ended_by="error")) == (
        Disposition.ERROR,
        "qualified",
    )


def test_billing_is_per_started_second_capped_at_the_maximum() -> None:
    assert [billed_seconds(d, 300) for d in (0, 0.2, 1.0, 1.01, 59.5)] == [0, 1, 1, 2, 60]
    assert billed_seconds(301.2, 300) == 300
