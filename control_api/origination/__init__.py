"""Carriers: originate calls whose media connects back to the engine (simulated, Twilio, Exotel, Plivo)."""

from control_api.origination.base import Carrier, CarrierError, Dial, Origination

__all__ = ["Carrier", "CarrierError", "Dial", "Origination"]
