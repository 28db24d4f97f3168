"""A SIP trunk as a dispatcher carrier (``CLOSERR_CARRIER=sip``; trunk settings ``CLOSERR_SIP_TRUNK_*``).

Unlike the WebSocket carriers, SIP media does not connect back to a URL: the RTP leg comes up inside this process
when the trunk answers, and the engine runs the call on it, resolving the same expected-call future the worker
waits on. ``originate`` returns once the call is answered (or with the
disposition the trunk gave: 486 busy, 480/408 no answer, other failures).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from loguru import logger

from config.settings import Settings
from control_api.origination.base import CarrierError, Dial, Origination
from engine.facade import Engine, SipTrunkConfig
from engine.records import Transfer, TransferResult


def trunk_config(settings: Settings) -> SipTrunkConfig:
    """The trunk of ``CLOSERR_SIP_TRUNK_*``; our SIP and RTP sockets bind the advertised host (or ``host``)."""
    if not settings.sip_trunk_host:
        raise CarrierError("no SIP trunk configured: set CLOSERR_SIP_TRUNK_HOST")
    password = settings.sip_trunk_password
    return SipTrunkConfig(
        host=settings.sip_trunk_host,
        port=settings.sip_trunk_port,
        transport=settings.sip_trunk_transport,
        username=settings.sip_trunk_username,
        password=password.get_secret_value() if password else None,
        domain=settings.sip_trunk_domain,
        caller_id=settings.sip_caller_id,
        ring_timeout_s=settings.sip_ring_timeout_s,
        local_host=settings.sip_advertise_host or settings.host,
    )


class SipCarrier:
    name = "sip"
    protocol = "sip"  # media is RTP inside this process; the media URL is not used

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._trunk = trunk_config(settings)
        self._engine = engine
        self._ring_timeout_s = settings.ring_timeout_s
        self._calls: dict[str, tuple[asyncio.Task[Any], list[Any]]] = {}

    async def originate(self, dial: Dial) -> Origination:
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        legs: list[Any] = []

        def on_answer(leg: Any) -> None:
            legs.append(leg)
            if not answered.done():
                answered.set_result(None)

        dialing = self._engine.dial_sip(
            self._trunk, dial.to, call_id=dial.call_id, ring_timeout_s=self._ring_timeout_s, on_answer=on_answer
        )
        task = asyncio.create_task(dialing, name=f"sip-{dial.call_id}")
        waiters: set[asyncio.Future[Any]] = {task, answered}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if answered.done():
            self._calls[dial.call_id] = (task, legs)
            task.add_done_callback(lambda _t: self._calls.pop(dial.call_id, None))
            return Origination(carrier_call_id=dial.call_id)
        try:
            outcome = task.result()
        except Exception as exc:
            logger.warning("SIP origination failed: {}", type(exc).__name__)
            return Origination(carrier_call_id=None, disposition="failed")
        return Origination(carrier_call_id=None, disposition=outcome.disposition)

    async def hangup(self, carrier_call_id: str) -> None:
        entry = self._calls.pop(carrier_call_id, None)
        if entry is None:
            return
        task, legs = entry
        for leg in legs:
            with contextlib.suppress(Exception):
                await leg.hangup()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(task), 5)

    async def transfer(self, carrier_call_id: str, transfer: Transfer, leg: Any = None) -> TransferResult:
        """Cold: REFER the trunk to the salesperson's number in the lead's dialog (RFC 3515). Warm: call the
        salesperson through the trunk first, whisper, then REFER with Replaces (the engine does both)."""
        refer = getattr(leg, "refer", None)
        if refer is None:
            return TransferResult(False, "no SIP dialog to transfer")
        if transfer.mode == "warm":
            return await self._engine.warm_transfer_sip(self._trunk, leg, transfer)
        result: TransferResult = await refer(self._trunk.request_uri(transfer.to), transfer.answer_timeout_s)
        return result

    async def aclose(self) -> None:
        for call_id in list(self._calls):
            await self.hangup(call_id)
