"""A carrier behind its circuit breaker, with retries: what the worker dials through.

An originate request the carrier surely did not act on (``CarrierError.retry_safe``: unreachable, 429, 503) is
sent again after an exponential backoff with full jitter, no sooner than the carrier's ``Retry-After`` (a
``Retry-After`` beyond ``backoff_max_s`` is not waited for in the dial: the lead is returned and waits for it). Every
transient failure counts towards the breaker; when it opens, dials stop for its cool-down (the worker leases no
leads: ``permits``), then one trial dial decides. A dial that the outage stopped raises ``CarrierUnavailable``:
the lead was never rung, so it is not charged and keeps its attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

import metrics
from control_api import backoff
from control_api.origination.base import Carrier, CarrierError, CarrierUnavailable, Dial, Origination
from control_api.origination.breaker import Breaker, State
from engine.records import Transfer, TransferResult


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    backoff_s: float = 0.5
    backoff_max_s: float = 10.0


@dataclass
class GuardedCarrier:
    inner: Carrier
    breaker: Breaker
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    name: str = field(init=False)
    protocol: str = field(init=False)

    def __post_init__(self) -> None:
        self.name, self.protocol = self.inner.name, self.inner.protocol
        self._publish()

    def permits(self) -> int | None:
        """Dials the breaker lets start now: None for any number, 0 while open, 1 for the half-open trial."""
        allowed = self.breaker.permits(self.clock())
        self._publish()
        return allowed

    async def originate(self, dial: Dial) -> Origination:
        last: CarrierError | None = None
        for attempt in range(self.policy.retries + 1):
            if not self.breaker.allow(self.clock()):
                metrics.record_carrier_fault(self.name, "breaker_open")
                raise self._unavailable(last)
            self._publish()
            try:
                origination = await self.inner.originate(dial)
            except CarrierError as exc:
                if exc.fault is None:
                    self.breaker.neutral()  # about this request, not the carrier's health
                    raise
                last = exc
                self._failed(exc)
                too_long = exc.retry_after is not None and exc.retry_after > self.policy.backoff_max_s
                if not exc.retry_safe or too_long or attempt == self.policy.retries:
                    break  # the lead waits instead (``_unavailable``), no sooner than the carrier asked
                await self.sleep(
                    backoff.delay(
                        attempt,
                        base=self.policy.backoff_s,
                        cap=self.policy.backoff_max_s,
                        retry_after=exc.retry_after,
                    )
                )
                continue
            except BaseException:
                self.breaker.neutral()
                raise
            self.breaker.success(self.clock())
            self._publish()
            return origination
        raise self._unavailable(last)

    async def hangup(self, carrier_call_id: str) -> None:
        await self.inner.hangup(carrier_call_id)

    async def transfer(self, carrier_call_id: str, transfer: Transfer, leg: Any = None) -> TransferResult:
        inner = getattr(self.inner, "transfer", None)
        if inner is None:
            return TransferResult(False, f"{self.name} cannot transfer calls")
        result: TransferResult = await inner(carrier_call_id, transfer, leg)
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _failed(self, exc: CarrierError) -> None:
        was = self.breaker.state
        self.breaker.failure(self.clock())
        metrics.record_carrier_fault(self.name, exc.fault)
        self._publish()
        if was is not State.OPEN and self.breaker.state is State.OPEN:
            logger.warning(
                "carrier {} breaker open for {:.0f} s after {}", self.name, self.breaker.cool_down_s, exc.fault
            )

    def _unavailable(self, last: CarrierError | None) -> CarrierUnavailable:
        # The lead waits at least for the breaker to let a dial through again, and never less than the cool-down
        # would give a carrier that just failed: it is not rung into an outage.
        wait = max(self.breaker.retry_in(self.clock()), self.breaker.cool_down_s)
        if last is not None and last.retry_after is not None:
            wait = max(wait, last.retry_after)
        cause = str(last) if last is not None else "breaker open"
        return CarrierUnavailable(f"carrier unavailable: {cause}", retry_in_s=wait)

    def _publish(self) -> None:
        metrics.set_breaker_state(self.name, str(self.breaker.state))
