"""The dispatcher's SIP carrier against a real SIP peer (sipp as the trunk and the lead's phone)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config.settings import Settings
from control_api.origination.base import Dial
from control_api.origination.registry import build
from engine.agent.script import demo_script
from engine.facade import Engine
from engine.records import CallRequest, Lead, Transfer, TransferResult
from tests.sip.audio import speech_pcm, write_ulaw
from tests.sip.sipp import DTMF_PCAP_DIR, Sipp, free_port, scenario, uas_args

pytestmark = pytest.mark.e2e


def _dial(call_id: str) -> Dial:
    request = CallRequest(call_id=call_id, lead=Lead("Ravi Kumar", "+919876543210"), max_call_s=40)
    return Dial(call_id=call_id, to="+919876543210", caller_id=None, media_url="", request=request, max_call_s=40)


async def test_an_answered_sip_call_runs_the_agent_and_files_the_record(tmp_path: Path) -> None:
    callee = bytes(16000 * 1) + speech_pcm("Stop calling me. Remove my number.")
    xml = scenario("uas_answer.xml", tmp_path, SPEECH_FILE=str(write_ulaw(tmp_path / "callee.ulaw", callee)))
    port = free_port()
    sipp = await Sipp(uas_args(xml, port), tmp_path).start()
    trunk = {"sip_trunk_host": "127.0.0.1", "sip_trunk_port": port, "sip_trunk_username": "acct"}
    engine = Engine()
    carrier = build(Settings(carrier="sip", sip_trunk_password="s3cret", **trunk), engine, public_url="")
    dial = _dial("sip-carrier-1")
    result = engine.directory.expect(dial.request)
    try:
        origination = await carrier.originate(dial)
        assert origination.carrier_call_id == "sip-carrier-1" and origination.disposition is None
        record = await asyncio.wait_for(result, 60)
        await sipp.wait(30)
    finally:
        await carrier.aclose()
        await sipp.stop()
    lead = " ".join(t.text.lower() for t in record.transcript if t.role == "lead")
    assert "remove" in lead or "stop" in lead, record.transcript
    assert record.outcome == "opted_out" and record.opted_out and record.ended_by == "bot"
    assert any("AI assistant" in t.text or t.interrupted for t in record.transcript if t.role == "bot")


async def test_a_lead_pressing_0_is_transferred_to_the_salesperson_by_refer(tmp_path: Path) -> None:
    port = free_port()
    salesperson = "+919812345678"
    trunk = {"sip_trunk_host": "127.0.0.1", "sip_trunk_port": port}
    target = f"sip:{salesperson}@127.0.0.1:{port}".replace("+", "\\+").replace(".", "\\.")
    xml = scenario("uas_press0_refer.xml", tmp_path, TARGET=target, DTMF_PCAP=str(DTMF_PCAP_DIR / "dtmf_2833_0.pcap"))
    sipp = await Sipp(uas_args(xml, port), tmp_path).start()
    engine = Engine()
    carrier = build(Settings(carrier="sip", **trunk), engine, public_url="")

    async def on_transfer(request: CallRequest, leg: object, transfer: Transfer) -> TransferResult:
        return await carrier.transfer(request.call_id, transfer, leg)  # type: ignore[attr-defined,no-any-return]

    engine.directory.on_transfer = on_transfer  # as the worker does
    script = demo_script().model_dump(exclude_none=True)
    script["transfer"] = {"to": salesperson, "when": "on_request"}
    request = CallRequest(call_id="sip-transfer-1", lead=Lead("Ravi Kumar", "+919876543210"), script=script)
    dial = Dial(
        call_id=request.call_id, to="+919876543210", caller_id=None, media_url="", request=request, max_call_s=40
    )
    result = engine.directory.expect(request)
    try:
        origination = await carrier.originate(dial)
        assert origination.disposition is None
        record = await asyncio.wait_for(result, 60)
        sipp_result = await sipp.wait(30)
    finally:
        await carrier.aclose()
        await sipp.stop()
    assert sipp_result.returncode == 0, sipp_result.explain()  # REFER to the salesperson, both NOTIFYs, our BYE
    assert "0" in record.dtmf
    assert record.outcome == "transferred" and record.ended_by == "bot"
    assert record.transfer == {"to": "+91********78", "mode": "cold", "reason": "lead_request", "connected": True,
                               "detail": "REFER accepted, NOTIFY sipfrag 200"}  # fmt: skip
    hold = "Please hold, I am connecting you to a person from SunRoof Solar."
    assert any(t.role == "bot" and t.text == hold for t in record.transcript), record.transcript


async def test_a_busy_trunk_answer_is_the_busy_disposition(tmp_path: Path) -> None:
    xml = scenario("uas_busy.xml", tmp_path, STATUS="486", REASON="Busy Here")
    port = free_port()
    sipp = await Sipp(uas_args(xml, port), tmp_path).start()
    engine = Engine()
    carrier = build(Settings(carrier="sip", sip_trunk_host="127.0.0.1", sip_trunk_port=port), engine, public_url="")
    dial = _dial("sip-carrier-2")
    engine.directory.expect(dial.request)
    try:
        origination = await carrier.originate(dial)
        await sipp.wait(30)
    finally:
        engine.directory.forget(dial.call_id)
        await carrier.aclose()
        await sipp.stop()
    assert origination.carrier_call_id is None and origination.disposition == "busy"
