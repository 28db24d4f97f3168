"""A campaign with ``policy: llm`` through ``closerr serve`` and its dispatcher: the simulated carrier dials a lead
over a real media stream, the call's dialogue streams from the real llama.cpp server on loopback, the lead's opt-out
still wins, the call record says which policy ran and how many turns the script answered instead of the model, and
the API serves the call's recording (both sides) to the campaign's owner."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import pytest
import soundfile as sf
from sqlalchemy import select

from control_api.calls.tables import Call
from control_api.credits import ledger
from control_api.storage.db import create_database, session_scope
from tests.control_api.helpers import ATTEST, demo_script
from tests.dispatch.seed import ALL_DAYS, ALWAYS_OPEN
from tests.live_server import closerr_serve
from tests.llm.conftest import LlamaServer

pytestmark = pytest.mark.e2e

# The lead answers once (the model's turn, or the script's when the model is late) and then opts out, which the
# script's guard rail catches in the same turn whatever the model would have said.
PERSONA = {"turns": [{"say": "Yes, speaking."}, {"say": "Stop calling me. Remove my number."}]}


async def _one_call(base: str, database_url: str, policy: str) -> tuple[dict[str, object], str]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        r = await api.post(
            "/v1/accounts",
            json={"name": "Model Pvt Ltd", "email": "llm@example.in", "billing": {"legal_name": "M", "address": "P"}},
        )
        assert r.status_code == 201, r.text
        account_id, headers = r.json()["account_id"], {"Authorization": f"Bearer {r.json()['api_key']}"}
        body = {"name": "LLM", "script": demo_script(), "calling_window": ALWAYS_OPEN, "days": ALL_DAYS}
        body.update(policy=policy, retry={"max_attempts": 1, "spacing_minutes": [], "dispositions": []})
        r = await api.post("/v1/campaigns", json=body, headers=headers)
        assert r.status_code == 201, r.text
        campaign_id = r.json()["id"]
        lead = {"phone": "+919820000031", "metadata": {"persona": PERSONA}}
        r = await api.post(
            f"/v1/campaigns/{campaign_id}/leads?{ATTEST}",
            content=(json.dumps(lead) + "\n").encode(),
            headers={**headers, "Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 200, r.text
        db = create_database(database_url)
        try:
            async with session_scope(db) as s:
                await ledger.top_up(s, account_id, 100_000)
        finally:
            await db.dispose()
        assert (await api.post(f"/v1/campaigns/{campaign_id}/start", headers=headers)).status_code == 200
        for _ in range(1800):
            state = (await api.get(f"/v1/campaigns/{campaign_id}", headers=headers)).json()["state"]
            if state == "completed":
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"the campaign never completed: {state}")
        calls = (await api.get(f"/v1/campaigns/{campaign_id}/calls", headers=headers)).json()["items"]
        assert len(calls) == 1, calls
        detail = (await api.get(f"/v1/calls/{calls[0]['id']}", headers=headers)).json()
        # The campaign records (the default): the API serves both sides of the call to its owner.
        audio = await api.get(f"/v1/calls/{calls[0]['id']}/recording", headers=headers)
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/ogg", audio.text[:300]
        samples, rate = sf.read(io.BytesIO(audio.content))
        assert samples.ndim == 2 and samples.shape[1] == 2 and len(samples) / rate > 3.0, samples.shape
    return detail, calls[0]["id"]


async def test_an_llm_campaign_is_answered_by_the_model_through_the_dispatcher(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"
    env = {
        "llm_base_url": llama_server.base_url,
        "llm_model": llama_server.model,
        "llm_first_token_timeout_s": "3",
        "sim_ring_s": "0.2",
        "dispatch_poll_s": "0.2",
    }
    async with closerr_serve(database_url, tmp_path / "data", **env) as base:
        detail, call_id = await _one_call(base, database_url, "llm")

    assert detail["policy"] == "llm", detail
    assert detail["outcome"] == "opted_out" and detail["opted_out"] is True, detail
    assert detail["ended_by"] == "bot", detail
    bots = [t for t in detail["transcript"] if t["role"] == "bot"]
    # The greeting, an answer to "Yes, speaking." (the model's or, when it fails, the script's), and the closing.
    assert len(bots) >= 3, detail["transcript"]
    # Never a silent turn (a line cut off by the lead before its first word was heard is recorded empty).
    assert all(t["text"].strip() for t in bots if not t["interrupted"]), detail["transcript"]
    assert isinstance(detail["fallback_turns"], int), detail
    db = create_database(database_url)
    try:
        async with db.sessions() as s:
            record = (await s.execute(select(Call.record).where(Call.id == call_id))).scalar_one()
    finally:
        await db.dispose()
    # The LLM policy's own counters (a script-only call has none): every lead turn went through it.
    (stats,) = [note for note in record["notes"] if note.startswith("llm: ")]
    model_turns = int(stats.split()[1])
    assert model_turns + detail["fallback_turns"] >= 1, stats
    assert "1 opt-out guard" in stats, stats
