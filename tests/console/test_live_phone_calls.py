"""Phone calls the dispatcher runs show on the live page of their own account only."""

from control_api.console.live import LiveCalls
from engine.facade import Engine
from engine.records import CallRecord, CallRequest, Lead, TranscriptTurn


def test_phone_calls_appear_live_for_their_account_only() -> None:
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
        assert [c.call_id for c in live.running("acct-1")] == ["live-phone-1"]
        view = live.running("acct-1")[0].view()
        assert view["kind"] == "phone" and view["current_turn"]["text"] == "Hello, this is Priya."
        assert live.running("acct-2") == []
        assert live.get("acct-2", "live-phone-1") is None
    finally:
        directory.finished(record, None)
    assert live.running("acct-1") == []
