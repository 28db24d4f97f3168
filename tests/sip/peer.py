"""A scripted SIP peer for byte-level tests: builds requests the way a phone or trunk would."""

from __future__ import annotations

import secrets

from engine.telephony.sip.message import SipRequest, SipResponse, parse_message
from engine.telephony.sip.sdp import build_sdp

PEER = ("192.0.2.10", 5060)
LOCAL = ("127.0.0.1", 5080)


def offer_sdp(
    codecs: list[tuple[int, str]] | None = None, direction: str = "sendrecv", host: str = "192.0.2.10"
) -> bytes:
    return build_sdp(host=host, port=40000, session_id=42, codecs=codecs, direction=direction)


class Peer:
    """One dialog's worth of a remote UA's headers."""

    def __init__(self, call_id: str | None = None) -> None:
        self.call_id = call_id or f"{secrets.token_hex(6)}@peer"
        self.from_tag = secrets.token_hex(4)
        self.to_tag: str | None = None
        self.cseq = 1

    def request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str = "application/sdp",
        branch: str | None = None,
        cseq: int | None = None,
        to_tag: str | None = None,
        extra: str = "",
    ) -> bytes:
        branch = branch or "z9hG4bK" + secrets.token_hex(6)
        to_tag = to_tag if to_tag is not None else self.to_tag
        to = "<sip:+919876543210@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
        seq = cseq if cseq is not None else self.cseq
        lines = [
            f"{method} sip:+919876543210@127.0.0.1:5080 SIP/2.0",
            f"Via: SIP/2.0/UDP {PEER[0]}:{PEER[1]};branch={branch};rport",
            "Max-Forwards: 70",
            f'From: "Caller" <sip:+911234567890@192.0.2.10>;tag={self.from_tag}',
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {seq} {method}",
            "Contact: <sip:caller@192.0.2.10:5060>",
        ]
        if extra:
            lines.append(extra)
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def invite(self, body: bytes | None = None, **kw: object) -> bytes:
        return self.request("INVITE", body=offer_sdp() if body is None else body, **kw)  # type: ignore[arg-type]


def responses(out: list) -> list[SipResponse]:  # type: ignore[type-arg]
    msgs = [parse_message(o.data) for o in out]
    return [m for m in msgs if isinstance(m, SipResponse)]


def requests(out: list) -> list[SipRequest]:  # type: ignore[type-arg]
    msgs = [parse_message(o.data) for o in out]
    return [m for m in msgs if isinstance(m, SipRequest)]
