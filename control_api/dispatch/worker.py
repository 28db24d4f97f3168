"""One engine worker: leases due leads from the shared database, dials them through the carrier, runs each call
on this process's engine (its media streams arrive at this process's ``/media`` endpoint), heartbeats its leases,
settles every call, reaps the leases of workers that died, and delivers webhooks.

Several workers, on any machines, share one PostgreSQL; the embedded default is one in-process worker on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import socket
from dataclasses import dataclass, field

import httpx
from loguru import logger

import metrics
from config.settings import Settings
from control_api import backoff
from control_api.audit import append, pseudonymize_phone
from control_api.audit.events import DISPATCHER_ACTOR
from control_api.campaigns.calling_hours import CallingHours
from control_api.credits import fraud
from control_api.dispatch import progress, service
from control_api.dispatch.dispositions import Disposition, from_record
from control_api.dispatch.service import DialJob, DispatchConfig
from control_api.dispatch.settlement import CallResult, Closed
from control_api.dnd import service as dnd
from control_api.dnd.preferences import Source
from control_api.origination.base import Carrier, CarrierError, CarrierUnavailable, Dial
from control_api.storage.db import Database, session_scope
from control_api.storage.transient import transient_reason
from control_api.storage.types import utcnow
from control_api.webhooks.destination import parse_networks
from control_api.webhooks.outbox import Deliverer
from engine.facade import Engine
from engine.records import CallRecord, CallRequest, Transfer, TransferResult
from engine.records import Lead as EngineLead

ORIGINATE_TIMEOUT_S = 30.0
STREAM_TOKEN_MARGIN_S = 30.0
TRANSFER_TIMEOUT_S = 90.0  # a SIP REFER waits for the salesperson to answer; a REST update is one request
END_GRACE_S = 30.0  # beyond max_call_s before a call that never ends is given up
# A settlement that fails on a passing database fault is tried again for this long (the lease is heartbeated
# meanwhile), waiting between tries as ``control_api.backoff`` says.
SETTLE_RETRY_S = 300.0
SETTLE_BACKOFF_S = 0.2
SETTLE_BACKOFF_MAX_S = 5.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def config_from(settings: Settings, worker_id: str | None = None) -> DispatchConfig:
    return DispatchConfig(
        worker_id=worker_id or settings.worker_id or default_worker_id(),
        lease_ttl_s=settings.lease_ttl_s,
        account_concurrency=settings.account_concurrency,
        rate_per_second=settings.credit_rate_per_second,
        limits=fraud.Limits(settings.fraud_max_calls_per_hour, settings.fraud_max_spend_per_day),
        hours=CallingHours(settings.calling_hours_start, settings.calling_hours_end),
    )


@dataclass
class Worker:
    db: Database
    settings: Settings
    carrier: Carrier
    media_base_url: str  # ws(s)://host:port of this process, as the carrier must reach it
    engine: Engine  # its directory learns of each call before the carrier dials
    cfg: DispatchConfig = field(init=False)
    active: dict[str, DialJob] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _calls: set[asyncio.Task[None]] = field(default_factory=set)
    _tasks_by_call: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _carrier_ids: dict[str, str] = field(default_factory=dict)
    _finishing: set[str] = field(default_factory=set)
    _published: dict[str, progress.Progress] = field(default_factory=dict)
    _stopping: bool = False
    _stopped: asyncio.Future[None] | None = None

    def __post_init__(self) -> None:
        self.cfg = config_from(self.settings)

    @property
    def worker_id(self) -> str:
        return self.cfg.worker_id

    def start_hooks(self) -> None:
        """What the engine calls back during a call: opt-outs onto the suppression list, transfers to the carrier."""
        self.engine.directory.on_opt_out = self._on_opt_out
        self.engine.directory.on_transfer = self._on_transfer

    def start(self) -> None:
        self.start_hooks()
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="dispatch"),
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(self._webhook_loop(), name="webhooks"),
            asyncio.create_task(self._progress_loop(), name="progress"),
        ]
        logger.info("worker {} started (carrier {})", self.worker_id, self.carrier.name)

    async def stop(self) -> None:
        """Stop dialing, let calls in progress end (up to ``worker_drain_s``); calls still running after that end
        as ``error`` and are settled now (their hold released). The server's drain on SIGTERM and the app's
        shutdown both call it: the second waits for the first."""
        if self._stopped is None:
            self._stopped = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopped)

    async def _stop(self) -> None:
        self._stopping = True
        if self._tasks:
            self._tasks[0].cancel()  # no new calls; heartbeats go on while the others drain
        if self._calls:
            await asyncio.wait(list(self._calls), timeout=self.settings.worker_drain_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for call in list(self._calls):
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        await self.carrier.aclose()

    # -- loops ---------------------------------------------------------------------------------------------------

    async def tick(self) -> int:
        """One dispatch round: reap lost leases, move campaigns along, lease and start calls. Answers how many
        calls it started."""
        await service.reap_expired(self.db, self.cfg)
        running = await service.advance_campaigns(self.db)
        random.shuffle(running)  # no campaign starves another when slots are few
        started = 0
        # The engine in this process refuses media streams beyond its admission limit: leasing more leads than
        # that would dial people whose calls are then refused (or, admitted, would stutter).
        capacity = min(self.settings.worker_max_calls, self.settings.max_concurrent_calls)
        for campaign in running:
            slots = self._carrier_slots(capacity - len(self.active))
            if slots <= 0 or self._stopping:
                break
            result = await service.claim(self.db, self.cfg, campaign.id, campaign.account_id, slots)
            for job in result.jobs:
                self.active[job.call_id] = job
                task = asyncio.create_task(self._run(job), name=f"call-{job.call_id}")
                self._calls.add(task)
                self._tasks_by_call[job.call_id] = task
                task.add_done_callback(self._calls.discard)
                started += 1
        return started

    def _carrier_slots(self, slots: int) -> int:
        """No leases while the carrier's breaker is open (the leads would only be returned), one for its trial."""
        permits = getattr(self.carrier, "permits", None)
        allowed = permits() if callable(permits) else None
        return slots if allowed is None else min(slots, allowed)

    async def _dispatch_loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not end the worker: the next round tries again.
                logger.exception("dispatch round failed")
            await asyncio.sleep(self.settings.dispatch_poll_s)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                # Calls being settled keep their lease too: a settlement waiting out a database fault must not
                # lose its call to the reaper meanwhile.
                calls = list(self.active)
                held = await service.heartbeat(self.db, self.cfg, calls)
                for call_id in set(calls) - held:
                    await self._abandon(call_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("heartbeat failed")

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(progress.PUBLISH_S)
            try:
                await self.publish_progress()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Live views go stale for a second; the call itself is untouched.
                logger.exception("publishing call progress failed")

    async def publish_progress(self) -> None:
        """Publish the progress of the calls that changed since the last round (see ``dispatch.progress``)."""
        records = {request.call_id: record for request, record in self.engine.directory.live()}
        calls = [c for c in self.active if c not in self._finishing]
        current = {c: progress.progress_of(records.get(c)) for c in calls}
        changed = {c: p for c, p in current.items() if self._published.get(c) != p}
        self._published = {c: p for c, p in self._published.items() if c in current}
        for call_id, update in changed.items():
            job = self.active.get(call_id)
            if job is None:  # ended meanwhile
                continue
            async with session_scope(self.db) as s:
                await progress.publish(s, self.worker_id, call_id, job.account_id, update, utcnow())
            self._published[call_id] = update

    async def _abandon(self, call_id: str) -> None:
        """Our lease on this call expired and was reaped (the lead may already be dialed again elsewhere): hang
        up now rather than talk on in parallel. The reaper settled it; our late settle is refused."""
        if call_id in self._finishing or call_id not in self.active:
            return  # settling, or settled while the heartbeat ran: the lease was dropped by its settlement
        logger.warning("lease of call {} lost: hanging up", call_id)
        await self._hangup(self._carrier_ids.get(call_id))
        task = self._tasks_by_call.get(call_id)
        if task is not None:
            task.cancel()

    async def _webhook_loop(self) -> None:
        deliverer = Deliverer(
            self.db,
            max_attempts=self.settings.webhook_max_attempts,
            backoff_s=self.settings.webhook_backoff_s,
            allowed_networks=parse_networks(self.settings.webhook_allowed_networks),
        )
        # No proxy from the environment: the delivery must connect to the address it checked.
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0), trust_env=False) as http:
            while True:
                try:
                    await deliverer.run_once(http)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("webhook round failed")
                await asyncio.sleep(self.settings.dispatch_poll_s)

    # -- one call --------------------------------------------------------------------------------------------

    async def _run(self, job: DialJob) -> None:
        result = CallResult(Disposition.ERROR, error="worker stopped")
        try:
            result = await self._call(job)
        except asyncio.CancelledError:
            result = CallResult(Disposition.ERROR, error="worker stopped")
            await asyncio.shield(self._finish(job, result))
            raise
        except Exception as exc:
            logger.exception("call {} failed", job.call_id)
            result = CallResult(Disposition.ERROR, error=f"dispatcher error: {type(exc).__name__}")
        await self._finish(job, result)

    async def _finish(self, job: DialJob, result: CallResult) -> None:
        self._finishing.add(job.call_id)  # from here on, never cancelled for a lost lease
        try:
            await self._settle(job, result)
        finally:
            self.active.pop(job.call_id, None)
            self._finishing.discard(job.call_id)
            self._tasks_by_call.pop(job.call_id, None)
            self._carrier_ids.pop(job.call_id, None)
            self.engine.directory.forget(job.call_id)

    async def _settle(self, job: DialJob, result: CallResult) -> Closed | None:
        """Settle through a passing database fault (a restart, a lost connection, the disk full). Each try is one
        transaction that rolled back whole, and ``finish`` checks the lease under the account lock: a try that
        committed before its answer was lost is found settled, never charged twice. Past ``SETTLE_RETRY_S`` (or
        on shutdown) the lease is left to expire and the reaper settles the call as an error."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_RETRY_S
        for attempt in itertools.count():
            try:
                closed = await service.finish(self.db, self.cfg, job.call_id, job.lead_id, job.account_id, result)
                if closed is None:
                    logger.warning("call {} was reaped before it was settled (lease expired)", job.call_id)
                return closed
            except Exception as exc:
                reason = transient_reason(exc)
                if reason is None:
                    raise
                metrics.record_settlement_retry(reason)
                if self._stopping or loop.time() > deadline:
                    logger.error("settling call {} failed ({}): left to the reaper", job.call_id, reason)
                    return None
                logger.warning("settling call {} failed ({}): trying again", job.call_id, reason)
            await asyncio.sleep(backoff.delay(attempt, base=SETTLE_BACKOFF_S, cap=SETTLE_BACKOFF_MAX_S))
        raise AssertionError("unreachable")

    async def _call(self, job: DialJob) -> CallResult:
        request = CallRequest(
            call_id=job.call_id,
            lead=EngineLead(name=job.name, phone=job.phone, metadata=job.metadata),
            script=job.script,
            policy=job.policy,
            llm_profile=job.llm_profile,
            max_call_s=float(job.max_call_s),
            campaign_id=job.campaign_id,
            account_id=job.account_id,
            record_audio=job.record_audio,
        )
        # The stream can come only after the originate request and the ringing: past both (and a margin for a
        # slow carrier), its token is worthless.
        token_ttl_s = ORIGINATE_TIMEOUT_S + self.settings.ring_timeout_s + STREAM_TOKEN_MARGIN_S
        future = self.engine.directory.expect(request, token_ttl_s=token_ttl_s)
        dial = Dial(
            call_id=job.call_id,
            to=job.phone,
            caller_id=job.caller_id,
            media_url=f"{self.media_base_url.rstrip('/')}/media/{self.carrier.protocol}",
            request=request,
            max_call_s=job.max_call_s,
            metadata=job.metadata,
            stream_token=self.engine.directory.stream_token(job.call_id),
            callback_token=self.engine.directory.callback_token(job.call_id),
        )
        try:
            origination = await asyncio.wait_for(self.carrier.originate(dial), ORIGINATE_TIMEOUT_S)
        except CarrierUnavailable as exc:
            return CallResult(Disposition.FAILED, error=str(exc), carrier_outage_retry_s=exc.retry_in_s)
        except CarrierError as exc:
            return CallResult(Disposition(exc.disposition), error=str(exc))
        except TimeoutError:
            return CallResult(Disposition.FAILED, error="carrier did not answer the originate request")
        if origination.disposition is not None:
            return CallResult(Disposition(origination.disposition))
        if origination.carrier_call_id is not None:
            self._carrier_ids[job.call_id] = origination.carrier_call_id
        return await self._await_media(job, future, origination.carrier_call_id)

    async def _await_media(
        self, job: DialJob, future: asyncio.Future[CallRecord], carrier_call_id: str | None
    ) -> CallResult:
        loop = asyncio.get_running_loop()
        ring_deadline = loop.time() + self.settings.ring_timeout_s
        while not (self.engine.directory.active(job.call_id) or future.done()):
            if loop.time() > ring_deadline:
                await self._hangup(carrier_call_id)
                return CallResult(Disposition.NO_ANSWER)
            await asyncio.sleep(0.05)
        try:
            record = await asyncio.wait_for(asyncio.shield(future), job.max_call_s + END_GRACE_S)
        except TimeoutError:
            await self._hangup(carrier_call_id)
            return CallResult(Disposition.ERROR, error="call did not end in time")
        disposition, outcome = from_record(record)
        return CallResult(disposition, outcome=outcome, record=record, error=record.error)

    async def _hangup(self, carrier_call_id: str | None) -> None:
        if carrier_call_id is None:
            return
        with contextlib.suppress(CarrierError):
            await self.carrier.hangup(carrier_call_id)

    async def _on_transfer(self, request: CallRequest, leg: object, transfer: Transfer) -> TransferResult:
        """The agent's part ended with a hand-off: the carrier moves the answered call to the salesperson."""
        carrier_transfer = getattr(self.carrier, "transfer", None)
        carrier_call_id = self._carrier_ids.get(request.call_id)
        if carrier_transfer is None or carrier_call_id is None:
            return TransferResult(False, f"carrier {self.carrier.name} cannot transfer calls")
        try:
            result: TransferResult = await asyncio.wait_for(
                carrier_transfer(carrier_call_id, transfer, leg), TRANSFER_TIMEOUT_S
            )
        except TimeoutError:
            return TransferResult(False, "the carrier's transfer did not finish in time")
        return result

    async def _on_opt_out(self, request: CallRequest) -> None:
        """The lead opted out during the call: onto the account's suppression list before the record closes."""
        job = self.active.get(request.call_id)
        if job is None:
            return
        async with session_scope(self.db) as s:
            await dnd.add_entry(s, job.phone, Source.CALL_OPT_OUT, account_id=job.account_id)
            await append(
                s,
                actor=DISPATCHER_ACTOR,
                tenant_id=job.account_id,
                action="consent.withdraw",
                object_type="call",
                object_id=job.call_id,
                subject_ref=pseudonymize_phone(job.phone),
                details={"source": str(Source.CALL_OPT_OUT), "campaign_id": job.campaign_id, "suppressed": True},
            )
