"""Carrier WebSocket media-stream protocols (Twilio, Exotel, Plivo) as sans-I/O state machines."""

from engine.telephony.media_streams.base import (
    Audio,
    CarrierProtocol,
    Dtmf,
    Mark,
    MediaFormat,
    ProtocolError,
    ProtocolEvent,
    Started,
    Stopped,
    UnsupportedMedia,
)
from engine.telephony.media_streams.exotel import ExotelProtocol
from engine.telephony.media_streams.plivo import PlivoProtocol
from engine.telephony.media_streams.twilio import TwilioProtocol

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
    "MediaFormat",
    "PlivoProtocol",
    "ProtocolError",
    "ProtocolEvent",
    "Started",
    "Stopped",
    "TwilioProtocol",
    "UnsupportedMedia",
]
