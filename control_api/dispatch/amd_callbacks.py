"""A carrier's answering-machine verdict, from its callback to the live call it concerns."""

from __future__ import annotations

from collections.abc import Mapping

from loguru import logger

from control_api.errors import Forbidden, InvalidField, NotFound
from control_api.origination.amd import CARRIERS_WITH_AMD, verdict
from engine.facade import Engine, UnknownCall


def receive(engine: Engine, carrier: str, call_id: str, token: str, form: Mapping[str, str]) -> None:
    """404 for a carrier without AMD callbacks, 422 naming a missing field, 403 unless ``token`` is the callback
    token of a call ringing or running in this worker."""
    if carrier not in CARRIERS_WITH_AMD:
        raise NotFound("carrier with answering-machine detection")
    if not call_id:
        raise InvalidField("call_id", "the callback URL names no call")
    try:
        result = verdict(carrier, form)
    except ValueError as exc:
        raise InvalidField(str(exc), f"the {carrier} callback carries no {exc}") from None
    try:
        if result is not None:
            engine.carrier_answered_by(call_id, token, result[0], message_end=result[1])
        else:
            engine.carrier_answered_by(call_id, token, "unknown", message_end=False)  # checks the token only
    except UnknownCall as exc:
        logger.warning("{} AMD callback refused ({})", carrier, exc.reason)
        raise Forbidden("the callback does not match a call in progress here", slug="unknown-call") from None
    logger.info("call {}: {} AMD says {}", call_id, carrier, result[0] if result else "nothing usable")
