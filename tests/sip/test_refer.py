"""SIP REFER (RFC 3515) against sipp as the trunk: the REFER, its 202, the sipfrag NOTIFYs and our BYE."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.records import TransferResult
from engine.telephony.sip import SipServer, SipTrunkConfig
from engine.telephony.sip.leg import RtpMediaLeg
from engine.telephony.sip.message import SipRequest
from engine.telephony.sip.received import refer_notify_status
from engine.telephony.sip.server import SipCallInfo
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
