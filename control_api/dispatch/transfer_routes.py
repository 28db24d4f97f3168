"""What Twilio and Plivo fetch from a worker while they transfer a call: Plivo's ``<Dial>`` for a transfer, and a
warm transfer's whisper (TwiML ``<Say>``, Plivo ``confirmSound`` ``<Speak>``) and its callbacks (the salesperson
answered, or the ``<Dial>`` ended unanswered). Each names a transfer by the single-use random token its request
carried; an unknown token is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery

from control_api.origination.plivo import ANSWERED as PLIVO_ANSWERED
from control_api.origination.plivo import NOT_ANSWERED as PLIVO_NOT_ANSWERED
from control_api.origination.plivo import TRANSFER_PATH
from control_api.origination.twilio import NOT_ANSWERED
from control_api.origination.twilio import TRANSFER_PATH as TWILIO_TRANSFER_PATH

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _carrier(request: Request[Any, Any, Any]) -> Any:
    """The worker's carrier, without its breaker wrapper."""
    carrier = getattr(getattr(request.app.state, "worker", None), "carrier", None)
    return getattr(carrier, "inner", carrier)


def _warm(request: Request[Any, Any, Any], protocol: str) -> Any:
    """The worker's carrier when it is ``protocol``'s and can hold warm transfers."""
    carrier = _carrier(request)
    if getattr(carrier, "protocol", None) != protocol or not callable(getattr(carrier, "report", None)):
        raise NotFoundException(detail="no pending transfer with that token")
    return carrier


HANGUP_XML = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'


def transfer_route_handlers() -> list[Any]:
    return [*_twilio_handlers(), *_plivo_handlers()]


def _twilio_handlers() -> list[Any]:
    @get(f"{TWILIO_TRANSFER_PATH}/{{token:str}}/whisper", include_in_schema=False, media_type="application/xml")
    async def twilio_whisper(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        """What the salesperson hears before the lead joins (a warm transfer's ``<Number url>``)."""
        twiml = _warm(request, "twilio").whisper_for(token)
        if twiml is None:
            raise NotFoundException(detail="no pending transfer with that token")
        return Response(twiml, media_type="application/xml")

    @post(f"{TWILIO_TRANSFER_PATH}/{{token:str}}/status", include_in_schema=False, status_code=204)
    async def twilio_transfer_status(request: Request[Any, Any, Any], token: FromPath[str], data: Form) -> None:
        """The salesperson's leg answered (``statusCallbackEvent="answered"``)."""
        status = data.get("CallStatus", "")
        if status in ("in-progress", "answered"):
            _warm(request, "twilio").report(token, answered=True, status=status)

    @post(f"{TWILIO_TRANSFER_PATH}/{{token:str}}/dial-ended", include_in_schema=False, media_type="application/xml")
    async def twilio_dial_ended(request: Request[Any, Any, Any], token: FromPath[str], data: Form) -> Response[str]:
        """The ``<Dial>`` ended: not answered (the lead's call then ends; the dispatcher calls back), or the
        bridged conversation is over."""
        status = data.get("DialCallStatus", "")
        if status in NOT_ANSWERED:
            _warm(request, "twilio").report(token, answered=False, status=status)
        return Response("<Response><Hangup/></Response>", media_type="application/xml", status_code=200)

    return [twilio_whisper, twilio_transfer_status, twilio_dial_ended]


def _plivo_handlers() -> list[Any]:
    @get(TRANSFER_PATH, include_in_schema=False, media_type="application/xml")
    async def plivo_transfer(request: Request[Any, Any, Any], token: FromQuery[str]) -> Response[str]:
        """The ``<Dial>`` a Plivo transfer asked for, once, by the token the transfer request carried."""
        pending = getattr(_carrier(request), "transfer_xml", None)
        xml = pending.pop(token, None) if isinstance(pending, dict) else None
        if xml is None:
            raise NotFoundException(detail="no pending transfer with that token")
        return Response(xml, media_type="application/xml")

    @post(f"{TRANSFER_PATH}/{{token:str}}/whisper", include_in_schema=False, status_code=200)
    async def plivo_whisper(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        """What the salesperson hears on answering, before the lead joins (the warm ``<Dial confirmSound>``, which
        Plivo fetches with a POST)."""
        xml = _warm(request, "plivo").whisper_for(token)
        if xml is None:
            raise NotFoundException(detail="no pending transfer with that token")
        return Response(xml, media_type="application/xml")

    @post(f"{TRANSFER_PATH}/{{token:str}}/dial-event", include_in_schema=False, status_code=200)
    async def plivo_dial_event(request: Request[Any, Any, Any], token: FromPath[str], data: Form) -> None:
        """The ``<Dial callbackUrl>`` events: the salesperson's leg answered (``DialAction=answer``) or was
        bridged (``connected``); hang-ups and digits change nothing here."""
        action = data.get("DialAction", "")
        if action in PLIVO_ANSWERED:
            _warm(request, "plivo").report(token, answered=True, status=action)

    @post(f"{TRANSFER_PATH}/{{token:str}}/dial-ended", include_in_schema=False, media_type="application/xml")
    async def plivo_dial_ended(request: Request[Any, Any, Any], token: FromPath[str], data: Form) -> Response[str]:
        """The ``<Dial action>``: the dial ended unanswered (the lead's call then ends; the dispatcher calls back),
        or the bridged conversation is over."""
        status = data.get("DialStatus", "")
        if status in PLIVO_NOT_ANSWERED:
            _warm(request, "plivo").report(token, answered=False, status=status)
        return Response(HANGUP_XML, media_type="application/xml", status_code=200)

    return [plivo_transfer, plivo_whisper, plivo_dial_event, plivo_dial_ended]
