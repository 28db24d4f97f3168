"""Twilio Programmable Voice: ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` with inline TwiML that
connects a bidirectional Media Stream to the engine, naming our call id and its stream token as stream
``<Parameter>``s; hang-up is
``POST .../Calls/{CallSid}.json`` with ``Status=completed``; a transfer updates the same Call with new TwiML, a
``<Dial>`` of the salesperson, which replaces the stream (Twilio "Update a Call resource"). A warm transfer's
``<Number>`` also has a ``url`` whose TwiML (served by the worker) ``<Say>``s the whisper to the salesperson before
the two are connected, a ``statusCallback`` for the ``answered`` event, and the ``<Dial>`` an ``action`` Twilio
requests when nobody answered: the transfer waits for one of the two. Basic auth AccountSid:AuthToken.

With ``carrier_amd`` the dial asks for asynchronous answering-machine detection that waits for the end of a
machine's greeting (``MachineDetection=DetectMessageEnd``, ``AsyncAmd=true``): the stream starts at once, and
Twilio posts ``AnsweredBy`` to the worker's ``/carriers/twilio/amd`` with our call id and the call's callback
token in the URL (https://www.twilio.com/docs/voice/answering-machine-detection)."""

from __future__ import annotations

import secrets
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from config.settings import Settings
from control_api.origination import rest
from control_api.origination.amd import callback_url
from control_api.origination.base import CarrierError, Dial, Origination
from control_api.origination.warm import WarmTransfers
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


TRANSFER_PATH = "/carriers/twilio/transfer"
NOT_ANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})


def dial_twiml(to: str, answer_timeout_s: float) -> str:
    """The lead's call leaves the stream and rings the salesperson; ``timeout`` bounds the ringing."""
    return f'<Response><Dial timeout="{int(answer_timeout_s)}"><Number>{escape(to)}</Number></Dial></Response>'


def warm_dial_twiml(to: str, answer_timeout_s: float, base: str) -> str:
    """``base`` is the worker's URL of this transfer (``{public}/carriers/twilio/transfer/{token}``)."""
    return (
        f'<Response><Dial timeout="{int(answer_timeout_s)}" action={quoteattr(base + "/dial-ended")} method="POST">'
        f'<Number url={quoteattr(base + "/whisper")} method="GET" statusCallbackEvent="answered" '
        f'statusCallback={quoteattr(base + "/status")} statusCallbackMethod="POST">{escape(to)}</Number>'
        "</Dial></Response>"
    )


def whisper_twiml(whisper: str) -> str:
    return f"<Response><Say>{escape(whisper)}</Say></Response>"


class TwilioCarrier:
    name = "twilio"
    protocol = "twilio"

    def __init__(self, settings: Settings, public_url: str = "") -> None:
        self.sid = rest.require(settings.twilio_account_sid, "CLOSERR_TWILIO_ACCOUNT_SID")
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
        self.from_number = settings.twilio_from_number
        self.ring_timeout = int(settings.ring_timeout_s)
        self.public_url = public_url.rstrip("/")
        self.warm = WarmTransfers()  # by token: warm transfers waiting for Twilio's callbacks
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

    async def transfer(self, carrier_call_id: str, transfer: Transfer, leg: Any = None) -> TransferResult:
        """Cold: Twilio accepts the new TwiML (HTTP 200) and bridges the lead to the salesperson itself; whether the
        salesperson then answers is not seen here. Warm: connected once Twilio reports the salesperson answered
        (they hear the whisper first), failed when it reports no answer or reports nothing in time."""
        warm = transfer.mode == "warm" and bool(transfer.whisper) and bool(self.public_url)
        token = secrets.token_hex(16)
        if warm:
            twiml = warm_dial_twiml(transfer.to, transfer.answer_timeout_s, f"{self.public_url}{TRANSFER_PATH}/{token}")
            self.warm.open(token, transfer.whisper)
        else:
            twiml = dial_twiml(transfer.to, transfer.answer_timeout_s)
        try:
            await rest.send(
                self.http,
                "POST",
                f"/2010-04-01/Accounts/{self.sid}/Calls/{carrier_call_id}.json",
                data={"Twiml": twiml},
            )
        except CarrierError as exc:
            self.warm.drop(token)
            return TransferResult(False, f"twilio refused the call update: {exc}")
        if not warm:
            return TransferResult(True, "twilio dialing the salesperson")
        return await self.warm.outcome(token, transfer.answer_timeout_s, "twilio")

    def whisper_for(self, token: str) -> str | None:
        """The whisper TwiML Twilio fetches for the salesperson of a pending warm transfer."""
        whisper = self.warm.whisper(token)
        return whisper_twiml(whisper) if whisper is not None else None

    def report(self, token: str, *, answered: bool, status: str) -> bool:
        """Twilio's callback for a pending warm transfer; False when no transfer waits under ``token``."""
        return self.warm.report(token, answered=answered, status=status)

    async def aclose(self) -> None:
        await self.http.aclose()
