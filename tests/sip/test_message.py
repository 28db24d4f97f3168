"""SIP message parsing and serialising, bytes only."""

from __future__ import annotations

import pytest

from engine.telephony.sip.message import (
    SipParseError,
    SipRequest,
    SipResponse,
    StreamParser,
    make_response,
    parse_message,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_list,
)
from tests.sip.peer import Peer

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKx\r\n"
    b"Max-Forwards: 70\r\n"
    b"t: Bob <sip:bob@example.com>\r\n"
    b'f: "Alice, A." <sip:alice@example.com>;tag=1928301774\r\n'
    b"i: a84b4c76e66710@pc33\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Subject: long\r\n  folded line\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n\r\nv=0\r\nEXTRA"
)


def test_parses_compact_forms_folding_and_lists() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, SipRequest)
    assert msg.method == "INVITE" and msg.uri == "sip:bob@example.com"
    assert msg.headers.get("call-id") == "a84b4c76e66710@pc33"
    assert msg.headers.get("Subject") == "long folded line"
    assert len(msg.headers.get_all("Via")) == 2
    assert msg.body == b"v=0\r"  # Content-Length wins over trailing bytes
    from_ = parse_name_addr(msg.headers.get("From") or "")
    assert from_.display == "Alice, A." and from_.tag == "1928301774" and from_.uri == "sip:alice@example.com"


def test_serialise_round_trip_and_content_length() -> None:
    msg = parse_message(INVITE)
    again = parse_message(msg.serialize())
    assert isinstance(again, SipRequest)
    assert again.headers.items() == [(n, v) for n, v in msg.headers.items() if n != "Content-Length"] + [
        ("Content-Length", "4")
    ]
    assert again.body == msg.body


def test_response_parse_and_make_response() -> None:
    request = parse_message(Peer().invite())
    assert isinstance(request, SipRequest)
    resp = make_response(request, 180, to_tag="abc")
    parsed = parse_message(resp.serialize())
    assert isinstance(parsed, SipResponse)
    assert parsed.status == 180 and parsed.reason == "Ringing"
    assert parsed.headers.get("To", "").endswith(";tag=abc")
    assert parsed.headers.get_all("Via") == request.headers.get_all("Via")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "blank line"),
        (b"INVITE sip:x SIP/3.0\r\n\r\n", "version"),
        (b"SIP/2.0 099 Odd\r\n\r\n", "out of range"),
        (b"INVITE sip:x SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n", "malformed header"),
        (b"INVITE sip:x SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\n\r\n", "missing Via"),
        (b"\xff\xfe\r\n\r\n", "UTF-8"),
    ],
)
def test_malformed_messages_raise(data: bytes, message: str) -> None:
    with pytest.raises(SipParseError, match=message):
        parse_message(data)


def test_partial_request_is_kept_for_a_400() -> None:
    data = Peer().invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.partial is not None and info.value.partial.method == "INVITE"


def test_content_length_longer_than_body_is_an_error() -> None:
    data = Peer().invite().replace(b"Content-Length: ", b"Content-Length: 9")
    with pytest.raises(SipParseError, match="Content-Length"):
        parse_message(data)


def test_stream_parser_frames_split_and_joined_messages() -> None:
    one, two = Peer().invite(), Peer().request("OPTIONS")
    parser = StreamParser()
    data = b"\r\n\r\n" + one + two
    got = []
    for i in range(0, len(data), 7):
        got += parser.feed(data[i : i + 7])
    assert [m.method for m in got if isinstance(m, SipRequest)] == ["INVITE", "OPTIONS"]


def test_stream_parser_requires_content_length() -> None:
    parser = StreamParser()
    out = parser.feed(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n")
    assert len(out) == 1 and isinstance(out[0], SipParseError)


def test_header_helpers() -> None:
    via = parse_via("SIP/2.0/TCP [::1]:5070;branch=z9hG4bKabc;rport")
    assert (via.transport, via.host, via.port, via.branch) == ("TCP", "::1", 5070, "z9hG4bKabc")
    assert "rport" in via.params
    uri = parse_uri("sip:+919876543210@trunk.example:5061;transport=tcp")
    assert (uri.user, uri.host, uri.port, uri.params) == ("+919876543210", "trunk.example", 5061, {"transport": "tcp"})
    assert split_list('<sip:a,b@h>, "x,y" <sip:c@h>') == ["<sip:a,b@h>", '"x,y" <sip:c@h>']
    with pytest.raises(SipParseError):
        parse_uri("http://example.com")
