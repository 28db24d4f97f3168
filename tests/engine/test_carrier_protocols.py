"""The carrier media-stream protocols, fed messages alone: no socket, no event loop."""

import base64
import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audio.g711 import ulaw_encode
from engine.telephony.media_streams import (
    Audio,
    Dtmf,
    ExotelProtocol,
    Mark,
    PlivoProtocol,
    ProtocolError,
    Started,
    Stopped,
    TwilioProtocol,
)

PCM = (b"\x10\x00\xf0\xff" * 80)[:320]


def twilio_start(custom=None):
    return json.dumps(
        {
            "event": "start",
            "streamSid": "MZ1",
            "start": {
                "streamSid": "MZ1",
                "callSid": "CA1",
                "customParameters": custom or {"call_id": "c1"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )


def twilio_media(pcm=PCM):
    return json.dumps(
        {
            "event": "media",
            "streamSid": "MZ1",
            "media": {"track": "inbound", "payload": base64.b64encode(ulaw_encode(pcm)).decode()},
        }
    )


def test_twilio_full_conversation():
    p = TwilioProtocol()
    assert p.receive(json.dumps({"event": "connected", "protocol": "Call"})) == []
    [started] = p.receive(twilio_start())
    assert started == Started("MZ1", "CA1", {"call_id": "c1"})
    [audio] = p.receive(twilio_media())
    assert isinstance(audio, Audio) and len(audio.pcm) == 320
    assert p.receive(json.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": "u1"}})) == [Mark("u1")]
    assert p.receive(json.dumps({"event": "dtmf", "streamSid": "MZ1", "dtmf": {"digit": "1"}})) == [Dtmf("1")]
    assert p.receive(json.dumps({"event": "stop", "streamSid": "MZ1", "stop": {}})) == [Stopped()]


def test_twilio_outbound_messages_follow_the_documented_shape():
    p = TwilioProtocol()
    p.receive(twilio_start())
    media = json.loads(p.media(PCM))
    assert media == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": base64.b64encode(ulaw_encode(PCM)).decode()},
    }
    assert json.loads(p.mark("u7")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "u7"}}
    assert json.loads(p.clear()) == {"event": "clear", "streamSid": "MZ1"}


def test_outbound_track_media_is_ignored():
    p = TwilioProtocol()
    p.receive(twilio_start())
    msg = json.loads(twilio_media())
    msg["media"]["track"] = "outbound"
    assert p.receive(json.dumps(msg)) == []


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1, 2]",
        json.dumps({"no": "event"}),
        json.dumps({"event": "nonsense"}),
        json.dumps({"event": "media", "media": {"payload": "!!!not base64!!!"}}),
        json.dumps({"event": "media", "media": {}}),
        json.dumps({"event": "media"}),
        json.dumps({"event": "mark", "mark": {}}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "X"}}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": 5}}),
        json.dumps({"event": "start"}),
        json.dumps({"event": "media", "media": {"payload": "A" * 200_000}}),
    ],
)
def test_twilio_malformed_messages_raise_protocol_error(message):
    p = TwilioProtocol()
    p.receive(twilio_start()) if '"start"' not in message else None
    with pytest.raises(ProtocolError):
        p.receive(message)


@pytest.mark.parametrize("event", ["media", "mark", "dtmf", "stop"])
def test_twilio_events_before_start_are_out_of_order(event):
    p = TwilioProtocol()
    body = {"event": event, "media": {"payload": ""}, "mark": {"name": "x"}, "dtmf": {"digit": "1"}}
    with pytest.raises(ProtocolError, match="before 'start'"):
        p.receive(json.dumps(body))


def test_twilio_second_start_and_message_after_stop_are_rejected():
    p = TwilioProtocol()
    p.receive(twilio_start())
    with pytest.raises(ProtocolError, match="second"):
        p.receive(twilio_start())
    q = TwilioProtocol()
    q.receive(twilio_start())
    q.receive(json.dumps({"event": "stop"}))
    with pytest.raises(ProtocolError, match="after stop"):
        q.receive(twilio_media())


def test_twilio_rejects_a_start_with_another_encoding():
    p = TwilioProtocol()
    msg = json.loads(twilio_start())
    msg["start"]["mediaFormat"]["encoding"] = "audio/l16"
    with pytest.raises(ProtocolError, match="encoding"):
        p.receive(json.dumps(msg))


def test_exotel_carries_16_bit_pcm_and_snake_case_ids():
    p = ExotelProtocol()
    [started] = p.receive(
        json.dumps(
            {"event": "start", "start": {"stream_sid": "S1", "call_sid": "C1", "custom_parameters": {"call_id": "x"}}}
        )
    )
    assert started == Started("S1", "C1", {"call_id": "x"})
    [audio] = p.receive(
        json.dumps({"event": "media", "stream_sid": "S1", "media": {"payload": base64.b64encode(PCM).decode()}})
    )
    assert audio == Audio(PCM)
    assert json.loads(p.media(PCM)) == {
        "event": "media",
        "stream_sid": "S1",
        "media": {"payload": base64.b64encode(PCM).decode()},
    }
    assert json.loads(p.clear()) == {"event": "clear", "stream_sid": "S1"}
    with pytest.raises(ProtocolError, match="odd-length"):
        p.receive(json.dumps({"event": "media", "media": {"payload": base64.b64encode(b"abc").decode()}}))


def test_plivo_uses_play_audio_checkpoints_and_clear_audio():
    p = PlivoProtocol()
    [started] = p.receive(json.dumps({"event": "start", "start": {"streamId": "P1", "callId": "C9"}}))
    assert started.stream_id == "P1"
    sent = json.loads(p.media(PCM))
    assert sent["event"] == "playAudio" and sent["media"]["contentType"] == "audio/x-mulaw" and "streamId" not in sent
    assert json.loads(p.mark("u1")) == {"event": "checkpoint", "streamId": "P1", "name": "u1"}
    assert p.receive(json.dumps({"event": "playedStream", "name": "u1"})) == [Mark("u1")]
    assert json.loads(p.clear()) == {"event": "clearAudio", "streamId": "P1"}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
EVENTS = st.sampled_from(
    ["connected", "start", "media", "mark", "dtmf", "stop", "playedStream", "clearedAudio", "nonsense"]
)


@pytest.mark.parametrize("protocol", [TwilioProtocol, ExotelProtocol, PlivoProtocol])
@settings(max_examples=150, deadline=None)
@given(messages=st.lists(st.tuples(EVENTS, JSON_VALUES), max_size=8), raw=st.binary(max_size=40))
def test_any_input_is_an_event_or_a_protocol_error(protocol, messages, raw):
    """Whatever a peer sends, the protocol answers with events or ProtocolError: never another exception."""
    p = protocol()
    for event, body in [*messages, ("raw", raw)]:
        text = (
            raw
            if event == "raw"
            else json.dumps({"event": event, "start": body, "media": body, "mark": body, "dtmf": body})
        )
        with contextlib.suppress(ProtocolError):
            p.receive(text)
