"""A warm transfer waiting for the carrier's word: the whisper the salesperson hears once they answer, and the
outcome the carrier's callbacks report (answered, or the dial ended unanswered). Twilio and Plivo name each pending
transfer by a single-use random token that travels in the URLs they call back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from engine.records import TransferResult

MAX_PENDING_TRANSFERS = 1000
WARM_MARGIN_S = 15.0  # beyond the ringing: the carrier's callback on its way


@dataclass
class PendingWarm:
    whisper: str = field(repr=False)  # may name the lead: never logged
    result: asyncio.Future[TransferResult]


class WarmTransfers:
    """The warm transfers a carrier has asked for and not yet settled, oldest dropped past the bound."""

    def __init__(self) -> None:
        self.pending: dict[str, PendingWarm] = {}

    def open(self, token: str, whisper: str) -> None:
        while len(self.pending) >= MAX_PENDING_TRANSFERS:
            self.pending.pop(next(iter(self.pending)))
        self.pending[token] = PendingWarm(whisper, asyncio.get_running_loop().create_future())

    def drop(self, token: str) -> None:
        self.pending.pop(token, None)

    def whisper(self, token: str) -> str | None:
        pending = self.pending.get(token)
        return pending.whisper if pending is not None else None

    def report(self, token: str, *, answered: bool, status: str) -> bool:
        """The carrier's word on a pending transfer; False when none waits under ``token``. The first word wins."""
        pending = self.pending.get(token)
        if pending is None:
            return False
        if not pending.result.done():
            detail = "salesperson answered after the whisper" if answered else f"salesperson did not answer ({status})"
            pending.result.set_result(TransferResult(answered, detail))
        return True

    async def outcome(self, token: str, answer_timeout_s: float, carrier: str) -> TransferResult:
        """What the carrier reported, or a failure when it reported nothing in time; the token is spent either way."""
        pending = self.pending.get(token)
        try:
            if pending is None:  # pushed out by newer transfers past the bound
                raise TimeoutError
            return await asyncio.wait_for(asyncio.shield(pending.result), answer_timeout_s + WARM_MARGIN_S)
        except TimeoutError:
            return TransferResult(False, f"{carrier} reported no answer from the salesperson in time")
        finally:
            self.drop(token)
