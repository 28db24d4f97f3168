"""Carriers' answering-machine detection: the dial asks for it with the parameters Twilio and Plivo document, and
their callbacks, with the documented fields, reach the live call through the worker's route only with the call's
callback token. Exotel documents no AMD for calls connected to a flow: its dial asks for none."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from config.settings import Settings
from control_api.dispatch.runtime import create_worker_app
from control_api.origination import registry
from control_api.origination.base import Dial
from engine.facade import Engine
from engine.records import CallRequest, Lead
from tests.dispatch.fake_carrier import FakeCarrier

PUBLIC = "https://worker-1.example.in"
CALLBACK_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def fake() -> Iterator[FakeCarrier]:
    server = FakeCarrier().start()
    yield server
    server.stop()


def dial(protocol: str) -> Dial:
    return Dial(
        call_id="c-123",
        to="+919876543210",
        caller_id=None,
        media_url=f"wss://worker-1.example.in/media/{protocol}",
        request=CallRequest(call_id="c-123", lead=Lead(name="A", phone="+919876543210")),
        max_call_s=300,
        stream_token="5f1c0ffee5f1c0ffee5f1c0ffee5f1c0",
        callback_token=CALLBACK_TOKEN,
    )


def callback_query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {k: v[0] for k, v in parse_qs(parts.query).items()}


async def test_twilio_dial_asks_for_async_amd_that_waits_for_the_greetings_end(fake: FakeCarrier) -> None:
    # https://www.twilio.com/docs/voice/answering-machine-detection ("API parameters"):
    # MachineDetection: Enable or DetectMessageEnd; AsyncAmd: true or false; AsyncAmdStatusCallbackMethod: POST;
    # AsyncAmdStatusCallback: Absolute or relative URL.
    settings = Settings(
        carrier="twilio",
        twilio_account_sid="AC123",
        twilio_auth_token="tok",
        twilio_from_number="+911400000000",
        twilio_api_base=fake.url,
    )
    carrier = registry.build(settings, Engine(), public_url=PUBLIC)
    fake.responses = [(201, {"sid": "CA999", "status": "queued"})]
    await carrier.originate(dial(carrier.protocol))
    await carrier.aclose()
    fields = {k: v[0] for k, v in parse_qs(fake.requests[0].body.decode()).items()}
    assert fields["MachineDetection"] == "DetectMessageEnd"
    assert fields["AsyncAmd"] == "true" and fields["AsyncAmdStatusCallbackMethod"] == "POST"
    base, query = callback_query(fields["AsyncAmdStatusCallback"])
    assert base == f"{PUBLIC}/carriers/twilio/amd"
    assert query == {"call_id": "c-123", "callback_token": CALLBACK_TOKEN}


async def test_plivo_dial_asks_for_machine_detection_with_a_callback(fake: FakeCarrier) -> None:
    # https://www.plivo.com/docs/voice/api/call/make-a-call: machine_detection ("true" or "hangup"),
    # machine_detection_url, machine_detection_method (default POST).
    settings = Settings(
        carrier="plivo", plivo_auth_id="MA123", plivo_auth_token="tok", plivo_from_number="+911400000000"
    )
    settings = settings.model_copy(update={"plivo_api_base": fake.url})
    carrier = registry.build(settings, Engine(), public_url=PUBLIC)
    fake.responses = [(201, {"api_id": "x", "message": "call fired", "request_uuid": "9834029e"})]
    await carrier.originate(dial(carrier.protocol))
    await carrier.aclose()
    body = json.loads(fake.requests[0].body)
    assert body["machine_detection"] == "true"  # keep the call: the agent leaves a message ("hangup" would not)
    assert body["machine_detection_method"] == "POST"
    base, query = callback_query(body["machine_detection_url"])
    assert base == f"{PUBLIC}/carriers/plivo/amd"
    assert query == {"call_id": "c-123", "callback_token": CALLBACK_TOKEN}


async def test_amd_can_be_switched_off_and_exotel_is_never_asked(fake: FakeCarrier) -> None:
    twilio = registry.build(
        Settings(
            carrier="twilio",
            twilio_account_sid="AC1",
            twilio_auth_token="t",
            twilio_from_number="+911400000000",
            twilio_api_base=fake.url,
            carrier_amd=False,
        ),
        Engine(),
        public_url=PUBLIC,
    )
    exotel = registry.build(
        Settings(
            carrier="exotel",
            exotel_account_sid="acme1",
            exotel_api_key="k",
            exotel_api_token="t",
            exotel_app_id="926",
            exotel_caller_id="08047112345",
            exotel_api_base=fake.url,
        ),
        Engine(),
        public_url=PUBLIC,
    )
    fake.responses = [(201, {"sid": "CA1"}), (200, {"Call": {"Sid": "b6"}})]
    await twilio.originate(dial("twilio"))
    await exotel.originate(dial("exotel"))
    await twilio.aclose()
    await exotel.aclose()
    for request in fake.requests:
        assert b"MachineDetection" not in request.body and b"AsyncAmd" not in request.body


# Twilio posts the AsyncAmdStatusCallback as a form with these parameters; AnsweredBy is one of human,
# machine_start, machine_end_beep, machine_end_silence, machine_end_other, fax, unknown
# (https://www.twilio.com/docs/voice/answering-machine-detection, "Webhook parameters").
TWILIO_MACHINE_END = {
    "CallSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "AnsweredBy": "machine_end_beep",
    "MachineDetectionDuration": "5000",
}
# Plivo's machine_detection_url request (https://www.plivo.com/docs/voice/api/call/asynchronous-machine-detection/):
# From, Machine ("true"), To, RequestUUID, ALegRequestUUID, CallUUID, IfMachine (continue | hangup), Direction
# ("outbound"), ALegUUID, Event ("MachineDetection"), CallStatus ("in-progress").
PLIVO_MACHINE = {
    "From": "911400000000",
    "Machine": "true",
    "To": "919876543210",
    "RequestUUID": "9834029e-58b6-11e1-b8b7-a5bd0e4e126f",
    "ALegRequestUUID": "9834029e-58b6-11e1-b8b7-a5bd0e4e126f",
    "CallUUID": "eba1b2c0-58b6-11e1-86da-77300b68f8bb",
    "IfMachine": "continue",
    "Direction": "outbound",
    "ALegUUID": "eba1b2c0-58b6-11e1-86da-77300b68f8bb",
    "Event": "MachineDetection",
    "CallStatus": "in-progress",
}


async def test_the_carriers_amd_callbacks_reach_the_call_only_with_its_token(tmp_path: Path) -> None:
    engine = Engine()
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}", sim_no_answer_rate=1.0
    )
    app = create_worker_app(settings, engine, "127.0.0.1", 8100)  # the `closerr worker` app
    heard: dict[str, tuple[str, bool]] = {}
    async with AsyncTestClient(app=app) as client:
        for call_id in ("c-tw", "c-pl"):
            engine.directory.expect(CallRequest(call_id=call_id, lead=Lead(name="A", phone="+919876543210")))
            inbox = engine.directory.inbox(call_id)
            assert inbox is not None
            inbox.listen(lambda who, end, call_id=call_id: heard.__setitem__(call_id, (who, end)))

        def query(call_id: str, token: str | None = None) -> dict[str, str]:
            return {"call_id": call_id, "callback_token": token or engine.directory.callback_token(call_id)}

        twilio = await client.post("/carriers/twilio/amd", params=query("c-tw"), data=TWILIO_MACHINE_END)
        plivo = await client.post("/carriers/plivo/amd", params=query("c-pl"), data=PLIVO_MACHINE)
        assert (twilio.status_code, twilio.text) == (200, "OK") and plivo.status_code == 200
        assert heard == {"c-tw": ("machine", True), "c-pl": ("machine", False)}

        wrong = await client.post("/carriers/twilio/amd", params=query("c-tw", "0" * 32), data=TWILIO_MACHINE_END)
        unknown = await client.post("/carriers/twilio/amd", params=query("c-pl") | {"call_id": "c-nope"}, data={})
        nobody = await client.post(
            "/carriers/twilio/amd", params={"call_id": "c-nope", "callback_token": "x"}, data=TWILIO_MACHINE_END
        )
        missing = await client.post("/carriers/plivo/amd", params=query("c-pl"), data={"Event": "MachineDetection"})
        exotel = await client.post("/carriers/exotel/amd", params=query("c-pl"), data=PLIVO_MACHINE)
        assert wrong.status_code == 403 and wrong.json()["type"].endswith("unknown-call")
        assert unknown.status_code == 422 and unknown.json()["field"] == "AnsweredBy"
        assert nobody.status_code == 403
        assert missing.status_code == 422 and missing.json()["field"] == "Machine"
        assert exotel.status_code == 404
        # Once the call is over its token is worthless.
        engine.directory.forget("c-tw")
        late = await client.post(
            "/carriers/twilio/amd", params={"call_id": "c-tw", "callback_token": "x"}, data=TWILIO_MACHINE_END
        )
        assert late.status_code == 403
    assert heard == {"c-tw": ("machine", True), "c-pl": ("machine", False)}


async def test_a_stranger_cannot_make_the_worker_read_a_large_callback_body(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}")
    app = create_worker_app(settings, Engine(), "127.0.0.1", 8100)
    async with AsyncTestClient(app=app) as client:
        body = {"AnsweredBy": "human", "Padding": "x" * 100_000}
        r = await client.post("/carriers/twilio/amd", params={"call_id": "c", "callback_token": "t"}, data=body)
    assert r.status_code == 413, r.text
