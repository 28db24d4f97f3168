"""Twilio Programmable Voice: ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` with inline TwiML that
connects a bidirectional Media Stream to the engine, naming our call id and its stream token as stream
``<Parameter>``s; hang-up is
``POST .../Calls/{CallSid}.json`` with ``Status=completed``; a transfer updates the same Call with new TwiML, a
``<Dial>`` of the salesperson, which replaces the stream (Twilio "Update a Call resource"). Basic auth
AccountSid:AuthToken."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from config.settings import Settings
from control_api.origination import rest
from control_api.origination.base import CarrierError, Dial, Origination
from engine.facade import STREAM_TOKEN_PARAMETER
from engine.records import Transfer, TransferResult


def twiml(media_url: str, call_id: str, stream_token: str) -> str:
    """Twilio hands each ``<Parameter>`` to the stream's ``start.customParameters``."""
    return (
        "<Response><Connect>"
        f"<Stream url={quoteattr(media_url)}>"
        f'<Parameter name="call_id" value={quoteattr(call_id)}/>'
        f'<Parameter name="{STREAM_TOKEN_PARAMETER}" value={quoteattr(stream_token)}/>'
        "</Stream></Connect></Response>"
    )


def dial_twiml(to: str, answer_timeout_s: float) -> str:
    """The lead's call leaves the stream and rings the salesperson; ``timeout`` bounds the ringing."""
    return f'<Response><Dial timeout="{int(answer_timeout_s)}"><Number>{escape(to)}</Number></Dial></Response>'


class TwilioCarrier:
    name = "twilio"
    protocol = "twilio"

    def __init__(self, settings: Settings) -> None:
        self.sid = rest.require(settings.twilio_account_sid, "CLOSERR_TWILIO_ACCOUNT_SID")
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
        self.from_number = settings.twilio_from_number
        self.ring_timeout = int(settings.ring_timeout_s)
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
        response = await rest.send(self.http, "POST", f"/2010-04-01/Accounts/{self.sid}/Calls.json", data=form)
        return Origination(carrier_call_id=str(response.json()["sid"]))

    async def hangup(self, carrier_call_id: str) -> None:
        await rest.send(
            self.http,
            "POST",
            f"/2010-04-01/Accounts/{self.sid}/Calls/{carrier_call_id}.json",
            data={"Status": "completed"},
        )

    async def transfer(self, carrier_call_id: str, transfer: Transfer, leg: Any = None) -> TransferResult:
        """Cold transfer: Twilio accepts the new TwiML (HTTP 200) and bridges the lead to the salesperson itself;
        whether the salesperson then answers is Twilio's to report, not seen here."""
        try:
            await rest.send(
                self.http,
                "POST",
                f"/2010-04-01/Accounts/{self.sid}/Calls/{carrier_call_id}.json",
                data={"Twiml": dial_twiml(transfer.to, transfer.answer_timeout_s)},
            )
        except CarrierError as exc:
            return TransferResult(False, f"twilio refused the call update: {exc}")
        return TransferResult(True, "twilio dialing the salesperson")

    async def aclose(self) -> None:
        await self.http.aclose()
