"""SIP REFER (RFC 3515) against sipp as the trunk: the REFER, its 202, the sipfrag NOTIFYs and our BYE."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from control_api.dispatch import retry
from control_api.dispatch.dispositions import Disposition
from engine.call import _hand_over
from engine.records import CallRecord, CallRequest, Outcome, Transfer, TransferResult
from engine.records import Lead as EngineLead
from engine.telephony.sip import SipServer, SipTrunkConfig
from engine.telephony.sip.leg import RtpMediaLeg
from engine.telephony.sip.message import SipRequest
from engine.telephony.sip.received import refer_notify_status
from engine.telephony.sip.server import SipCallInfo
from engine.telephony.sip.warm_transfer import warm_refer
from tests.sip.sipp import Sipp, free_port, scenario, uas_args

SALESPERSON = "+919812345678"


@pytest.mark.parametrize(
    ("final", "connected", "detail"),
    [
        ("200 OK", True, "REFER accepted, NOTIFY sipfrag 200"),
        ("486 Busy Here", False, "transfer target answered 486"),
    ],
)
async def test_refer_202_and_sipfrag_notifies_decide_the_transfer(
    tmp_path: Path, final: str, connected: bool, detail: str
) -> None:
    port = free_port()
    trunk = SipTrunkConfig(host="127.0.0.1", port=port)
    target = trunk.request_uri(SALESPERSON)
    xml = scenario("uas_refer.xml", tmp_path, FINAL=final, TARGET=target.replace("+", "\\+").replace(".", "\\."))
    sipp = await Sipp(uas_args(xml, port), tmp_path).start()
    results: list[TransferResult] = []

    async def transfer(info: SipCallInfo, leg: RtpMediaLeg) -> None:
        # what the engine does when the agent's part ends with a hand-off: REFER, then hang up our leg
        results.append(await leg.refer(target, 5))

    try:
        async with SipServer("127.0.0.1", 0) as server:
            outcome = await server.place_call(trunk, "5551234", transfer)
            result = await sipp.wait()
    finally:
        await sipp.stop()
    # sipp checked the Refer-To, got 200s for both NOTIFYs and our BYE after the final one
    assert result.returncode == 0, result.explain()
    assert outcome.disposition == "answered"
    assert results == [TransferResult(connected, detail)]


def _notify(event: str, ctype: str, body: str, state: str) -> SipRequest:
    request = SipRequest("NOTIFY", "sip:closerr@127.0.0.1")
    request.headers.add("Event", event)
    request.headers.add("Subscription-State", state)
    request.headers.add("Content-Type", ctype)
    request.body = body.encode()
    return request


@pytest.mark.parametrize(
    ("event", "ctype", "body", "state", "expected"),
    [
        ("refer", "message/sipfrag;version=2.0", "SIP/2.0 200 OK\r\n", "terminated;reason=noresource", (200, True)),
        ("refer", "message/sipfrag", "SIP/2.0 180 Ringing", "active;expires=60", (180, False)),
        ("refer;id=93809824", "message/sipfrag", "SIP/2.0 603 Declined", "terminated", (603, True)),
        ("presence", "message/sipfrag", "SIP/2.0 200 OK", "active", None),
        ("refer", "text/plain", "SIP/2.0 200 OK", "active", None),
        ("refer", "message/sipfrag", "garbage", "active", None),
        ("refer", "message/sipfrag", "SIP/2.0 2000 OK", "active", None),
    ],
)
def test_refer_notify_status_reads_the_sipfrag_status_line(
    event: str, ctype: str, body: str, state: str, expected: tuple[int, bool] | None
) -> None:
    assert refer_notify_status(_notify(event, ctype, body, state)) == expected


def _escaped(uri: str) -> str:
    return uri.replace("+", "\\+").replace(".", "\\.").replace("?", "\\?")


async def test_warm_transfer_whispers_to_the_salesperson_then_refers_the_lead_with_replaces(tmp_path: Path) -> None:
    lead_port, sales_port = free_port(), free_port()
    lead_trunk = SipTrunkConfig(host="127.0.0.1", port=lead_port)
    sales_trunk = SipTrunkConfig(host="127.0.0.1", port=sales_port)
    # the REFER must name the salesperson's number and Replace our dialog with the salesperson's UA (whose tag is
    # sipp's SIPpTag01): Call-ID, to-tag (theirs) and from-tag (ours), escaped inside the URI
    target = (
        _escaped(sales_trunk.request_uri(SALESPERSON))
        + r"\?Replaces=[^;>]+%3Bto-tag%3D[0-9]+SIPpTag01[0-9]+%3Bfrom-tag%3D"
    )
    lead = await Sipp(
        uas_args(scenario("uas_refer.xml", tmp_path, FINAL="200 OK", TARGET=target), lead_port), tmp_path
    ).start()
    sales_dir = tmp_path / "sales"
    sales_dir.mkdir()
    sales = await Sipp(uas_args(scenario("uas_whisper.xml", sales_dir), sales_port), sales_dir).start()
    results: list[TransferResult] = []
    whisper = b"\x10\x00" * 8000  # one second of audio for the salesperson

    async def transfer(info: SipCallInfo, leg: RtpMediaLeg) -> None:
        results.append(await warm_refer(sales_trunk, leg, SALESPERSON, whisper, ring_timeout_s=5))

    try:
        async with SipServer("127.0.0.1", 0) as server:
            outcome = await server.place_call(lead_trunk, "5551234", transfer)
            lead_result, sales_result = await lead.wait(), await sales.wait()
    finally:
        await lead.stop()
        await sales.stop()
    assert lead_result.returncode == 0, lead_result.explain()
    assert sales_result.returncode == 0, sales_result.explain()
    assert outcome.disposition == "answered"
    assert results == [TransferResult(True, "REFER accepted, NOTIFY sipfrag 200")]


async def test_warm_transfer_nobody_answering_falls_back_to_a_callback(tmp_path: Path) -> None:
    sales_port = free_port()
    sales = await Sipp(uas_args(scenario("uas_no_answer.xml", tmp_path), sales_port), tmp_path).start()

    class Lead:
        referred = False

        async def refer(self, target_uri: str, answer_timeout_s: float) -> TransferResult:
            self.referred = True
            return TransferResult(True, "")

    lead = Lead()
    try:
        result = await warm_refer(
            SipTrunkConfig(host="127.0.0.1", port=sales_port), lead, SALESPERSON, b"", ring_timeout_s=1.5
        )
        sales_result = await sales.wait()
    finally:
        await sales.stop()
    assert sales_result.returncode == 0, sales_result.explain()  # the salesperson's ringing was CANCELled
    assert result == TransferResult(False, "the salesperson did not answer (no_answer)")
    assert not lead.referred

    # the engine then turns the call into a callback, which the dispatcher schedules like any other
    record = CallRecord(call_id="c-1", outcome=Outcome.TRANSFERRED, ended_by="bot")

    async def route(leg: object, wanted: Transfer) -> TransferResult:
        return result

    wanted = Transfer(to=SALESPERSON, mode="warm", reason="qualified", whisper="Qualified lead", answer_timeout_s=1.5)
    await _hand_over(
        CallRequest(call_id="c-1", lead=EngineLead("Ravi", "+919876543210")), object(), record, wanted, route
    )  # type: ignore[arg-type]
    assert record.outcome is Outcome.CALLBACK_REQUESTED
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    decision = retry.decide(
        {"max_attempts": 1, "dispositions": []}, attempts=1, errors=0, disposition=Disposition.COMPLETED,
        outcome=str(record.outcome), callback_at=record.callback_at, now=now,
    )  # fmt: skip
    assert decision.reason == retry.Reason.CALLBACK and decision.next_attempt_at is not None
