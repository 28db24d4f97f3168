"""RFC 4475's 49 torture messages (tests/sip/rfc4475/, byte-exact) through the parser, the sans-I/O endpoint and
a real ``closerr serve --sip-port`` over UDP, each held to what the RFC expects of a user agent
(``expectations.tsv``). The server keeps answering an OPTIONS after every one."""

from __future__ import annotations

import csv
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.telephony.sip.endpoint import SipEndpoint
from engine.telephony.sip.message import SipParseError, SipRequest, SipResponse, parse_message
from tests.sip.serve_process import cseq_method, in_dialog, options, recv_message, serve_with_sip, udp_socket

HERE = Path(__file__).parent / "rfc4475"
NO_ANSWER = 0
PROCESSED_INVITE = 100  # an INVITE taken as a call: 100 Trying first, then 180 and the 200
LIBERAL_INVITE = frozenset({400, PROCESSED_INVITE})

# What a UA may answer each message with (NO_ANSWER: nothing at all), read from the RFC's verdicts in
# expectations.tsv: "process" is the answer a well-formed request of that kind gets from us (OPTIONS 200, REGISTER
# and MESSAGE 405, INVITE a call), "400 or liberal" admits both.
ANSWERS: dict[str, frozenset[int]] = {
    # wsinv carries a To tag: an in-dialog request for no dialog of ours, which RFC 3261 12.2.2 answers 481.
    "wsinv": frozenset({481}),
    "intmeth": frozenset({405, 501}),
    "esc01": frozenset({PROCESSED_INVITE}),
    "escnull": frozenset({405}),
    "esc02": frozenset({405, 501}),
    "lwsdisp": frozenset({200}),
    "longreq": frozenset({PROCESSED_INVITE}),
    "dblreq": frozenset({405}),
    "semiuri": frozenset({200}),
    "transports": frozenset({200}),
    "mpart01": frozenset({405, 415}),
    "unreason": frozenset({NO_ANSWER}),
    "noreason": frozenset({NO_ANSWER}),
    "badinv01": frozenset({400}),
    "clerr": frozenset({400}),
    "ncl": frozenset({400}),
    "scalar02": frozenset({400}),
    "scalarlg": frozenset({NO_ANSWER}),
    "quotbal": frozenset({400}),
    "ltgtruri": frozenset({400}),
    "lwsruri": frozenset({400}),
    "lwsstart": frozenset({400}),
    "trws": frozenset({400}),
    "escruri": LIBERAL_INVITE,
    "baddate": LIBERAL_INVITE,
    "regbadct": frozenset({400, 405}),
    "badaspec": frozenset({400, 200}),
    "baddn": frozenset({400, 200}),
    "badvers": frozenset({505}),
    "mismatch01": frozenset({400}),
    "mismatch02": frozenset({400, 501}),
    "bigcode": frozenset({NO_ANSWER}),
    "badbranch": frozenset({400, 200}),
    "insuf": frozenset({400, NO_ANSWER}),
    "unkscm": frozenset({416}),
    "novelsc": frozenset({416, 404}),
    "unksm2": frozenset({405}),
    "bext01": frozenset({420}),
    "invut": frozenset({415}),
    "regaut01": frozenset({401, 405}),
    "multi01": frozenset({400}),
    "mcl01": frozenset({400}),
    "bcast": frozenset({NO_ANSWER}),
    "zeromf": frozenset({200}),
    "cparam01": frozenset({405}),
    "cparam02": frozenset({405}),
    "regescrt": frozenset({405}),
    "sdp01": frozenset({406, 400}),
    "inv2543": frozenset({PROCESSED_INVITE}),
}
# Invalid messages the parser itself must refuse (the others are ones the RFC lets a UA read liberally).
PARSER_REFUSES = {
    "badinv01", "clerr", "ncl", "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri", "lwsstart", "trws",
    "badvers", "mismatch01", "mismatch02", "bigcode", "insuf", "multi01", "mcl01",
}  # fmt: skip
STATUS_LINE = re.compile(rb"^SIP/2\.0 (\d{3}) ")


@dataclass(frozen=True)
class Torture:
    name: str
    section: str
    kind: str
    expected: str

    @property
    def data(self) -> bytes:
        return (HERE / f"{self.name}.dat").read_bytes()

    @property
    def answers(self) -> frozenset[int]:
        return ANSWERS[self.name]

    def __str__(self) -> str:
        return self.name


def _messages() -> list[Torture]:
    with (HERE / "expectations.tsv").open(newline="") as f:
        return [
            Torture(r["name"], r["rfc4475_section"], r["kind"], r["expected"])
            for r in csv.DictReader(f, delimiter="\t")
        ]


MESSAGES = _messages()


def test_every_rfc4475_message_is_here_with_an_expectation() -> None:
    assert len(MESSAGES) == 49
    assert {m.name for m in MESSAGES} == set(ANSWERS) == {p.stem for p in HERE.glob("*.dat")}
    assert {m.name for m in MESSAGES if m.kind.startswith("invalid")} >= PARSER_REFUSES


def status_of(data: bytes) -> int:
    """The status of a response we sent; read from the start line, as some copy the torture headers verbatim."""
    match = STATUS_LINE.match(data)
    assert match is not None, data[:80]
    return int(match.group(1))


@pytest.mark.parametrize("message", MESSAGES, ids=str)
def test_parser(message: Torture) -> None:
    if message.name in PARSER_REFUSES:
        with pytest.raises(SipParseError) as info:
            parse_message(message.data)
        if message.kind == "invalid_request" and NO_ANSWER not in message.answers:
            assert info.value.partial is not None and info.value.status in message.answers
        return
    parsed = parse_message(message.data)
    if message.kind.endswith("response"):
        assert isinstance(parsed, SipResponse)
        return
    assert isinstance(parsed, SipRequest)
    # Methods are case-sensitive (RFC 3261 7.1): the method is the start line's, byte for byte.
    assert parsed.method == message.data.split(b" ", 1)[0].decode()


@pytest.mark.parametrize("message", MESSAGES, ids=str)
def test_endpoint(message: Torture) -> None:
    ep = SipEndpoint("127.0.0.1", 5060)
    ep.receive_datagram(message.data, ("127.0.0.1", 5070), 0.0)
    out, _ = ep.poll()
    statuses = [status_of(o.data) for o in out]
    assert (statuses[0] if statuses else NO_ANSWER) in message.answers, (statuses, message.expected)
    if message.name == "bext01":
        # 420 names every option of the Require we do not support (RFC 3261 8.2.2.3).
        assert b"\r\nUnsupported: nothingSupportsThis, nothingSupportsThisEither\r\n" in out[0].data


@pytest.fixture(scope="module")
def sip_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serve_with_sip(tmp_path_factory.mktemp("serve")) as port:
        yield port


@pytest.mark.parametrize("message", MESSAGES, ids=str)
def test_closerr_serve_over_udp(message: Torture, sip_port: int) -> None:
    server = ("127.0.0.1", sip_port)
    with udp_socket() as sock:
        sock.sendto(message.data, server)
        if NO_ANSWER in message.answers:
            # An OPTIONS sent after it: if the first datagram back answers that, nothing answered the message.
            sock.sendto(options("after-" + message.name), server)
        first = sock.recv(65535)
        status = NO_ANSWER if b"\r\nCall-ID: after-" in first else status_of(first)
        assert status in message.answers, (status, message.expected)
        if status == PROCESSED_INVITE:
            _hang_up(sock, server)
    with udp_socket() as sock:
        sock.sendto(options(), server)
        reply = recv_message(sock)
        assert isinstance(reply, SipResponse) and reply.status == 200


def _hang_up(sock: socket.socket, server: tuple[str, int]) -> None:
    """A call started: wait for its 200, then ACK and BYE so the server is not left holding it."""
    while not (isinstance(reply := recv_message(sock), SipResponse) and cseq_method(reply) == "INVITE"):
        pass
    while reply.status < 200:
        reply = recv_message(sock)
    assert isinstance(reply, SipResponse) and reply.status == 200
    seq = int(reply.headers.get("CSeq", "").split()[0])
    port = sock.getsockname()[1]
    sock.sendto(in_dialog("ACK", reply, seq, port=port), server)
    sock.sendto(in_dialog("BYE", reply, seq + 1, port=port), server)
    while not (isinstance(bye := recv_message(sock), SipResponse) and cseq_method(bye) == "BYE"):
        pass
    assert bye.status == 200
