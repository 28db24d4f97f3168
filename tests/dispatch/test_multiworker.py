"""Three ``closerr worker`` processes on one real PostgreSQL run two campaigns of one account (200 leads): every
lead ends as the policy says, no lead is dialed twice at once, the campaign and account caps hold, the ledger
balances, and a worker killed with SIGKILL mid-campaign loses no lead and double-charges nobody.

Most leads get a simulated carrier result (no audio); two are real calls through the engine's media path."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from control_api.audit import verify
from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.credits import ledger
from control_api.credits.tables import CreditEntry
from control_api.dispatch.tables import DispatchLease
from control_api.dnd.tables import DndEntry
from control_api.leads.tables import Lead
from control_api.storage.db import create_database, session_scope
from tests.dispatch.seed import phone, seed
from tests.dispatch.workers import start_workers, stop

pytestmark = pytest.mark.postgres

CAMPAIGN_CAP, ACCOUNT_CAP, MAX_ATTEMPTS = 6, 8, 2
RETRY = {"dispositions": ["no_answer", "busy"], "spacing_minutes": [1], "max_attempts": MAX_ATTEMPTS}
SKIPS = {"invalid_number", "consent_missing", "dnd_blocked"}
FATES = ("no_answer", "busy", "failed")


def sim_leads(first: int, count: int) -> list[dict[str, object]]:
    return [{"phone": phone(i), "metadata": {"sim": FATES[i % 3]}} for i in range(first, first + count)]


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


async def test_three_workers_200_leads_with_a_sigkill(pg_url: str, tmp_path: Path) -> None:
    real = [
        {"phone": phone(1000), "metadata": {"persona": "hangup"}},
        {"phone": phone(1001), "metadata": {"persona": "opt_out"}},
    ]
    a = await seed(
        pg_url, tmp_path, real + sim_leads(0, 148), concurrency=CAMPAIGN_CAP, retry=RETRY, max_call_seconds=60
    )
    b = await seed(
        pg_url,
        tmp_path,
        sim_leads(148, 50),
        concurrency=CAMPAIGN_CAP,
        retry=RETRY,
        max_call_seconds=60,
        api_key=a.api_key,
        credits=0,
    )
    db = create_database(pg_url)
    skip_phones: dict[int, str] = {}
    async with session_scope(db) as s:
        from control_api.dnd import service as dnd

        for i, reason in zip(range(3, 12), ["invalid_number", "consent_missing", "dnd_blocked"] * 3, strict=True):
            key = int(phone(i)[1:])
            if reason == "invalid_number":
                await s.execute(update(Lead).where(Lead.phone == key).values(phone=91100 + i))
                key = 91100 + i
            elif reason == "consent_missing":
                await s.execute(update(Lead).where(Lead.phone == key).values(consent_source=""))
            else:
                await dnd.add_entry(s, phone(i), "registry_import", account_id=None)
            skip_phones[key] = reason
    env = {
        "CLOSERR_DATABASE_URL": pg_url,
        "CLOSERR_DATA_DIR": str(tmp_path),
        "CLOSERR_SIM_RING_S": "0.4",
        "CLOSERR_LEASE_TTL_S": "3",
        "CLOSERR_HEARTBEAT_S": "0.5",
        "CLOSERR_DISPATCH_POLL_S": "0.2",
        "CLOSERR_ACCOUNT_CONCURRENCY": str(ACCOUNT_CAP),
        "CLOSERR_WORKER_MAX_CALLS": "5",
    }
    workers = start_workers(["w0", "w1", "w2"], env, tmp_path)
    try:
        # SIGKILL w0 while it holds leases (calls in progress).
        deadline = time.monotonic() + 60
        killed_with = 0
        while time.monotonic() < deadline:
            async with db.sessions() as s:
                killed_with = int(
                    await s.scalar(
                        select(func.count()).select_from(DispatchLease).where(DispatchLease.worker_id == "w0")
                    )
                    or 0
                )
            if killed_with:
                os.kill(workers[0][0].pid, signal.SIGKILL)
                break
            await asyncio.sleep(0.05)
        assert killed_with > 0, "w0 never held a lease"
        # Run to completion; retries are 1 minute apart: move the clock of waiting leads forward instead of waiting.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            async with session_scope(db) as s:
                await s.execute(text("UPDATE leads SET next_attempt_at = now() WHERE status = 'retry'"))
                states = set((await s.execute(select(Campaign.state))).scalars())
            if states == {"completed"}:
                break
            await asyncio.sleep(0.5)
        assert states == {"completed"}, f"campaigns still {states}"
    finally:
        for process, _ in workers:
            stop(process)

    async with db.sessions() as s:
        leads = list((await s.execute(select(Lead))).scalars())
        calls = list((await s.execute(select(Call).order_by(Call.created_at))).scalars())
        entries = list((await s.execute(select(CreditEntry))).scalars())
        balance = await ledger.balance(s, a.account_id)
        held = await ledger.held(s, a.account_id)
        leases_left = await s.scalar(select(func.count()).select_from(DispatchLease))
        opt_outs = list((await s.execute(select(DndEntry).where(DndEntry.source == "call_opt_out"))).scalars())
        chain = await verify(s)
    await db.dispose()

    assert len(leads) == 200 and leases_left == 0
    by_lead: dict[int, list[Call]] = defaultdict(list)
    for call in calls:
        by_lead[call.lead_id or 0].append(call)
    dialed = [c for c in calls if c.status not in SKIPS]
    lost = [c for c in dialed if c.error and "lease expired" in c.error]
    assert lost, "the killed worker's calls were not returned as error"

    # Every lead final, as the policy says.
    for lead in leads:
        history = by_lead[lead.id]
        assert lead.status not in ("pending", "retry", "dialing"), lead.status
        if lead.phone in skip_phones:
            assert lead.status == skip_phones[lead.phone] and [c.status for c in history] == [lead.status]
            continue
        attempts = [c for c in history if c.status not in SKIPS]
        assert len(attempts) == lead.attempts <= MAX_ATTEMPTS
        for earlier in attempts[:-1]:
            assert earlier.status in ("no_answer", "busy", "error")  # only retryable results were retried
        if lead.status in SKIPS:  # e.g. opted out during a call lost with a worker, then blocked at dial time
            assert lead.status == "dnd_blocked"
            continue
        last = attempts[-1]
        assert last.status == lead.status or (lead.status == "completed" and last.status == "completed")
        fate = (lead.extra or {}).get("sim")
        if fate and not any(c.status == "error" for c in attempts):
            expected = [fate] * (MAX_ATTEMPTS if fate in RETRY["dispositions"] else 1)
            assert [c.status for c in attempts] == expected
    # The real calls.
    hangup = next(lead for lead in leads if lead.phone == int(phone(1000)[1:]))
    opt_out = next(lead for lead in leads if lead.phone == int(phone(1001)[1:]))
    assert any(c.duration_s for c in dialed), "no real call was answered and billed"
    assert hangup.status in ("hung_up", "error")
    assert opt_out.status in ("completed", "dnd_blocked", "error")
    if any(c.outcome == "opted_out" for c in by_lead[opt_out.id]):
        assert [e.phone for e in opt_outs] == [opt_out.phone]
        # Never dialed after opting out.
        opted = next(c for c in by_lead[opt_out.id] if c.outcome == "opted_out")
        assert all(c.created_at <= opted.created_at or c.status == "dnd_blocked" for c in by_lead[opt_out.id])

    # Never two calls of one lead at once; caps held.
    for history in by_lead.values():
        live = [c for c in history if c.status not in SKIPS]
        for before, after in itertools.pairwise(live):
            assert before.ended_at is not None and after.created_at >= before.ended_at
    spans = [(c.created_at, c.ended_at) for c in dialed if c.ended_at is not None]
    assert len(spans) == len(dialed)
    for campaign_id in (a.campaign_id, b.campaign_id):
        assert max_overlap([(c.created_at, c.ended_at) for c in dialed if c.campaign_id == campaign_id]) <= CAMPAIGN_CAP  # type: ignore[misc]
    peak = max_overlap(spans)  # type: ignore[arg-type]
    assert 2 <= peak <= ACCOUNT_CAP

    # The ledger: one hold and one release per dial, at most one charge, charges only for answered calls.
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in entries:
        if e.call_id:
            kinds[e.call_id][e.kind] += 1
    for call in dialed:
        assert kinds[call.id]["reserve"] == 1 and kinds[call.id]["release"] == 1, call.status
        assert kinds[call.id]["charge"] == (1 if call.duration_s else 0)
    assert all(kinds[c.id]["charge"] == 0 for c in lost)
    charged = -sum(e.amount for e in entries if e.kind == "charge")
    assert held == 0 and balance == 1_000_000 - charged >= 0
    assert chain.ok, chain
