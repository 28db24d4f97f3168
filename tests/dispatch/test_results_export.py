"""GET /v1/campaigns/{id}/results: every lead once, with its latest call, as CSV and NDJSON, in batches, owner only,
and spreadsheet formulas neutralised in CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from config.settings import Settings
from control_api.app import create_app
from control_api.calls.tables import Call
from control_api.leads.tables import Lead
from control_api.results.service import BATCH
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
from tests.dispatch.seed import phone, seed

FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'


async def test_results_as_csv_and_ndjson(db: Database, database_url: str, tmp_path: Path) -> None:
    leads = [{"phone": phone(i), "name": f"Lead {i}"} for i in range(BATCH + 5)]
    leads[0]["name"] = FORMULA_NAME
    sd = await seed(database_url, tmp_path, leads, start=False)
    now = utcnow()
    async with session_scope(db) as s:
        first = (await s.execute(select(Lead).order_by(Lead.id).limit(1))).scalar_one()
        first.status, first.attempts = "callback_requested", 2
        for attempt, (status, outcome) in enumerate([("no_answer", None), ("completed", "callback_requested")], 1):
            s.add(
                Call(
                    id=f"call-{attempt}",
                    account_id=sd.account_id,
                    campaign_id=sd.campaign_id,
                    lead_id=first.id,
                    attempt=attempt,
                    status=status,
                    outcome=outcome,
                    duration_s=41.5 if attempt == 2 else None,
                    slots={"income": "@SUM(A1:A9)", "employment": "salaried"} if attempt == 2 else None,
                    record={"callback_at": "2026-12-05T17:00:00+05:30", "transcript": [{"text": "x"}]}
                    if attempt == 2
                    else None,
                    created_at=now,
                )
            )
    settings = Settings(data_dir=tmp_path, database_url=database_url, retention_scheduler=False)
    async with AsyncTestClient(app=create_app(settings), timeout=120) as client:
        r = await client.get(f"/v1/campaigns/{sd.campaign_id}/results", headers=sd.headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        table = list(csv.DictReader(io.StringIO(r.text)))
        assert len(table) == len(leads)
        assert [row["lead_id"] for row in table] == sorted((row["lead_id"] for row in table), key=int)
        top = table[0]
        assert top["name"] == "'" + FORMULA_NAME  # never run as a formula
        assert top["phone"] == "'" + phone(0)  # "+91..." too would be a formula to a spreadsheet
        assert (top["call_id"], top["disposition"], top["outcome"]) == ("call-2", "completed", "callback_requested")
        assert top["callback_at"] == "2026-12-05T17:00:00+05:30" and top["duration_s"] == "41.5"
        # A JSON cell starts with "{": a spreadsheet reads it as text, and the answers inside stay exact.
        assert top["slots"].startswith("{")
        assert json.loads(top["slots"]) == {"income": "@SUM(A1:A9)", "employment": "salaried"}
        assert table[-1]["name"] == f"Lead {len(leads) - 1}" and table[-1]["call_id"] == ""
        assert all("transcript" not in line for line in r.text.splitlines())

        nd = await client.get(f"/v1/campaigns/{sd.campaign_id}/results?format=ndjson", headers=sd.headers)
        assert nd.status_code == 200 and nd.headers["content-type"].startswith("application/x-ndjson")
        records = [json.loads(line) for line in nd.text.splitlines()]
        assert len(records) == len(leads)
        assert records[0]["name"] == FORMULA_NAME and records[0]["phone"] == phone(0)
        assert records[0]["slots"] == {"income": "@SUM(A1:A9)", "employment": "salaried"}
        assert records[0]["attempts"] == 2 and records[1]["call_id"] is None

        bad = await client.get(f"/v1/campaigns/{sd.campaign_id}/results?format=xlsx", headers=sd.headers)
        assert bad.status_code in (400, 422) and "format" in bad.text
        other = await seed(database_url, tmp_path, [{"phone": phone(1)}], email="other@example.in", start=False)
        theirs = await client.get(f"/v1/campaigns/{sd.campaign_id}/results", headers=other.headers)
        assert theirs.status_code == 404
