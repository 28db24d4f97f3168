"""A phone call this process runs can be followed turn by turn by its own account only. (The list of live calls
comes from every worker through the database: tests/security/test_live_calls.py.)"""

from control_api.console.live import LiveCalls
from engine.facade import Engine
from engine.records import CallRecord, CallRequest, Lead, TranscriptTurn


def test_phone_call_transcript_is_live_for_its_account_only() -> None:
    engine = Engine()
    directory = engine.directory
    request = CallRequest(
        call_id="live-phone-1", lead=Lead("Ravi", "+919812345678"), campaign_id="camp-12345678", account_id="acct-1"
    )
    record = CallRecord(call_id=request.call_id)
    directory.started(request, record)
    live = LiveCalls(engine)
    try:
        record.transcript.append(TranscriptTurn("bot", "Hello, this is Priya.", 0.0, 1.5))
        call = live.get("acct-1", "live-phone-1")
        assert call is not None
        view = call.view()
        assert view["kind"] == "phone" and view["current_turn"]["text"] == "Hello, this is Priya."
        assert view["transcript"][0]["text"] == "Hello, this is Priya."
        assert live.get("acct-2", "live-phone-1") is None
    finally:
        directory.finished(record, None)
    assert live.get("acct-1", "live-phone-1") is None
