"""Plivo Voice: ``POST /v1/Account/{auth_id}/Call/`` (JSON from, to, answer_url, answer_method, ring_timeout,
time_limit; basic auth Auth ID:Auth Token). When the lead answers, Plivo fetches ``answer_url`` from the worker,
whose ``<Stream bidirectional="true">`` XML points the audio stream at the engine's ``/media/plivo`` endpoint with
our call id and its stream token in ``extraHeaders`` as ``callid=...;streamtoken=...``, letters and digits only as
Plivo requires (the answer URL carries both: it reaches Plivo only in our
authenticated originate request). Hang-up before or after answer: ``DELETE /v1/Account/{auth_id}/Request/{uuid}/``
(the request uuid of the originate answer). A transfer is Plivo's "Transfer a Call":
``POST /v1/Account/{auth_id}/Call/{call_uuid}/`` with ``legs=aleg`` and an ``aleg_url`` on the worker that answers a
``<Dial>`` of the salesperson; the call uuid is the one the media stream's ``start`` names. A warm transfer's
``<Dial>`` also has a ``confirmSound`` whose XML (served by the worker) ``<Speak>``s the whisper to the salesperson
once they answer, before the two are bridged, a ``callbackUrl`` for its dial events (``DialAction=answer`` when the
salesperson picks up) and an ``action`` Plivo requests when the dial ends (``DialStatus`` ``no-answer``, ``busy``,
...): the transfer waits for one of the two.

With ``carrier_amd`` the dial asks for machine detection that keeps the call up (``machine_detection=true``):
Plivo posts ``Machine=true`` to ``machine_detection_url``, the worker's ``/carriers/plivo/amd`` with our call id
and the call's callback token (https://www.plivo.com/docs/voice/api/call/make-a-call,
https://www.plivo.com/docs/voice/api/call/asynchronous-machine-detection/). Plivo reports machines only, and not
the greeting's end: the engine waits for the beep itself."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from config.settings import Settings
from control_api.origination import rest
from control_api.origination.amd import callback_url
from control_api.origination.base import CarrierError, Dial, Origination
from control_api.origination.warm import MAX_PENDING_TRANSFERS, WarmTransfers
from engine.facade import STREAM_TOKEN_PARAMETER, format_extra_headers
from engine.records import Transfer, TransferResult

ANSWER_PATH = "/carriers/plivo/answer"
TRANSFER_PATH = "/carriers/plivo/transfer"
# Plivo's DialStatus for a dial nobody answered; ``completed`` is a bridged conversation that ended.
NOT_ANSWERED = frozenset({"no-answer", "busy", "failed", "timeout", "cancel"})
# Plivo's callbackUrl DialAction (or DialBLegStatus) once the salesperson's leg picks up or is bridged.
ANSWERED = frozenset({"answer", "connected"})


def dial_xml(to: str, answer_timeout_s: float) -> str:
    """Plivo's ``<Dial>`` takes the number without its ``+``; ``timeout`` bounds the ringing."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Dial timeout="{int(answer_timeout_s)}"><Number>{escape(to.lstrip("+"))}</Number></Dial>'
        "</Response>"
    )


def warm_dial_xml(to: str, answer_timeout_s: float, base: str) -> str:
    """``base`` is the worker's URL of this transfer (``{public}/carriers/plivo/transfer/{token}``)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Dial timeout="{int(answer_timeout_s)}" action={quoteattr(base + "/dial-ended")} method="POST" '
        f'callbackUrl={quoteattr(base + "/dial-event")} callbackMethod="POST" '
        f"confirmSound={quoteattr(base + '/whisper')}>"
        f"<Number>{escape(to.lstrip('+'))}</Number></Dial>"
        "</Response>"
    )


def whisper_xml(whisper: str) -> str:
    """``confirmSound`` XML may hold only Play, Wait and Speak: Plivo speaks the text itself."""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Speak>{escape(whisper)}</Speak></Response>'


def stream_xml(media_url: str, call_id: str, stream_token: str) -> str:
    """Plivo delivers ``extraHeaders`` in the ``start`` event as the string ``"k1=v1;k2=v2"`` and allows only letters
    and digits in them: the call id (a UUID) goes without its hyphens, which the engine accepts."""
    headers = format_extra_headers({"call_id": call_id, STREAM_TOKEN_PARAMETER: stream_token})
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Stream bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000" '
        f"extraHeaders={quoteattr(headers)}>{escape(media_url)}</Stream>"
        "</Response>"
    )


class PlivoCarrier:
    name = "plivo"
    protocol = "plivo"

    def __init__(self, settings: Settings, public_url: str) -> None:
        self.auth_id = rest.require(settings.plivo_auth_id, "CLOSERR_PLIVO_AUTH_ID")
        token = settings.plivo_auth_token.get_secret_value() if settings.plivo_auth_token else None
        self.from_number = settings.plivo_from_number
        self.public_url = public_url.rstrip("/")
        self.ring_timeout = int(settings.ring_timeout_s)
        self.amd = settings.carrier_amd
        self.http = rest.client(
            settings.plivo_api_base, (self.auth_id, rest.require(token, "CLOSERR_PLIVO_AUTH_TOKEN"))
        )
        # token -> the Dial XML Plivo fetches from ``TRANSFER_PATH``: the number never travels in a URL
        self.transfer_xml: dict[str, str] = {}
        self.warm = WarmTransfers()  # by token: warm transfers waiting for Plivo's dial callbacks

    async def originate(self, dial: Dial) -> Origination:
        answer_query = urlencode({"call_id": dial.call_id, STREAM_TOKEN_PARAMETER: dial.stream_token})
        body = {
            "from": rest.require(dial.caller_id or self.from_number, "CLOSERR_PLIVO_FROM_NUMBER").lstrip("+"),
            "to": dial.to.lstrip("+"),
            "answer_url": f"{self.public_url}{ANSWER_PATH}?{answer_query}",
            "answer_method": "GET",
            "ring_timeout": self.ring_timeout,
            "time_limit": dial.max_call_s,
        }
        if self.amd and dial.callback_token:
            body["machine_detection"] = "true"
            body["machine_detection_url"] = callback_url(self.public_url, self.name, dial)
            body["machine_detection_method"] = "POST"
        response = await rest.send(self.http, "POST", f"/v1/Account/{self.auth_id}/Call/", json=body)
        return Origination(carrier_call_id=str(response.json()["request_uuid"]))

    async def hangup(self, carrier_call_id: str) -> None:
        await rest.send(self.http, "DELETE", f"/v1/Account/{self.auth_id}/Request/{carrier_call_id}/")

    async def transfer(self, carrier_call_id: str, transfer: Transfer, leg: Any = None) -> TransferResult:
        """Cold: Plivo accepts the transfer (2xx) and rings the salesperson itself; whether they answer is not seen
        here. Warm: connected once Plivo reports the salesperson's leg answered (they hear the whisper before the
        bridge), failed when the dial ends unanswered or nothing is reported in time."""
        call_uuid = getattr(leg, "carrier_call_id", None) or carrier_call_id
        warm = transfer.mode == "warm" and bool(transfer.whisper)
        token = secrets.token_hex(16)
        while len(self.transfer_xml) >= MAX_PENDING_TRANSFERS:
            self.transfer_xml.pop(next(iter(self.transfer_xml)))
        if warm:
            base = f"{self.public_url}{TRANSFER_PATH}/{token}"
            self.transfer_xml[token] = warm_dial_xml(transfer.to, transfer.answer_timeout_s, base)
            self.warm.open(token, transfer.whisper)
        else:
            self.transfer_xml[token] = dial_xml(transfer.to, transfer.answer_timeout_s)
        body = {"legs": "aleg", "aleg_url": f"{self.public_url}{TRANSFER_PATH}?token={token}", "aleg_method": "GET"}
        try:
            await rest.send(self.http, "POST", f"/v1/Account/{self.auth_id}/Call/{call_uuid}/", json=body)
        except CarrierError as exc:
            self.transfer_xml.pop(token, None)
            self.warm.drop(token)
            return TransferResult(False, f"plivo refused the transfer: {exc}")
        if not warm:
            return TransferResult(True, "plivo dialing the salesperson")
        return await self.warm.outcome(token, transfer.answer_timeout_s, "plivo")

    def whisper_for(self, token: str) -> str | None:
        """The ``confirmSound`` XML Plivo fetches for the salesperson of a pending warm transfer."""
        whisper = self.warm.whisper(token)
        return whisper_xml(whisper) if whisper is not None else None

    def report(self, token: str, *, answered: bool, status: str) -> bool:
        """Plivo's dial callback for a pending warm transfer; False when no transfer waits under ``token``."""
        return self.warm.report(token, answered=answered, status=status)

    async def aclose(self) -> None:
        await self.http.aclose()
