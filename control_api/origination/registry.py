"""Build the configured carrier (``CLOSERR_CARRIER``); credentials come from the environment only. The REST
carriers are dialed through their circuit breaker and retries (``guarded``)."""

from __future__ import annotations

from config.settings import Settings
from control_api.origination.base import Carrier
from control_api.origination.breaker import Breaker
from control_api.origination.guarded import GuardedCarrier, RetryPolicy
from engine.facade import Engine

NAMES = ("simulated", "twilio", "exotel", "plivo", "sip")


def build(settings: Settings, engine: Engine, *, public_url: str) -> Carrier:
    """``public_url`` is the https base of this worker (Plivo fetches its answer XML there, Twilio and Plivo their
    transfer TwiML/XML, and both post their answering-machine verdicts there). SIP calls and simulated leads run
    through ``engine``."""
    if settings.carrier == "twilio":
        from control_api.origination.twilio import TwilioCarrier

        return guarded(TwilioCarrier(settings, public_url), settings)
    if settings.carrier == "exotel":
        from control_api.origination.exotel import ExotelCarrier

        return guarded(ExotelCarrier(settings), settings)
    if settings.carrier == "plivo":
        from control_api.origination.plivo import PlivoCarrier

        return guarded(PlivoCarrier(settings, public_url), settings)
    if settings.carrier == "sip":
        from control_api.origination.sip import SipCarrier

        return SipCarrier(settings, engine)
    from control_api.origination.simulated import SimulatedCarrier

    return SimulatedCarrier(settings, engine)


def guarded(carrier: Carrier, settings: Settings) -> GuardedCarrier:
    return GuardedCarrier(
        carrier,
        Breaker(threshold=settings.carrier_breaker_threshold, cool_down_s=settings.carrier_breaker_cool_down_s),
        RetryPolicy(
            retries=settings.carrier_retries,
            backoff_s=settings.carrier_backoff_s,
            backoff_max_s=settings.carrier_backoff_max_s,
        ),
    )
