"""Each carrier's media stream as its documentation publishes it (tests/engine/carrier_docs): the documented
inbound messages through the real protocol classes, our outbound messages against the documented examples, the
simulated carrier against the same examples, and one documented call per carrier through a real WebSocket."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import websockets

from control_api.origination.exotel import custom_field, stream_url
from control_api.origination.plivo import stream_xml
from control_api.origination.twilio import twiml
from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.directory import CallDirectory
from engine.facade import Engine
from engine.memory import CallGarbage
from engine.records import CallRequest, Lead
from engine.simulator.far_end import FAR_ENDS
from engine.simulator.run import free_port
from engine.telephony.media_streams import (
    Audio,
    CarrierProtocol,
    Dtmf,
    ExotelProtocol,
    Mark,
    PlivoProtocol,
    Started,
    Stopped,
    TwilioProtocol,
)
from engine.telephony.media_streams.plivo import extra_headers, format_extra_headers
from tests.engine.carrier_docs import exotel as exotel_docs
from tests.engine.carrier_docs import plivo as plivo_docs
from tests.engine.carrier_docs import twilio as twilio_docs
from tests.engine_services import shared_services
from tests.security.test_media_and_sip import GUARD_S, build_app, serving, worker_settings

PCM = (b"\x10\x00\xf0\xff" * 80)[:320]  # 20 ms of 16-bit 8 kHz audio
ULAW = ulaw_encode(PCM)  # the same, as Twilio and Plivo carry it
# Custom parameters are ours to choose (the docs show sample ones): their shape is "an object of strings".
OPAQUE = frozenset({"customParameters", "custom_parameters"})


def doc(text: str) -> dict[str, Any]:
    return json.loads(text)


def shape(value: Any, key: str = "") -> Any:
    """Field names, nesting and JSON types, without the values."""
    if key in OPAQUE:
        return "object of strings" if all(isinstance(v, str) for v in value.values()) else "mixed"
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def with_payload(text: str, payload: bytes) -> dict[str, Any]:
    """A documented media message carrying ``payload``: the pages show placeholders (``<base64_encoded_audio>``)
    or payloads cut short with ``...``, which are not base64; everything else is kept as documented."""
    message = doc(text)
    message["media"]["payload"] = base64.b64encode(payload).decode()
    return message


def feed(protocol: CarrierProtocol, message: str | dict[str, Any]) -> list[Any]:
    return protocol.receive(message if isinstance(message, str) else json.dumps(message))


# -- the documented inbound messages through the protocol classes ------------------------------------------------


def test_twilio_documented_messages_parse_to_the_events_they_describe() -> None:
    p = TwilioProtocol()
    assert feed(p, twilio_docs.CONNECTED) == []
    sid, call = "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    custom = {"FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob"}
    assert feed(p, twilio_docs.START) == [Started(sid, call, custom)]
    assert feed(p, with_payload(twilio_docs.MEDIA_INBOUND_TRACK, ULAW)) == [Audio(ulaw_decode(ULAW))]
    assert feed(p, with_payload(twilio_docs.MEDIA_OUTBOUND_TRACK, ULAW)) == []  # our own audio echoed: not the caller
    assert feed(p, twilio_docs.DTMF) == [Dtmf("1")]
    assert feed(p, twilio_docs.MARK) == [Mark("my label")]
    assert feed(p, twilio_docs.STOP) == [Stopped()]


def test_exotel_documented_messages_parse_to_the_events_they_describe() -> None:
    p = ExotelProtocol()
    assert feed(p, exotel_docs.CONNECTED) == []
    [started] = feed(p, exotel_docs.START)
    assert started == Started("<stream_sid>", "<call_sid>", {"key1": "value1", "key2": "value2"})
    assert feed(p, with_payload(exotel_docs.MEDIA, PCM)) == [Audio(PCM)]  # raw 16-bit PCM, base64
    assert feed(p, exotel_docs.DTMF) == [Dtmf("5")]
    assert feed(p, exotel_docs.MARK) == [Mark("<label>")]
    assert feed(p, exotel_docs.STOP) == [Stopped()]


def test_plivo_documented_messages_parse_to_the_events_they_describe() -> None:
    p = PlivoProtocol()
    assert "mediaFormat" in doc(plivo_docs.START)["start"]
    [started] = feed(p, plivo_docs.START)
    stream, call = "87654321-4321-4321-4321-cba987654321", "12345678-1234-1234-1234-123456789abc"
    assert started == Started(stream, call, {"userId": "12345", "sessionId": "abc-xyz"})  # the extra_headers string
    assert feed(p, with_payload(plivo_docs.MEDIA, ULAW)) == [Audio(ulaw_decode(ULAW))]
    assert feed(p, plivo_docs.DTMF) == [Dtmf("5")]
    assert feed(p, plivo_docs.PLAYED_STREAM) == [Mark("greeting-complete")]
    assert feed(p, plivo_docs.PLAYED) == [Mark("customer greeting audio")]  # the support article's name for it
    assert feed(p, plivo_docs.CLEARED_AUDIO) == []


# -- what we send, against the documented examples ----------------------------------------------------------------


def test_twilio_outbound_messages_are_the_documented_ones() -> None:
    p = TwilioProtocol()
    feed(p, twilio_docs.START)
    media = json.loads(p.media(PCM))
    assert shape(media) == shape(doc(twilio_docs.SEND_MEDIA))
    assert media["streamSid"] == doc(twilio_docs.SEND_MEDIA)["streamSid"]
    assert json.loads(p.mark("my label")) == doc(twilio_docs.SEND_MARK)
    assert json.loads(p.clear()) == doc(twilio_docs.SEND_CLEAR)


def test_exotel_outbound_messages_are_the_documented_ones() -> None:
    p = ExotelProtocol()
    feed(p, exotel_docs.START)
    media = json.loads(p.media(PCM))
    assert shape(media) == shape(doc(exotel_docs.SEND_MEDIA))
    assert media["stream_sid"] == "<stream_sid>" and base64.b64decode(media["media"]["payload"]) == PCM
    assert json.loads(p.mark("my-label")) == doc(exotel_docs.SEND_MARK)
    assert json.loads(p.clear()) == doc(exotel_docs.SEND_CLEAR)


def test_plivo_outbound_messages_are_the_documented_ones() -> None:
    p = PlivoProtocol()
    feed(p, plivo_docs.START)
    media = json.loads(p.media(PCM))
    documented = doc(plivo_docs.PLAY_AUDIO)
    assert shape(media) == shape(documented)  # playAudio names no stream
    assert {k: media["media"][k] for k in ("contentType", "sampleRate")} == {
        k: documented["media"][k] for k in ("contentType", "sampleRate")
    }
    assert json.loads(p.mark("greeting-complete")) == doc(plivo_docs.CHECKPOINT)
    assert json.loads(p.clear()) == doc(plivo_docs.CLEAR_AUDIO)


# -- how our call id and token travel -------------------------------------------------------------------------------


PLAIN_PAIRS = re.compile(r"[A-Za-z0-9]+=[A-Za-z0-9]+(;[A-Za-z0-9]+=[A-Za-z0-9]+)*")


async def test_plivo_extra_headers_we_send_are_letters_and_digits_and_name_the_dialed_call() -> None:
    directory = CallDirectory()
    call_id = str(uuid.uuid4())
    result = directory.expect(CallRequest(call_id=call_id, lead=Lead(name="Asha", phone="+919876543210")))
    token = directory.stream_token(call_id)
    stream = ElementTree.fromstring(stream_xml("wss://w.example.in/media/plivo", call_id, token)).find("Stream")
    assert stream is not None
    headers = str(stream.get("extraHeaders"))
    assert PLAIN_PAIRS.fullmatch(headers), headers  # keys too: Plivo allows only [A-Z], [a-z], [0-9]
    # Plivo hands the attribute back as the start event's extra_headers string; it names the dialed call.
    start = doc(plivo_docs.START)
    start["extra_headers"] = headers
    [started] = feed(PlivoProtocol(), start)
    request, claimed = directory.claim(started.custom)
    assert request.call_id == call_id and claimed is result
    result.cancel()


def test_plivo_extra_headers_refuse_what_plivo_could_not_carry_and_read_the_comma_form() -> None:
    with pytest.raises(ValueError, match="letters and digits"):
        format_extra_headers({"call_id": "c9;x=1"})
    # The <Stream> XML reference's own example separates the pairs with commas.
    assert extra_headers("test1=12,test2=123") == {"test1": "12", "test2": "123"}


def test_twilio_and_exotel_carry_call_id_and_token_as_custom_parameters() -> None:
    stream = ElementTree.fromstring(twiml("wss://w.example.in/media/twilio", "c-1", "ab12")).find("Connect/Stream")
    assert stream is not None
    assert {p.get("name"): p.get("value") for p in stream.findall("Parameter")} == {
        "call_id": "c-1",
        "stream_token": "ab12",
    }
    # Exotel: the Voicebot applet's URL query parameters become start.custom_parameters (at most 3 of them).
    url = stream_url("wss://w.example.in/media/exotel", custom_field("c-1", "ab12"))
    assert url == "wss://w.example.in/media/exotel?call_id=c-1&stream_token=ab12"


# -- the simulated carrier speaks the documented form --------------------------------------------------------------


def _far_end_messages(carrier: str) -> dict[str, Any]:
    far = FAR_ENDS[carrier]("stream-1", str(uuid.uuid4()))
    opening = far.opening({"call_id": str(uuid.uuid4()), "stream_token": "0123456789abcdef"})
    return {
        "opening": opening,
        "media": far.media(PCM, 1),
        "mark": far.mark_played("u1"),
        "cleared": far.cleared(),
        "stop": far.stop(),
    }


@pytest.mark.parametrize(
    ("carrier", "documented"),
    [
        (
            "twilio",
            {
                "opening": [twilio_docs.CONNECTED, twilio_docs.START],
                "media": twilio_docs.MEDIA_INBOUND_TRACK,
                "mark": twilio_docs.MARK,
                "cleared": [],
                "stop": twilio_docs.STOP,
            },
        ),
        (
            "exotel",
            {
                "opening": [exotel_docs.CONNECTED, exotel_docs.START],
                "media": exotel_docs.MEDIA,
                "mark": exotel_docs.MARK,
                "cleared": [],
                "stop": exotel_docs.STOP,
            },
        ),
        (
            "plivo",
            {
                "opening": [plivo_docs.START],
                "media": plivo_docs.MEDIA,
                "mark": plivo_docs.PLAYED_STREAM,
                "cleared": [plivo_docs.CLEARED_AUDIO],
                "stop": None,  # Plivo documents no stop event: the simulated lead just closes the socket
            },
        ),
    ],
)
def test_the_simulated_carrier_sends_the_documented_messages(carrier: str, documented: dict[str, Any]) -> None:
    sent = _far_end_messages(carrier)

    def expected(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [shape(doc(v)) for v in value]
        return shape(doc(value))

    assert {k: shape(v) if v is not None else None for k, v in sent.items()} == {
        k: expected(v) for k, v in documented.items()
    }
    if carrier == "twilio":
        assert sent["media"]["media"]["track"] == "inbound"
    if carrier == "plivo":
        assert PLAIN_PAIRS.fullmatch(sent["opening"][0]["extra_headers"])


@pytest.mark.parametrize(
    ("carrier", "media", "mark", "clear"),
    [
        ("twilio", twilio_docs.SEND_MEDIA, twilio_docs.SEND_MARK, twilio_docs.SEND_CLEAR),
        ("exotel", exotel_docs.SEND_MEDIA, exotel_docs.SEND_MARK, exotel_docs.SEND_CLEAR),
        ("plivo", plivo_docs.PLAY_AUDIO, plivo_docs.CHECKPOINT, plivo_docs.CLEAR_AUDIO),
    ],
)
def test_the_simulated_carrier_reads_the_documented_outbound_messages(
    carrier: str, media: str, mark: str, clear: str
) -> None:
    far = FAR_ENDS[carrier]("stream-1", "call-1")
    heard = far.read(with_payload(media, b"\xff" * 160))
    assert heard.kind == "media" and len(heard.pcm) in (160, 320)
    documented_mark = doc(mark)
    name = documented_mark.get("name") or documented_mark["mark"]["name"]
    heard_mark = far.read(documented_mark)
    assert (heard_mark.kind, heard_mark.name) == ("mark", name)
    assert far.read(doc(clear)).kind == "clear"


# -- one documented call per carrier, through a real WebSocket -----------------------------------------------------


def _opening_for_the_dialed_call(carrier: str, call_id: str, token: str) -> list[dict[str, Any]]:
    """The documented opening messages with the dialed call's id and token where the docs show sample values: in
    Twilio's customParameters (our TwiML's <Parameter>s), in Exotel's custom_parameters (our stream URL's query)
    and in Plivo's extra_headers (the string our answer XML's extraHeaders becomes)."""
    if carrier == "twilio":
        connected, start = doc(twilio_docs.CONNECTED), doc(twilio_docs.START)
        start["start"]["customParameters"] = {"call_id": call_id, "stream_token": token}
        return [connected, start]
    if carrier == "exotel":
        connected, start = doc(exotel_docs.CONNECTED), doc(exotel_docs.START)
        start["start"]["custom_parameters"] = {"call_id": call_id, "stream_token": token}
        return [connected, start]
    start = doc(plivo_docs.START)
    stream = ElementTree.fromstring(stream_xml("wss://w.example.in/media/plivo", call_id, token)).find("Stream")
    assert stream is not None
    start["extra_headers"] = str(stream.get("extraHeaders"))
    return [start]


CALLER_AUDIO = {
    "twilio": with_payload(twilio_docs.MEDIA_INBOUND_TRACK, b"\xff" * 160),  # mu-law silence
    "exotel": with_payload(exotel_docs.MEDIA, b"\x00\x00" * 160),  # 16-bit PCM silence
    "plivo": with_payload(plivo_docs.MEDIA, b"\xff" * 160),
}
OUTBOUND = {
    "twilio": {"media": twilio_docs.SEND_MEDIA, "mark": twilio_docs.SEND_MARK, "clear": twilio_docs.SEND_CLEAR},
    "exotel": {"media": exotel_docs.SEND_MEDIA, "mark": exotel_docs.SEND_MARK, "clear": exotel_docs.SEND_CLEAR},
    "plivo": {
        "playAudio": plivo_docs.PLAY_AUDIO,
        "checkpoint": plivo_docs.CHECKPOINT,
        "clearAudio": plivo_docs.CLEAR_AUDIO,
    },
}
AUDIO_EVENT = {"twilio": "media", "exotel": "media", "plivo": "playAudio"}
HANG_UP = {"twilio": twilio_docs.STOP, "exotel": exotel_docs.STOP, "plivo": None}  # Plivo: the socket closes


@pytest.mark.parametrize("carrier", ["twilio", "exotel", "plivo"])
async def test_a_documented_stream_for_a_dialed_call_is_admitted_and_answered_in_the_documented_form(
    tmp_path: Path, carrier: str
) -> None:
    engine = Engine(services=shared_services(), garbage=CallGarbage(every_calls=1))
    port = free_port()
    async with serving(build_app("worker", worker_settings(tmp_path), engine, port), port) as address:
        call_id = str(uuid.uuid4())
        request = CallRequest(call_id=call_id, lead=Lead(name="Asha", phone="+919876543210"), max_call_s=60.0)
        result = engine.directory.expect(request)
        token = engine.directory.stream_token(call_id)
        async with asyncio.timeout(GUARD_S):
            async with websockets.connect(f"ws://{address}/media/{carrier}") as ws:
                for message in _opening_for_the_dialed_call(carrier, call_id, token):
                    await ws.send(json.dumps(message))
                await ws.send(json.dumps(CALLER_AUDIO[carrier]))
                while True:  # the agent's greeting comes back in the documented outbound messages
                    message = json.loads(await ws.recv())
                    documented = OUTBOUND[carrier].get(message["event"])
                    assert documented is not None, message
                    assert shape(message) == shape(doc(documented)), message
                    if message["event"] == AUDIO_EVENT[carrier]:
                        break
                assert engine.active_calls == 1 and engine.directory.active(call_id)
                if HANG_UP[carrier] is not None:
                    await ws.send(json.dumps(doc(HANG_UP[carrier])))
            record = await result
    assert record.call_id == call_id and engine.active_calls == 0
    assert engine.garbage.collections == 1  # the ended call's cycles were collected right after it
