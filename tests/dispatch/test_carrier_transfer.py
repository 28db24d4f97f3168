"""Cold transfer through each carrier's documented request, against the local stand-in for its REST API.

Twilio, "Update a Call resource" (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource):
an in-progress Call is POSTed new TwiML, e.g. the documented
    $call = $twilio->calls("CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX")
    "twiml" => "<Response><Say>Ahoy there</Say></Response>"
(https://www.twilio.com/docs/voice/tutorials/how-to-modify-calls-in-progress-php), here with a <Dial>.

Plivo, "Transfer a call" (https://www.plivo.com/docs/voice/api/call/transfer-a-call):
    POST https://api.plivo.com/v1/Account/{auth_id}/Call/{call_uuid}/
    response = client.calls.transfer(legs='aleg', aleg_url='https://aleg.url',
                                     call_uuid='1ed7fd89-df77-4ebf-8196-d5cf7222c918', )
    HTTP Status Code: 202  {"message": "call transferred", "api_id": "08c94608-58bd-11e1-86da-adf28403fe48"}
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from config.settings import Settings
from control_api.dispatch.runtime import carrier_route_handlers
from control_api.origination import registry
from engine.facade import Engine
from engine.records import Transfer, TransferResult
from tests.dispatch.fake_carrier import FakeCarrier
from tests.dispatch.test_carriers import basic, form

SALESPERSON = Transfer(to="+919812345678", mode="cold", reason="qualified", answer_timeout_s=25)
PLIVO_CALL_UUID = "1ed7fd89-df77-4ebf-8196-d5cf7222c918"


@pytest.fixture
def fake() -> Iterator[FakeCarrier]:
    server = FakeCarrier().start()
    yield server
    server.stop()


def twilio(fake: FakeCarrier) -> Settings:
    return Settings(
        carrier="twilio", twilio_account_sid="AC123", twilio_auth_token="tok",
        twilio_from_number="+911400000000", twilio_api_base=fake.url,
    )  # fmt: skip


def plivo(fake: FakeCarrier) -> Settings:
    return Settings(
        carrier="plivo", plivo_auth_id="MA123", plivo_auth_token="tok",
        plivo_from_number="+911400000000", plivo_api_base=fake.url,
    )  # fmt: skip


async def test_twilio_transfer_updates_the_call_with_a_dial(fake: FakeCarrier) -> None:
    carrier = registry.build(twilio(fake), Engine(), public_url="https://worker-1.example.in")
    fake.responses = [(200, {"sid": "CA999", "status": "in-progress"})]
    result = await carrier.transfer("CA999", SALESPERSON, None)  # type: ignore[attr-defined]
    await carrier.aclose()
    assert result == TransferResult(True, "twilio dialing the salesperson")
    [update] = fake.requests
    assert (update.method, update.path) == ("POST", "/2010-04-01/Accounts/AC123/Calls/CA999.json")
    assert update.headers["Authorization"] == basic("AC123", "tok")
    twiml = ElementTree.fromstring(form(update.body)["Twiml"])
    dial = twiml.find("Dial")
    assert dial is not None and dial.get("timeout") == "25"
    assert [n.text for n in dial.findall("Number")] == ["+919812345678"]
    assert twiml.find("Connect") is None  # the stream is replaced, not kept


async def test_twilio_refusing_the_update_fails_the_transfer(fake: FakeCarrier) -> None:
    carrier = registry.build(twilio(fake), Engine(), public_url="https://worker-1.example.in")
    fake.responses = [(404, {"code": 20404, "message": "The requested resource was not found"})]
    result = await carrier.transfer("CA999", SALESPERSON, None)  # type: ignore[attr-defined]
    await carrier.aclose()
    assert not result.connected and "404" in result.detail


async def test_plivo_transfers_the_a_leg_to_a_dial_the_worker_serves_once(fake: FakeCarrier) -> None:
    carrier = registry.build(plivo(fake), Engine(), public_url="https://worker-1.example.in/")
    fake.responses = [(202, {"message": "call transferred", "api_id": "08c94608-58bd-11e1-86da-adf28403fe48"})]
    # the media stream's start named Plivo's call uuid; the originate answer only had the request uuid
    leg = SimpleNamespace(carrier_call_id=PLIVO_CALL_UUID)
    result = await carrier.transfer("9834029e", SALESPERSON, leg)  # type: ignore[attr-defined]
    await carrier.aclose()
    assert result.connected
    [transfer] = fake.requests
    assert (transfer.method, transfer.path) == ("POST", f"/v1/Account/MA123/Call/{PLIVO_CALL_UUID}/")
    assert transfer.headers["Authorization"] == basic("MA123", "tok")
    body = json.loads(transfer.body)
    assert body["legs"] == "aleg" and body["aleg_method"] == "GET"
    url = urlsplit(body["aleg_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "worker-1.example.in", "/carriers/plivo/transfer")
    assert "9812345678" not in body["aleg_url"]  # the number is served, never put in a URL

    settings = plivo(fake)
    app = Litestar(route_handlers=carrier_route_handlers(settings, Engine(), "127.0.0.1", 8000))
    app.state.worker = SimpleNamespace(carrier=carrier)
    with TestClient(app) as client:
        served = client.get(f"{url.path}?{url.query}")
        again = client.get(f"{url.path}?{url.query}")
        forged = client.get(f"{url.path}?token=0000")
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/xml")
    dial = ElementTree.fromstring(served.text).find("Dial")
    assert dial is not None and dial.get("timeout") == "25"
    assert [n.text for n in dial.findall("Number")] == ["919812345678"]
    assert again.status_code == 404 and forged.status_code == 404
    assert parse_qs(url.query).keys() == {"token"}


async def test_exotel_does_not_attempt_a_transfer(fake: FakeCarrier) -> None:
    settings = Settings(
        carrier="exotel", exotel_account_sid="acme1", exotel_api_key="key", exotel_api_token="tok",
        exotel_app_id="926", exotel_caller_id="08047112345", exotel_api_base=fake.url,
    )  # fmt: skip
    carrier = registry.build(settings, Engine(), public_url="https://worker-1.example.in")
    result = await carrier.transfer("c5797dcbaaeed7678c4062a4a3ed2f8a", SALESPERSON, None)  # type: ignore[attr-defined]
    await carrier.aclose()
    assert not result.connected and fake.requests == []


# Twilio warm transfer: <Number url> "allows you to specify a URL that will return a TwiML response to be run on the
# called party's end, after they answer, but before the parties are connected" and statusCallbackEvent "answered"
# (https://www.twilio.com/docs/voice/twiml/number); <Dial action> is requested with DialCallStatus when the dialed
# party does not answer (https://www.twilio.com/docs/voice/twiml/dial#action).
WARM = Transfer(
    to="+919812345678",
    mode="warm",
    reason="qualified",
    whisper="Qualified lead: Ravi, loan 5 lakh",
    answer_timeout_s=20,
)


async def _warm_twilio(
    fake: FakeCarrier, callback: str, fields: dict[str, str]
) -> tuple[TransferResult, list[int], str]:
    carrier = registry.build(twilio(fake), Engine(), public_url="https://worker-1.example.in/")
    fake.responses = [(200, {"sid": "CA999", "status": "in-progress"})]
    app = Litestar(route_handlers=carrier_route_handlers(twilio(fake), Engine(), "127.0.0.1", 8000))
    app.state.worker = SimpleNamespace(carrier=carrier)
    transfer = asyncio.create_task(carrier.transfer("CA999", WARM, None))  # type: ignore[attr-defined]
    while not fake.requests:
        await asyncio.sleep(0.01)
    twiml = ElementTree.fromstring(form(fake.requests[0].body)["Twiml"])
    dial, number = twiml.find("Dial"), twiml.find("Dial/Number")
    assert dial is not None and number is not None and number.text == "+919812345678"
    assert dial.get("timeout") == "20" and number.get("statusCallbackEvent") == "answered"
    urls = {"whisper": number.get("url"), "status": number.get("statusCallback"), "dial-ended": dial.get("action")}
    path = lambda url: urlsplit(url).path  # noqa: E731
    async with AsyncTestClient(app) as client:
        whisper = await client.get(path(urls["whisper"]))
        answer = await client.post(path(urls[callback]), data=fields)
        result = await transfer
        late = await client.get(path(urls["whisper"]))
    await carrier.aclose()
    assert ElementTree.fromstring(whisper.text).findtext("Say") == "Qualified lead: Ravi, loan 5 lakh"
    return result, [whisper.status_code, answer.status_code, late.status_code], answer.text


async def test_twilio_warm_transfer_whispers_and_connects_when_the_salesperson_answers(fake: FakeCarrier) -> None:
    result, statuses, _ = await _warm_twilio(fake, "status", {"CallSid": "CA1", "CallStatus": "in-progress"})
    assert result == TransferResult(True, "salesperson answered after the whisper")
    assert statuses == [200, 204, 404]  # the whisper is gone once the transfer is settled


async def test_twilio_warm_transfer_nobody_answering_fails_into_a_callback(fake: FakeCarrier) -> None:
    result, statuses, body = await _warm_twilio(fake, "dial-ended", {"DialCallStatus": "no-answer"})
    assert result == TransferResult(False, "salesperson did not answer (no-answer)")
    assert statuses == [200, 200, 404] and "<Hangup/>" in body


async def test_the_worker_hands_the_engine_s_transfer_to_its_carrier_by_the_carrier_call_id() -> None:
    from control_api.dispatch.worker import Worker
    from engine.records import CallRequest, Lead

    seen: list[tuple[str, Transfer, object]] = []

    class Transferring:
        name, protocol = "fake", "twilio"

        async def transfer(self, carrier_call_id: str, transfer: Transfer, leg: object) -> TransferResult:
            seen.append((carrier_call_id, transfer, leg))
            return TransferResult(True, "ok")

    class NotTransferring:
        name, protocol = "plain", "twilio"

    engine = Engine()
    request = CallRequest(call_id="c-1", lead=Lead("Ravi", "+919876543210"))
    worker = Worker(db=None, settings=Settings(), carrier=Transferring(), media_base_url="", engine=engine)  # type: ignore[arg-type]
    worker.start_hooks()
    assert engine.directory.on_transfer == worker._on_transfer
    unknown = await worker._on_transfer(request, "leg", SALESPERSON)  # no carrier call id: not dialed by us
    worker._carrier_ids["c-1"] = "CA999"
    done = await worker._on_transfer(request, "leg", SALESPERSON)
    plain = Worker(db=None, settings=Settings(), carrier=NotTransferring(), media_base_url="", engine=engine)  # type: ignore[arg-type]
    plain._carrier_ids["c-1"] = "CA999"
    refused = await plain._on_transfer(request, "leg", SALESPERSON)
    assert not unknown.connected and done == TransferResult(True, "ok") and seen == [("CA999", SALESPERSON, "leg")]
    assert refused == TransferResult(False, "carrier plain cannot transfer calls")


# Plivo warm transfer, per the Dial element (https://www.plivo.com/docs/voice/xml/dial/):
#   confirmSound: "A remote URL fetched with a POST HTTP request that must return an XML response with Play, Wait,
#   and/or Speak elements only (all others are ignored). The sound indicated by the XML is played to the called party
#   when the call is answered."
#   action: "Redirect to this URL after leaving Dial." method: "Defaults to POST."
#   timeout: "The amount of time (in seconds) that the called party has to answer the call"
# and its callback attributes (https://www.plivo.com/docs/voice/xml/routing):
#   callbackUrl | URL | URL for real-time dial events
#   callbackMethod | string | HTTP method for callback (GET, POST)
#   confirmSound | URL | URL returning XML to play when B-leg answers
# The callbackUrl request parameters (https://www.plivo.com/docs/voice/xml/dial/#callbackurl-request-parameters):
#   DialAction "answer or hangup or digits"; DialBLegStatus "answer or hangup. This indicates if B leg answered or
#   hung up."; DialBLegUUID "CallUUID of B leg. Empty if nobody answers."
# The action URL's (https://docs.plivo.com/docs/voice/use-cases/dial-status-reporting):
#   DialRingStatus | Indicates whether the dial attempt rang or not. Values: true , false |
#   DialHangupCause | The standard telephony hangup cause. |
#   DialStatus | Status of the dial. Values: completed , busy , failed , timeout , no-answer |
#   DialALegUUID | CallUUID of the A leg. |
#   DialBLegUUID | CallUUID of the B leg. Empty if nobody answers. |
PLIVO_B_LEG_UUID = "0df857fe-2ffb-4f8f-818f-c2161eaf4933"
PLIVO_ANSWERED = {  # a DialAnswer event, with the fields the callbackUrl table names
    "Event": "DialAnswer",
    "DialAction": "answer",
    "DialBLegStatus": "answer",
    "CallUUID": PLIVO_CALL_UUID,
    "DialALegUUID": PLIVO_CALL_UUID,
    "DialBLegUUID": PLIVO_B_LEG_UUID,
    "DialBLegFrom": "911400000000",
    "DialBLegTo": "919812345678",
    "DialBLegPosition": "1",
}
PLIVO_NO_ANSWER = {
    "DialRingStatus": "true",
    "DialHangupCause": "NO_ANSWER",
    "DialStatus": "no-answer",
    "DialALegUUID": PLIVO_CALL_UUID,
    "DialBLegUUID": "",
}


async def _warm_plivo(
    fake: FakeCarrier, callback: str, fields: dict[str, str]
) -> tuple[TransferResult, list[int], str]:
    carrier = registry.build(plivo(fake), Engine(), public_url="https://worker-1.example.in/")
    fake.responses = [(202, {"message": "call transferred", "api_id": "08c94608-58bd-11e1-86da-adf28403fe48"})]
    app = Litestar(route_handlers=carrier_route_handlers(plivo(fake), Engine(), "127.0.0.1", 8000))
    app.state.worker = SimpleNamespace(carrier=carrier)
    leg = SimpleNamespace(carrier_call_id=PLIVO_CALL_UUID)
    transfer = asyncio.create_task(carrier.transfer("9834029e", WARM, leg))  # type: ignore[attr-defined]
    while not fake.requests:
        await asyncio.sleep(0.01)
    [request] = fake.requests
    assert request.path == f"/v1/Account/MA123/Call/{PLIVO_CALL_UUID}/"
    aleg = urlsplit(json.loads(request.body)["aleg_url"])
    path = lambda url: urlsplit(url).path  # noqa: E731
    async with AsyncTestClient(app) as client:
        served = await client.get(f"{aleg.path}?{aleg.query}")
        dial = ElementTree.fromstring(served.text).find("Dial")
        assert dial is not None and [n.text for n in dial.findall("Number")] == ["919812345678"]
        assert dial.get("timeout") == "20" and dial.get("method") == "POST" and dial.get("callbackMethod") == "POST"
        urls = {"whisper": dial.get("confirmSound"), "event": dial.get("callbackUrl"), "ended": dial.get("action")}
        assert all(u and u.startswith("https://worker-1.example.in/carriers/plivo/transfer/") for u in urls.values())
        assert not any("9812345678" in str(u) or "Ravi" in str(u) for u in urls.values())
        whisper = await client.post(path(urls["whisper"]), data={"CallUUID": PLIVO_B_LEG_UUID})
        answer = await client.post(path(urls[callback]), data=fields)
        result = await transfer
        late = await client.post(path(urls["whisper"]))
    await carrier.aclose()
    assert whisper.headers["content-type"].startswith("application/xml")
    assert ElementTree.fromstring(whisper.text).findtext("Speak") == "Qualified lead: Ravi, loan 5 lakh"
    return result, [whisper.status_code, answer.status_code, late.status_code], answer.text


async def test_plivo_warm_transfer_whispers_and_connects_when_the_salesperson_answers(fake: FakeCarrier) -> None:
    result, statuses, _ = await _warm_plivo(fake, "event", PLIVO_ANSWERED)
    assert result == TransferResult(True, "salesperson answered after the whisper")
    assert statuses == [200, 200, 404]  # the whisper is gone once the transfer is settled


async def test_plivo_warm_transfer_nobody_answering_fails_into_a_callback(fake: FakeCarrier) -> None:
    result, statuses, body = await _warm_plivo(fake, "ended", PLIVO_NO_ANSWER)
    assert result == TransferResult(False, "salesperson did not answer (no-answer)")
    assert statuses == [200, 200, 404] and "<Hangup/>" in body
    assert "Ravi" not in result.detail and "9812345678" not in result.detail  # the detail reaches the log


async def test_plivo_warm_transfer_without_word_from_plivo_fails_in_time(
    fake: FakeCarrier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from control_api.origination import warm

    monkeypatch.setattr(warm, "WARM_MARGIN_S", 0.05)
    carrier = registry.build(plivo(fake), Engine(), public_url="https://worker-1.example.in/")
    fake.responses = [(202, {"message": "call transferred", "api_id": "08c94608-58bd-11e1-86da-adf28403fe48"})]
    quiet = Transfer(to=WARM.to, mode="warm", reason="qualified", whisper=WARM.whisper, answer_timeout_s=0)
    result = await carrier.transfer("9834029e", quiet, None)  # type: ignore[attr-defined]
    await carrier.aclose()
    assert result == TransferResult(False, "plivo reported no answer from the salesperson in time")
    assert carrier.inner.warm.pending == {}  # type: ignore[attr-defined]
