"""The carrier interface: originate a call whose media stream connects back to the engine, and hang up.

An origination either answers a carrier call id (the call is ringing; the media stream will name our call id and
present the call's stream token in its custom parameters) or an immediate disposition (``no_answer``, ``busy``,
``failed``) the carrier reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.records import CallRequest


class CarrierError(Exception):
    """The carrier refused or could not be reached; ``disposition`` is what the dial is recorded as.

    ``fault`` names a transient failure of the carrier itself (``http_5xx``, ``http_429``, ``timeout``,
    ``unreachable``): it counts towards the carrier's breaker. ``retry_safe`` says the carrier surely did not act on
    the request (refused before reading it, 429, 503), so the same dial may be sent again at once; ``retry_after``
    is the carrier's ``Retry-After`` in seconds."""

    def __init__(
        self,
        message: str,
        *,
        disposition: str = "failed",
        fault: str | None = None,
        retry_safe: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.disposition = disposition
        self.fault = fault
        self.retry_safe = retry_safe
        self.retry_after = retry_after


class CarrierUnavailable(CarrierError):
    """The carrier is out (its breaker is open, or its failures outlasted the retries): the dial never reached the
    lead. The lead is not charged, keeps its attempt and is dialed again after ``retry_in_s``."""

    def __init__(self, message: str, *, retry_in_s: float) -> None:
        super().__init__(message, disposition="failed")
        self.retry_in_s = retry_in_s


@dataclass(frozen=True)
class Dial:
    call_id: str
    to: str  # E.164
    caller_id: str | None
    media_url: str  # ws(s)://.../media/<protocol>: where the stream must connect
    request: CallRequest
    max_call_s: int
    metadata: dict[str, Any] = field(default_factory=dict)
    # The media stream must present this (the carrier carries it as its stream parameters allow); letters and
    # digits only. Never logged: it admits one stream for this call.
    stream_token: str = field(default="", repr=False)
    # Carriers' status callbacks for this call (answering-machine detection) carry this in their URL. Never logged.
    callback_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Origination:
    carrier_call_id: str | None
    disposition: str | None = None  # set when the call ended before any media (no_answer, busy, failed)


class Carrier(Protocol):
    name: str
    protocol: str  # the engine's media protocol: twilio | exotel | plivo

    async def originate(self, dial: Dial) -> Origination: ...

    async def hangup(self, carrier_call_id: str) -> None: ...

    # Optional: ``async def transfer(carrier_call_id, transfer: Transfer, leg) -> TransferResult`` hands the
    # answered call to a salesperson (a carrier without it fails every transfer into a callback).

    async def aclose(self) -> None: ...
