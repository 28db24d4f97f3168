"""Twilio Programmable Voice: ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` with inline TwiML that
connects a bidirectional Media Stream to the engine, naming our call id and its stream token as stream
``<Parameter>``s; hang-up is
``POST .../Calls/{CallSid}.json`` with ``Status=completed``. Basic auth AccountSid:AuthToken.

With ``carrier_amd`` the dial asks for asynchronous answering-machine detection that waits for the end of a
machine's greeting (``MachineDetection=DetectMessageEnd``, ``AsyncAmd=true``): the stream starts at once, and
Twilio posts ``AnsweredBy`` to the worker's ``/carriers/twilio/amd`` with our call id and the call's callback
token in the URL (https://www.twilio.com/docs/voice/answering-machine-detection)."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from config.settings import Settings
from control_api.origination import rest
from control_api.origination.amd import callback_url
from control_api.origination.base import Dial, Origination
from engine.facade import STREAM_TOKEN_PARAMETER


def twiml(media_url: str, call_id: str, stream_token: str) -> str:
    """Twilio hands each ``<Parameter>`` to the stream's ``start.customParameters``."""
    return (
        "<Response><Connect>"
        f"<Stream url={quoteattr(media_url)}>"
        f'<Parameter name="call_id" value={quoteattr(call_id)}/>'
        f'<Parameter name="{STREAM_TOKEN_PARAMETER}" value={quoteattr(stream_token)}/>'
        "</Stream></Connect></Response>"
    )


class TwilioCarrier:
    name = "twilio"
    protocol = "twilio"

    def __init__(self, settings: Settings, public_url: str) -> None:
        self.sid = rest.require(settings.twilio_account_sid, "CLOSERR_TWILIO_ACCOUNT_SID")
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
        self.from_number = settings.twilio_from_number
        self.ring_timeout = int(settings.ring_timeout_s)
        self.public_url = public_url.rstrip("/")
        self.amd = settings.carrier_amd
        self.http = rest.client(settings.twilio_api_base, (self.sid, rest.require(token, "CLOSERR_TWILIO_AUTH_TOKEN")))

    async def originate(self, dial: Dial) -> Origination:
        caller_id = rest.require(dial.caller_id or self.from_number, "CLOSERR_TWILIO_FROM_NUMBER")
        form = {
            "To": dial.to,
            "From": caller_id,
            "Twiml": twiml(dial.media_url, dial.call_id, dial.stream_token),
            "Timeout": str(self.ring_timeout),
            "TimeLimit": str(dial.max_call_s),
        }
        if self.amd and dial.callback_token:
            form["MachineDetection"] = "DetectMessageEnd"
            form["AsyncAmd"] = "true"
            form["AsyncAmdStatusCallback"] = callback_url(self.public_url, self.name, dial)
            form["AsyncAmdStatusCallbackMethod"] = "POST"
        response = await rest.send(self.http, "POST", f"/2010-04-01/Accounts/{self.sid}/Calls.json", data=form)
        return Origination(carrier_call_id=str(response.json()["sid"]))

    async def hangup(self, carrier_call_id: str) -> None:
        await rest.send(
            self.http,
            "POST",
            f"/2010-04-01/Accounts/{self.sid}/Calls/{carrier_call_id}.json",
            data={"Status": "completed"},
        )

    async def aclose(self) -> None:
        await self.http.aclose()
