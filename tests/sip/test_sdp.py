"""SDP parsing and offer/answer, bytes only."""

from __future__ import annotations

import pytest

from engine.telephony.sip.sdp import (
    NoCommonCodec,
    SdpError,
    build_answer,
    negotiate,
    parse_sdp,
)

LINPHONE_OFFER = b"""v=0
o=alice 2890844526 2890844526 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 49170 RTP/AVP 96 8 0 101
a=rtpmap:96 opus/48000/2
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
m=video 0 RTP/AVP 31
"""


def test_offerer_preference_wins_and_dtmf_is_kept() -> None:
    neg = negotiate(parse_sdp(LINPHONE_OFFER))
    assert (neg.codec_pt, neg.codec_name, neg.dtmf_pt) == (8, "PCMA", 101)
    assert (neg.remote_host, neg.remote_port) == ("198.51.100.7", 49170)
    assert not neg.on_hold


def test_answer_lists_only_the_chosen_codec() -> None:
    neg = negotiate(parse_sdp(LINPHONE_OFFER))
    answer = parse_sdp(build_answer(neg, host="127.0.0.1", port=30000, session_id=7))
    audio = answer.audio()
    assert audio is not None and audio.formats == [8, 101] and audio.port == 30000
    assert audio.rtpmap[8] == "PCMA/8000" and audio.rtpmap[101] == "telephone-event/8000"
    assert answer.audio_direction() == "sendrecv"


def test_static_payload_without_rtpmap() -> None:
    neg = negotiate(parse_sdp(b"v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 0\r\n"))
    assert neg.codec_name == "PCMU" and neg.dtmf_pt is None


@pytest.mark.parametrize("direction", ["sendonly", "inactive"])
def test_hold_is_detected_and_answered(direction: str) -> None:
    offer = LINPHONE_OFFER.replace(b"a=sendrecv", f"a={direction}".encode())
    neg = negotiate(parse_sdp(offer))
    assert neg.on_hold
    answer = parse_sdp(build_answer(neg, host="127.0.0.1", port=1, session_id=1))
    assert answer.audio_direction() == ("recvonly" if direction == "sendonly" else "inactive")


def test_old_style_hold_with_zero_address() -> None:
    assert negotiate(parse_sdp(LINPHONE_OFFER.replace(b"198.51.100.7\n", b"0.0.0.0\n"))).on_hold


def test_no_usable_codec_raises_no_common_codec() -> None:
    offer = b"v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 9 96\r\na=rtpmap:96 opus/48000/2\r\n"
    with pytest.raises(NoCommonCodec):
        negotiate(parse_sdp(offer))
    with pytest.raises(NoCommonCodec):
        negotiate(parse_sdp(b"v=0\r\nc=IN IP4 10.1.1.1\r\nm=video 4000 RTP/AVP 31\r\n"))
    with pytest.raises(NoCommonCodec):
        negotiate(parse_sdp(b"v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/SAVP 0\r\n"))


@pytest.mark.parametrize(
    "data", [b"garbage", b"v=0\r\nc=IN IP4\r\n", b"v=0\r\nm=audio x RTP/AVP 0\r\n", b"m=audio 1 RTP/AVP 0\r\n"]
)
def test_malformed_sdp_raises(data: bytes) -> None:
    with pytest.raises(SdpError):
        negotiate(parse_sdp(data))
