"""Carriers' answering-machine detection (AMD) callbacks: where they post, and what their verdicts mean.

Each dial's callback URL names our call id and carries the call's callback token (``Dial.callback_token``), as the
media stream carries its stream token: the worker's route hands the verdict to the call only when both match a
call that is ringing or running in that worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from control_api.origination.base import Dial

AMD_PATH = "/carriers/{carrier}/amd"
CALLBACK_TOKEN_PARAMETER = "callback_token"
CARRIERS_WITH_AMD = ("twilio", "plivo")

# Twilio's AnsweredBy values (https://www.twilio.com/docs/voice/answering-machine-detection): with
# DetectMessageEnd a machine is reported once its greeting has ended.
_TWILIO: dict[str, tuple[str, bool]] = {
    "human": ("human", False),
    "machine_start": ("machine", False),
    "machine_end_beep": ("machine", True),
    "machine_end_silence": ("machine", True),
    "machine_end_other": ("machine", True),
}


def callback_url(public_url: str, carrier: str, dial: Dial) -> str:
    query = urlencode({"call_id": dial.call_id, CALLBACK_TOKEN_PARAMETER: dial.callback_token})
    return f"{public_url.rstrip('/')}{AMD_PATH.format(carrier=carrier)}?{query}"


def verdict(carrier: str, form: Mapping[str, str]) -> tuple[str, bool] | None:
    """("human" | "machine", whether the greeting has ended) from a carrier's AMD callback body; None for a
    verdict the call has no use for (Twilio's ``fax`` and ``unknown``). ValueError names the missing field."""
    if carrier == "twilio":
        answered_by = form.get("AnsweredBy")
        if not answered_by:
            raise ValueError("AnsweredBy")
        return _TWILIO.get(answered_by)
    machine = form.get("Machine")
    if not machine:
        raise ValueError("Machine")
    # Plivo calls back only when it detected a machine, while the greeting plays.
    return ("machine", False) if machine.lower() == "true" else None
