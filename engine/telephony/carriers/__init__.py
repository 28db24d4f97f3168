"""Carrier WebSocket media-stream protocols (Twilio, Exotel, Plivo) as sans-I/O state machines."""

from engine.telephony.carriers.base import (
    Audio,
    CarrierProtocol,
    Dtmf,
    Mark,
    ProtocolError,
    ProtocolEvent,
    Started,
    Stopped,
)
from engine.telephony.carriers.exotel import ExotelProtocol
from engine.telephony.carriers.plivo import PlivoProtocol
from engine.telephony.carriers.twilio import TwilioProtocol

PROTOCOLS: dict[str, type[CarrierProtocol]] = {
    "twilio": TwilioProtocol,
    "exotel": ExotelProtocol,
    "plivo": PlivoProtocol,
}

__all__ = [
    "PROTOCOLS",
    "Audio",
    "CarrierProtocol",
    "Dtmf",
    "ExotelProtocol",
    "Mark",
    "PlivoProtocol",
    "ProtocolError",
    "ProtocolEvent",
    "Started",
    "Stopped",
    "TwilioProtocol",
]
