"""Exotel "Connect Number to Call Flow": ``POST /v1/Accounts/{sid}/Calls/connect.json`` (basic auth API key:token,
form fields From, CallerId, Url of the flow, CallType, TimeLimit, TimeOut, CustomField). The flow's Voicebot applet
streams to the engine's ``/media/exotel`` endpoint; our call id and its stream token travel as ``CustomField``
(``call_id=...&stream_token=...``) and as the stream URL's query parameters, which Exotel delivers in
``start.custom_parameters``: point the applet's dynamic URL at the worker's ``/carriers/exotel/stream-url``, which
answers that URL from the ``CustomField``.

Exotel documents no REST call to end a call in progress: the engine ends it by closing the stream (the flow then
hangs up), and ``TimeOut`` bounds the ringing. Nor does it document one to redirect a call in progress to another
number, so a transfer is not attempted: the lead is called back by a person instead.

Exotel documents answering-machine detection (beta) only for its "Connect Two Numbers" API and in call details
after the call, not for a call connected to a flow: Exotel calls rely on the engine's own detection."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from config.settings import Settings
from control_api.origination import rest
from control_api.origination.base import Dial, Origination
from engine.facade import STREAM_TOKEN_PARAMETER
from engine.records import Transfer, TransferResult

STREAM_URL_PATH = "/carriers/exotel/stream-url"


def custom_field(call_id: str, stream_token: str) -> str:
    return urlencode({"call_id": call_id, STREAM_TOKEN_PARAMETER: stream_token})


def stream_url(media_url: str, field: str) -> str:
    """The Voicebot applet's WebSocket URL for one call, from its ``CustomField``: the query parameters reach the
    engine as the stream's ``start.custom_parameters``. Only the two known parameters are passed on."""
    values = dict(parse_qsl(field, keep_blank_values=True))
    wanted = {k: values[k] for k in ("call_id", STREAM_TOKEN_PARAMETER) if k in values}
    return f"{media_url}?{urlencode(wanted)}"


class ExotelCarrier:
    name = "exotel"
    protocol = "exotel"

    def __init__(self, settings: Settings) -> None:
        self.sid = rest.require(settings.exotel_account_sid, "CLOSERR_EXOTEL_ACCOUNT_SID")
        key = rest.require(settings.exotel_api_key, "CLOSERR_EXOTEL_API_KEY")
        token = settings.exotel_api_token.get_secret_value() if settings.exotel_api_token else None
        self.app_id = rest.require(settings.exotel_app_id, "CLOSERR_EXOTEL_APP_ID")
        self.caller_id = settings.exotel_caller_id
        self.ring_timeout = int(min(settings.ring_timeout_s, 60))  # TRAI: at most one minute of ringing
        self.http = rest.client(settings.exotel_api_base, (key, rest.require(token, "CLOSERR_EXOTEL_API_TOKEN")))

    async def originate(self, dial: Dial) -> Origination:
        form = {
            "From": dial.to,
            "CallerId": rest.require(dial.caller_id or self.caller_id, "CLOSERR_EXOTEL_CALLER_ID"),
            "Url": f"http://my.exotel.com/{self.sid}/exoml/start_voice/{self.app_id}",
            "CallType": "trans",
            "TimeLimit": str(dial.max_call_s),
            "TimeOut": str(self.ring_timeout),
            "CustomField": custom_field(dial.call_id, dial.stream_token),
        }
        response = await rest.send(self.http, "POST", f"/v1/Accounts/{self.sid}/Calls/connect.json", data=form)
        return Origination(carrier_call_id=str(response.json()["Call"]["Sid"]))

    async def hangup(self, carrier_call_id: str) -> None:
        return None  # no documented endpoint; see the module docstring

    async def transfer(self, carrier_call_id: str, transfer: Transfer, leg: Any = None) -> TransferResult:
        return TransferResult(False, "exotel documents no transfer of a call in progress")

    async def aclose(self) -> None:
        await self.http.aclose()
