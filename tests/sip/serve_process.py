"""``closerr serve --sip-port`` as a real process (uvicorn, and uvloop where installed), and a blocking SIP peer's
helpers for talking to it over loopback sockets."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.telephony.sip.message import SipMessage, SipResponse, parse_message, parse_name_addr
from tests.live_server import serve_process
from tests.sip.sipp import free_port

# A hang guard for a reply that never comes, not a measure of anything.
RECV_TIMEOUT_S = 30.0


@contextmanager
def serve_with_sip(tmp_path: Path) -> Iterator[int]:
    """Run ``closerr serve`` with its SIP listener (inbound INVITEs admitted from 127.0.0.1); yields the SIP port."""
    sip_port = free_port()
    args = ("--sip-port", str(sip_port))
    with serve_process(tmp_path / "data", args=args, no_tracebacks=True, sip_allowed_networks="127.0.0.1/32"):
        yield sip_port


def options(call_id: str | None = None, *, transport: str = "UDP", port: int = 5060) -> bytes:
    call_id = call_id or f"{secrets.token_hex(6)}@probe"
    lines = [
        "OPTIONS sip:closerr@127.0.0.1 SIP/2.0",
        f"Via: SIP/2.0/{transport} 127.0.0.1:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
        "Max-Forwards: 70",
        f"From: <sip:probe@127.0.0.1>;tag={secrets.token_hex(4)}",
        "To: <sip:closerr@127.0.0.1>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def in_dialog(method: str, ok: SipResponse, seq: int, *, transport: str = "UDP", port: int = 5060) -> bytes:
    """ACK or BYE in the dialog our 200 to an INVITE set up (RFC 3261 12.2.1.1)."""
    target = parse_name_addr(ok.headers.get("Contact", "")).uri
    lines = [
        f"{method} {target} SIP/2.0",
        f"Via: SIP/2.0/{transport} 127.0.0.1:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
        "Max-Forwards: 70",
        f"From: {ok.headers.get('From')}",
        f"To: {ok.headers.get('To')}",
        f"Call-ID: {ok.headers.get('Call-ID')}",
        f"CSeq: {seq} {method}",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(RECV_TIMEOUT_S)
    return sock


def recv_message(sock: socket.socket) -> SipMessage:
    return parse_message(sock.recv(65535))


def cseq_method(message: SipMessage) -> str:
    return message.headers.get("CSeq", "").split()[-1]
