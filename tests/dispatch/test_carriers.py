"""Twilio, Exotel and Plivo origination and hang-up against a local HTTP server that checks the exact requests
their APIs document (method, path, basic auth, body fields), plus HTTP failures mapped to dispositions."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import parse_qs
from xml.etree import ElementTree

import pytest

from config.settings import Settings
from control_api.origination import registry
from control_api.origination.base import CarrierError, Dial
from control_api.origination.plivo import stream_xml
from control_api.origination.simulated import SimulatedCarrier, bundled_personas
from control_api.origination.twilio import TwilioCarrier
from engine.facade import Engine
from engine.records import CallRequest, Lead
from tests.dispatch.fake_carrier import FakeCarrier

MEDIA = "wss://worker-1.example.in/media"
TOKEN = "5f1c0ffee5f1c0ffee5f1c0ffee5f1c0"


@pytest.fixture
def fake() -> Iterator[FakeCarrier]:
    server = FakeCarrier().start()
    yield server
    server.stop()


def dial(protocol: str, caller_id: str | None = None, **metadata: object) -> Dial:
    request = CallRequest(call_id="c-123", lead=Lead(name="A", phone="+919876543210"))
    return Dial(
        call_id="c-123",
        to="+919876543210",
        caller_id=caller_id,
        media_url=f"{MEDIA}/{protocol}",
        request=request,
        max_call_s=300,
        metadata=dict(metadata),
        stream_token=TOKEN,
    )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


async def test_twilio_originate_and_hangup(fake: FakeCarrier) -> None:
    settings = Settings(
        carrier="twilio",
        twilio_account_sid="AC123",
        twilio_auth_token="tok",
        twilio_from_number="+911400000000",
        twilio_api_base=fake.url,
        ring_timeout_s=30,
    )
    carrier = registry.build(settings, Engine(), public_url="https://worker-1.example.in")
    fake.responses = [(201, {"sid": "CA999", "status": "queued"}), (200, {"sid": "CA999", "status": "completed"})]
    origination = await carrier.originate(dial(carrier.protocol))
    await carrier.hangup("CA999")
    await carrier.aclose()
    assert origination.carrier_call_id == "CA999" and origination.disposition is None
    create, hangup = fake.requests
    assert (create.method, create.path) == ("POST", "/2010-04-01/Accounts/AC123/Calls.json")
    assert create.headers["Authorization"] == basic("AC123", "tok")
    assert create.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = form(create.body)
    assert fields["To"] == "+919876543210" and fields["From"] == "+911400000000"
    assert fields["Timeout"] == "30" and fields["TimeLimit"] == "300"
    stream = ElementTree.fromstring(fields["Twiml"]).find("./Connect/Stream")
    assert stream is not None and stream.get("url") == f"{MEDIA}/twilio"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {"call_id": "c-123", "stream_token": TOKEN}
    assert (hangup.method, hangup.path) == ("POST", "/2010-04-01/Accounts/AC123/Calls/CA999.json")
    assert form(hangup.body) == {"Status": "completed"}


async def test_exotel_connect_to_flow(fake: FakeCarrier) -> None:
    settings = Settings(
        carrier="exotel",
        exotel_account_sid="acme1",
        exotel_api_key="key",
        exotel_api_token="tok",
        exotel_app_id="926",
        exotel_caller_id="08047112345",
        exotel_api_base=fake.url,
        ring_timeout_s=90,
    )
    carrier = registry.build(settings, Engine(), public_url="https://worker-1.example.in")
    fake.responses = [(200, {"Call": {"Sid": "b6cfaf0a", "Status": "in-progress"}})]
    origination = await carrier.originate(dial(carrier.protocol))
    await carrier.hangup("b6cfaf0a")  # no REST call: Exotel documents none
    await carrier.aclose()
    assert origination.carrier_call_id == "b6cfaf0a"
    (create,) = fake.requests
    assert (create.method, create.path) == ("POST", "/v1/Accounts/acme1/Calls/connect.json")
    assert create.headers["Authorization"] == basic("key", "tok")
    assert form(create.body) == {
        "From": "+919876543210",
        "CallerId": "08047112345",
        "Url": "http://my.exotel.com/acme1/exoml/start_voice/926",
        "CallType": "trans",
        "TimeLimit": "300",
        "TimeOut": "60",  # capped: TRAI allows at most a minute of ringing
        "CustomField": f"call_id=c-123&stream_token={TOKEN}",
    }


async def test_plivo_call_answer_xml_and_hangup(fake: FakeCarrier) -> None:
    settings = Settings(
        carrier="plivo",
        plivo_auth_id="MA123",
        plivo_auth_token="tok",
        plivo_from_number="+911400000000",
        plivo_api_base=fake.url,
        ring_timeout_s=30,
    )
    carrier = registry.build(settings, Engine(), public_url="https://worker-1.example.in/")
    fake.responses = [(201, {"api_id": "x", "message": "call fired", "request_uuid": "9834029e"}), (204, {})]
    origination = await carrier.originate(dial(carrier.protocol))
    await carrier.hangup("9834029e")
    await carrier.aclose()
    assert origination.carrier_call_id == "9834029e"
    create, hangup = fake.requests
    assert (create.method, create.path) == ("POST", "/v1/Account/MA123/Call/")
    assert create.headers["Authorization"] == basic("MA123", "tok")
    assert json.loads(create.body) == {
        "from": "911400000000",
        "to": "919876543210",
        "answer_url": f"https://worker-1.example.in/carriers/plivo/answer?call_id=c-123&stream_token={TOKEN}",
        "answer_method": "GET",
        "ring_timeout": 30,
        "time_limit": 300,
    }
    assert (hangup.method, hangup.path) == ("DELETE", "/v1/Account/MA123/Request/9834029e/")
    stream = ElementTree.fromstring(stream_xml(f"{MEDIA}/plivo", "c-123", TOKEN)).find("Stream")
    assert stream is not None and stream.text == f"{MEDIA}/plivo"
    assert stream.get("bidirectional") == "true" and stream.get("extraHeaders") == f"callid=c123;streamtoken={TOKEN}"
    assert stream.get("contentType") == "audio/x-mulaw;rate=8000"


@pytest.mark.parametrize(("status", "disposition"), [(503, "failed"), (401, "error")])
async def test_http_failures_map_to_dispositions(fake: FakeCarrier, status: int, disposition: str) -> None:
    settings = Settings(
        carrier="twilio",
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from_number="+9114",
        twilio_api_base=fake.url,
    )
    # the adapter alone: the registry's breaker retries a 503
    carrier = TwilioCarrier(settings, "https://worker-1.example.in")
    fake.responses = [(status, {"message": "nope"})]
    with pytest.raises(CarrierError) as err:
        await carrier.originate(dial("twilio"))
    assert err.value.disposition == disposition
    await carrier.aclose()


async def test_unreachable_carrier_fails_the_dial_within_its_timeout() -> None:
    settings = Settings(
        carrier="plivo",
        plivo_auth_id="MA1",
        plivo_auth_token="t",
        plivo_from_number="+9114",
        plivo_api_base="http://127.0.0.1:9",
    )
    carrier = registry.build(settings, Engine(), public_url="https://w")
    with pytest.raises(CarrierError) as err:
        await carrier.originate(dial("plivo"))
    assert err.value.disposition == "failed"
    await carrier.aclose()


def test_missing_credentials_name_the_variable() -> None:
    with pytest.raises(CarrierError, match="CLOSERR_TWILIO_ACCOUNT_SID"):
        registry.build(Settings(carrier="twilio"), Engine(), public_url="")


async def test_simulated_carrier_fates_and_personas() -> None:
    carrier = SimulatedCarrier(Settings(sim_ring_s=0, sim_busy_rate=1.0), Engine())
    assert (await carrier.originate(dial("twilio"))).disposition == "busy"  # the configured rate
    assert (await carrier.originate(dial("twilio", sim="no_answer"))).disposition == "no_answer"  # metadata wins
    with pytest.raises(CarrierError):
        await carrier.originate(dial("twilio", sim="exploded"))
    assert {"qualified", "not_qualified", "opt_out", "callback", "voicemail", "hangup"} <= set(bundled_personas())
    answering = SimulatedCarrier(Settings(sim_ring_s=0), Engine())
    persona = answering.persona_for(dial("twilio", persona={"turns": [{"say": "Yes."}]}))
    assert [t.say for t in persona.turns] == ["Yes."]


async def test_worker_answers_the_carriers_callbacks() -> None:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from control_api.dispatch.runtime import carrier_route_handlers

    settings = Settings(media_public_url="wss://worker-1.example.in")
    app = Litestar(route_handlers=carrier_route_handlers(settings, Engine(), "127.0.0.1", 8100))
    async with AsyncTestClient(app=app) as client:
        plivo = await client.get("/carriers/plivo/answer", params={"call_id": "c-9", "stream_token": TOKEN})
        assert plivo.status_code == 200 and plivo.headers["content-type"].startswith("application/xml")
        stream = ElementTree.fromstring(plivo.text).find("Stream")
        assert stream is not None and stream.text == f"{MEDIA}/plivo"
        assert stream.get("extraHeaders") == f"callid=c9;streamtoken={TOKEN}"
        field = f"call_id=c-9&stream_token={TOKEN}&other=x"
        exotel = await client.get("/carriers/exotel/stream-url", params={"CustomField": field, "CallSid": "abc"})
        assert exotel.json() == {"url": f"{MEDIA}/exotel?call_id=c-9&stream_token={TOKEN}"}
        missing = await client.get("/carriers/plivo/answer")
        assert missing.status_code == 400
        # Plivo's extraHeaders allow letters and digits only: a call id that cannot travel there is refused, named.
        unsendable = await client.get("/carriers/plivo/answer", params={"call_id": "c_9;x=1", "stream_token": TOKEN})
        assert unsendable.status_code == 400 and "call_id" in unsendable.text
