"""SIP over TCP: framing a byte stream by the header block's end and Content-Length wherever it stands, and TCP
working under ``closerr serve`` (uvicorn's uvloop, whose transports are not ``asyncio.Transport`` subclasses)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
import uvloop

from engine.telephony.sip import SipServer
from engine.telephony.sip.endpoint import SipEndpoint
from engine.telephony.sip.message import SipMessage, SipParseError, SipRequest, SipResponse, StreamParser
from tests.sip.agent_stub import GreetingAgent
from tests.sip.peer import PEER, Peer, responses
from tests.sip.serve_process import RECV_TIMEOUT_S, cseq_method, in_dialog, options, serve_with_sip


def _length_first(message: bytes) -> bytes:
    """The same message with its Content-Length moved up to be the second header line."""
    head, _, body = message.partition(b"\r\n\r\n")
    start, *lines = head.split(b"\r\n")
    length = [line for line in lines if line.lower().startswith(b"content-length")]
    rest = [line for line in lines if not line.lower().startswith(b"content-length")]
    return b"\r\n".join([start, *length, *rest]) + b"\r\n\r\n" + body


def test_content_length_before_other_headers_frames_the_message_and_its_body() -> None:
    invite, following = _length_first(Peer().invite()), Peer().request("OPTIONS")
    assert not invite.split(b"\r\n\r\n")[0].endswith(b"Content-Length: 0")
    got = StreamParser().feed(invite + following)
    assert [type(m) for m in got] == [SipRequest, SipRequest]
    first, second = got
    assert isinstance(first, SipRequest) and isinstance(second, SipRequest)
    assert first.method == "INVITE" and first.body == invite.split(b"\r\n\r\n", 1)[1] and first.body
    assert second.method == "OPTIONS" and second.body == b""  # the INVITE's SDP did not stick to it


def test_compact_content_length_anywhere_in_lower_case() -> None:
    body = b"hello"
    message = _length_first(Peer().request("INFO", body=body, content_type="text/plain"))
    message = message.replace(b"Content-Length: 5", b"l:5")
    (parsed,) = StreamParser().feed(message)
    assert isinstance(parsed, SipRequest) and parsed.body == body


def test_two_messages_in_one_segment_and_one_split_across_segments() -> None:
    one, two = _length_first(Peer().invite()), _length_first(Peer().invite())
    parser = StreamParser()
    data = one + two
    got: list[object] = []
    for i in range(0, len(data), 7):  # segments cutting through headers, the blank line and the body
        got += parser.feed(data[i : i + 7])
    assert [m.body for m in got if isinstance(m, SipRequest)] == [one.split(b"\r\n\r\n", 1)[1]] * 2
    assert len(got) == 2
    assert [type(m) for m in StreamParser().feed(one + two)] == [SipRequest, SipRequest]


def test_conflicting_content_lengths_on_a_stream_are_an_error() -> None:
    message = Peer().request("OPTIONS").replace(b"Content-Length: 0", b"Content-Length: 0\r\nl: 4")
    (error,) = StreamParser().feed(message)
    assert isinstance(error, SipParseError) and "Content-Length" in str(error)


def test_endpoint_answers_each_framed_request_on_a_stream() -> None:
    ep = SipEndpoint("127.0.0.1", 5080)
    stream = _length_first(Peer().request("OPTIONS", body=b"x=1", content_type="text/plain"))
    stream += _length_first(Peer().request("OPTIONS"))
    ep.receive_stream(stream[:40], PEER, 0.0)
    ep.receive_stream(stream[40:], PEER, 0.0)
    assert [r.status for r in responses(ep.poll()[0])] == [200, 200]


class TcpPeer:
    """Responses off one TCP connection, in order, however the segments cut them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.port = sock.getsockname()[1]
        self._parser = StreamParser()
        self._pending: list[SipMessage | SipParseError] = []

    def response(self, method: str | None = None) -> SipResponse:
        while True:
            while self._pending:
                message = self._pending.pop(0)
                if isinstance(message, SipResponse) and (method is None or cseq_method(message) == method):
                    return message
            data = self.sock.recv(65535)
            assert data, "the server closed the connection"
            self._pending += self._parser.feed(data)


def _tcp_options(port: int) -> SipResponse:
    with socket.create_connection(("127.0.0.1", port), timeout=RECV_TIMEOUT_S) as sock:
        peer = TcpPeer(sock)
        sock.sendall(options(transport="TCP", port=peer.port))
        return peer.response()


def test_tcp_works_on_a_uvloop_event_loop() -> None:
    async def main() -> SipResponse:
        async with SipServer("127.0.0.1", 0, GreetingAgent(b"")) as server:
            return await asyncio.to_thread(_tcp_options, server.port)

    reply = uvloop.run(main())
    assert reply.status == 200 and "INVITE" in reply.headers.get("Allow", "")


@pytest.fixture(scope="module")
def sip_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serve_with_sip(tmp_path_factory.mktemp("serve")) as port:
        yield port


def test_closerr_serve_answers_options_over_tcp(sip_port: int) -> None:
    reply = _tcp_options(sip_port)
    assert reply.status == 200


def test_closerr_serve_takes_a_call_over_tcp(sip_port: int) -> None:
    with socket.create_connection(("127.0.0.1", sip_port), timeout=RECV_TIMEOUT_S) as sock:
        peer = TcpPeer(sock)
        via = f"SIP/2.0/TCP 127.0.0.1:{peer.port}".encode()
        sock.sendall(Peer().invite().replace(b"SIP/2.0/UDP 192.0.2.10:5060", via))
        ok = peer.response("INVITE")
        while ok.status < 200:
            ok = peer.response("INVITE")
        assert ok.status == 200
        seq = int(ok.headers.get("CSeq", "").split()[0])
        sock.sendall(in_dialog("ACK", ok, seq, transport="TCP", port=peer.port))
        sock.sendall(in_dialog("BYE", ok, seq + 1, transport="TCP", port=peer.port))
        assert peer.response("BYE").status == 200
