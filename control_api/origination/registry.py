"""Build the configured carrier (``CLOSERR_CARRIER``); credentials come from the environment only."""

from __future__ import annotations

from config.settings import Settings
from control_api.origination.base import Carrier
from engine.facade import Engine

NAMES = ("simulated", "twilio", "exotel", "plivo", "sip")


def build(settings: Settings, engine: Engine, *, public_url: str) -> Carrier:
    """``public_url`` is the https base of this worker (Plivo fetches its answer XML there). SIP calls and
    simulated leads run through ``engine``."""
    if settings.carrier == "twilio":
        from control_api.origination.twilio import TwilioCarrier

        return TwilioCarrier(settings)
    if settings.carrier == "exotel":
        from control_api.origination.exotel import ExotelCarrier

        return ExotelCarrier(settings)
    if settings.carrier == "plivo":
        from control_api.origination.plivo import PlivoCarrier

        return PlivoCarrier(settings, public_url)
    if settings.carrier == "sip":
        from control_api.origination.sip import SipCarrier

        return SipCarrier(settings, engine)
    from control_api.origination.simulated import SimulatedCarrier

    return SimulatedCarrier(settings, engine)
