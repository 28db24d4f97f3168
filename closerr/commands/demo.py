"""``closerr demo`` (what ``make demo`` runs): the whole platform on embedded defaults, end to end.

It starts the control API with an in-process worker (SQLite in a fresh data directory, the simulated carrier,
the bundled local models), creates a demo account with credits and a campaign with the demo script, uploads a
handful of simulated leads whose personas cover qualified, not qualified, opt-out, callback and voicemail (plus
one busy line), runs the campaign to completion with a progress display, and prints the results.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import typer

# Fictional leads; the persona (lead metadata) is what the simulated carrier plays.
DEMO_LEADS: list[dict[str, Any]] = [
    {"name": "Kiran Rao", "phone": "+919812300001", "metadata": {"persona": "qualified"}},
    {"name": "Anita Sharma", "phone": "+919812300002", "metadata": {"persona": "not_qualified"}},
    {"name": "Suresh Patel", "phone": "+919812300003", "metadata": {"persona": "opt_out"}},
    {"name": "Meena Iyer", "phone": "+919812300004", "metadata": {"persona": "callback"}},
    {"name": "Arjun Mehta", "phone": "+919812300005", "metadata": {"persona": "voicemail"}},
    {"name": "Farah Khan", "phone": "+919812300006", "metadata": {"sim": "busy"}},
]
DEMO_KINDS = ("qualified", "not_qualified", "opt_out", "callback", "voicemail", "busy")  # DEMO_LEADS' order
DEMO_CREDITS = 100_000
TIMEOUT_S = 900.0


def _fresh_dir(base: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = base / f"demo-{stamp}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def _quiet_logs() -> None:
    import warnings

    from loguru import logger

    # The engine server uses the same uvicorn WebSocket implementation; its deprecation notice is not the demo's.
    warnings.filterwarnings("ignore", message="The `websockets` implementation is deprecated")

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("httpx", "alembic", "control_api", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _demo_script() -> dict[str, Any]:
    import yaml

    text = resources.files("engine.agent.scripts").joinpath("demo_solar.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


async def _setup(api: Any, db: Any, leads: list[dict[str, Any]]) -> tuple[dict[str, str], str, str]:
    """Account, credits, campaign, leads; answers (auth headers, account id, campaign id)."""
    from control_api.credits import ledger
    from control_api.storage.db import session_scope

    r = await api.post(
        "/v1/accounts",
        json={
            "name": "Demo Solar Pvt Ltd",
            "email": "demo@closerr.example.in",
            "billing": {"legal_name": "Demo Solar Private Limited", "address": "Pune", "country": "IN"},
        },
    )
    r.raise_for_status()
    account = r.json()
    headers = {"Authorization": f"Bearer {account['api_key']}"}
    async with session_scope(db) as s:
        await ledger.top_up(s, account["account_id"], DEMO_CREDITS, note="demo credits")
    r = await api.post(
        "/v1/campaigns",
        headers=headers,
        json={
            "name": "Demo: rooftop solar, Pune",
            "script": _demo_script(),
            # The demo runs at any hour (its settings widen the legal hours); a real campaign keeps 09:00-21:00.
            "calling_window": {"start": "00:00", "end": "23:59"},
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "concurrency": 2,
            "retry": {"max_attempts": 1, "spacing_minutes": []},
            "max_call_seconds": 120,
        },
    )
    r.raise_for_status()
    campaign_id = r.json()["id"]
    ndjson = "\n".join(json.dumps(lead) for lead in leads) + "\n"
    r = await api.post(
        f"/v1/campaigns/{campaign_id}/leads",
        params={"no_minors_attested": "true", "consent_source": "demo web form", "consent_purpose": "solar quote"},
        headers={**headers, "Content-Type": "application/x-ndjson"},
        content=ndjson.encode(),
    )
    r.raise_for_status()
    r = await api.post(f"/v1/campaigns/{campaign_id}/start", headers=headers)
    r.raise_for_status()
    return headers, account["account_id"], campaign_id


def _only_callbacks_left(status: dict[str, Any]) -> bool:
    """Every call made and settled, and the leads still open wait for a later attempt: with the demo's single
    attempt per lead, those are the callbacks the leads asked for (the campaign completes after them)."""
    leads = status["leads"]
    return (
        status["state"] == "running"
        and status["calls_in_progress"] == 0
        and not leads.get("pending")
        and not leads.get("dialing")
        and bool(leads.get("retry"))
    )


async def _watch(api: Any, headers: dict[str, str], campaign_id: str, total: int) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    status: dict[str, Any] = {}
    with Progress(*columns) as progress:
        task = progress.add_task("calling leads", total=total)
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            r = await api.get(f"/v1/campaigns/{campaign_id}/dispatch", headers=headers)
            r.raise_for_status()
            status = r.json()
            done = total - status["open_leads"]
            progress.update(
                task,
                completed=done,
                description=f"campaign {status['state']}: {status['calls_in_progress']} call(s) in progress",
            )
            if status["state"] in ("completed", "paused", "cancelled") or _only_callbacks_left(status):
                break
            await asyncio.sleep(0.5)
    return status


async def _results(api: Any, headers: dict[str, str], campaign_id: str, caller: dict[str, Any]) -> list[dict[str, Any]]:
    from engine.records import percentile

    leads = (await api.get(f"/v1/campaigns/{campaign_id}/leads", headers=headers, params={"limit": 100})).json()
    names = {lead["id"]: lead["name"] for lead in leads["items"]}
    calls = (await api.get(f"/v1/campaigns/{campaign_id}/calls", headers=headers, params={"limit": 100})).json()
    rows = []
    for summary in calls["items"]:
        detail = (await api.get(f"/v1/calls/{summary['id']}", headers=headers)).json()
        measured = caller.get(summary["id"])
        caller_p50 = percentile(list(measured.v2v_s), 50) if measured is not None else None
        engine_p50 = (detail.get("latency") or {}).get("v2v_p50_s")
        rows.append(
            {
                "call_id": summary["id"],
                "lead": names.get(summary["lead_id"], "?"),
                "disposition": summary["status"],
                "outcome": summary["outcome"] or "-",
                "slots": detail.get("slots") or {},
                "duration_s": summary["duration_s"],
                "v2v_p50_s": caller_p50 if caller_p50 is not None else engine_p50,
                "turns": len(detail.get("turns") or []),
            }
        )
    return rows


def _print_table(rows: list[dict[str, Any]], data_dir: Path, port: int, balance: int, api_key: str) -> None:
    """The results, and where the transcripts are (the demo account's key is shown here, never written to disk)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 150)  # pipes default to 80 columns
    table = Table(title="Demo campaign results", show_lines=False)
    for col in ("lead", "disposition", "outcome", "slots", "duration", "v2v p50"):
        table.add_column(col, overflow="fold")
    for row in rows:
        slots = ", ".join(f"{k}={v}" for k, v in row["slots"].items()) or "-"
        duration = f"{row['duration_s']:.1f} s" if row["duration_s"] else "-"
        v2v = f"{row['v2v_p50_s'] * 1000:.0f} ms" if row["v2v_p50_s"] is not None else "-"
        table.add_row(row["lead"], row["disposition"], row["outcome"], slots, duration, v2v)
    console.print(table)
    console.print("v2v p50: the lead's side of the media stream, last word spoken -> first bot audio heard.")
    console.print(f"Credits left: {balance} of {DEMO_CREDITS} (billed per started second).")
    console.print(f"Transcripts: {data_dir / 'demo-results.json'}, and through the API:")
    console.print(f"  closerr serve --dev --data-dir {data_dir} --port {port}")
    console.print(f"  curl -H 'Authorization: Bearer {api_key}' http://127.0.0.1:{port}/v1/calls/<call_id>")


async def run_demo(data_dir: Path, port: int, leads: list[dict[str, Any]]) -> int:
    import httpx
    import uvicorn

    from closerr.build import build_engine
    from config.settings import Settings
    from control_api.app import create_app
    from control_api.credits import ledger
    from control_api.dispatch.runtime import attach_worker
    from control_api.storage.db import create_database
    from engine.facade import UVICORN_WS_OPTIONS
    from engine.simulator.run import free_port

    port = port or free_port()
    # The demo runs at any hour and its simulated carrier calls nobody, so it widens the legal calling hours the way
    # an operator would; a real deployment keeps TRAI's 09:00-21:00 (CLOSERR_CALLING_HOURS_START / _END).
    settings = Settings(
        data_dir=data_dir,
        database_url=None,
        carrier="simulated",
        port=port,
        dispatch_poll_s=0.5,
        calling_hours_start="00:00",
        calling_hours_end="23:59",
    )
    db = create_database(settings.effective_database_url)
    engine = build_engine(settings)
    app = create_app(settings, engine, database=db)
    attach_worker(app, settings, engine, db, "127.0.0.1", port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **UVICORN_WS_OPTIONS))
    typer.echo(f"Closerr demo: data in {data_dir} (SQLite), API on http://127.0.0.1:{port}, simulated carrier")
    typer.echo("Loading the local speech models (Whisper tiny.en, Piper)...")
    typer.echo(f"Agent voice: {engine.voice_of(None)}")
    await engine.ready()
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
                return 1
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as api:
            headers, account_id, campaign_id = await _setup(api, db, leads)
            typer.echo(f"Campaign {campaign_id}: {len(leads)} simulated leads, real calls through the engine")
            status = await _watch(api, headers, campaign_id, len(leads))
            caller = dict(getattr(app.state.worker.carrier, "results", {}))
            rows = await _results(api, headers, campaign_id, caller)
            transcripts = {
                row["call_id"]: (await api.get(f"/v1/calls/{row['call_id']}", headers=headers)).json().get("transcript")
                for row in rows
            }
        async with db.sessions() as s:
            balance = await ledger.balance(s, account_id)
        (data_dir / "demo-results.json").write_text(
            json.dumps(
                {
                    "campaign_id": campaign_id,
                    "calls": rows,
                    "transcripts": transcripts,
                },
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
        _print_table(rows, data_dir, port, balance, headers["Authorization"].split()[-1])
        if status.get("state") != "completed" and not (status and _only_callbacks_left(status)):
            typer.echo(f"error: the campaign did not complete (state {status.get('state')})", err=True)
            return 1
        if status.get("state") != "completed":
            typer.echo(
                f"{status['leads']['retry']} callback(s) scheduled at the time the lead asked for: the campaign "
                "completes once they are made"
            )
        return 0
    finally:
        server.should_exit = True
        await serving


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        data_dir: Path = typer.Option(Path("data"), "--data-dir", help="a fresh demo-<time> directory is made here"),
        port: int = typer.Option(0, min=0, max=65535, help="API port; 0 picks a free one"),
        only: str | None = typer.Option(
            None, "--only", help=f"comma-separated subset of the demo leads: {', '.join(DEMO_KINDS)}"
        ),
    ) -> None:
        """Run a demo campaign end to end on embedded defaults and print the results."""
        if data_dir.exists() and not data_dir.is_dir():
            typer.echo(f"error: --data-dir {data_dir} is not a directory", err=True)
            raise typer.Exit(2)
        leads = DEMO_LEADS
        if only is not None:
            wanted = [k.strip() for k in only.split(",") if k.strip()]
            unknown = sorted(set(wanted) - set(DEMO_KINDS))
            if unknown or not wanted:
                typer.echo(f"error: --only {only!r}: choose from {', '.join(DEMO_KINDS)}", err=True)
                raise typer.Exit(2)
            leads = [lead for kind, lead in zip(DEMO_KINDS, DEMO_LEADS, strict=True) if kind in wanted]
        _quiet_logs()
        code = asyncio.run(run_demo(_fresh_dir(data_dir), port, leads))
        # Everything is written and closed by now. Skip the interpreter's teardown: the speech runtimes' native
        # thread pools can abort the process while it unloads them ("terminate called without an active
        # exception"), which would turn a finished demo into a failed `make demo`.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
