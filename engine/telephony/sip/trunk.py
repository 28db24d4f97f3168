"""Where outbound SIP calls go, and the result of one: plain data (the command layer builds it from settings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Disposition = Literal["answered", "busy", "no_answer", "failed"]


@dataclass(frozen=True)
class SipTrunkConfig:
    host: str
    port: int = 5060
    transport: Literal["udp", "tcp"] = "udp"
    username: str | None = None
    password: str | None = None
    domain: str | None = None  # Request-URI domain; default: host
    caller_id: str = "closerr"
    ring_timeout_s: float = 45.0
    local_host: str = "127.0.0.1"  # where our SIP and RTP sockets bind for outbound calls

    def request_uri(self, number: str) -> str:
        domain = self.domain or self.host
        port = f":{self.port}" if self.port != 5060 else ""
        transport = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{number}@{domain}{port}{transport}"

    def from_uri(self) -> str:
        return f"sip:{self.caller_id}@{self.domain or self.host}"


@dataclass
class SipCallResult:
    """How an outbound call ended. ``value`` is whatever ``on_answer`` returned (the call record)."""

    disposition: Disposition
    status: int | None
    reason: str
    call_id: str
    early_media: bool = False
    value: Any = None


def disposition_for(status: int) -> Disposition:
    """Map a final SIP status to the dispatcher's call disposition."""
    if status in (486, 600):
        return "busy"
    if status in (480, 408, 487):
        return "no_answer"
    if 200 <= status < 300:
        return "answered"
    return "failed"
