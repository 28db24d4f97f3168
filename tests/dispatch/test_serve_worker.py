"""``closerr serve`` runs the API plus an in-process worker on SQLite by default; ``--no-worker`` runs the API
alone (the compose/k8s API role)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from engine.simulator.run import free_port, wait_healthy


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize(("flag", "worker_routes"), [((), True), (("--no-worker",), False)])
def test_serve_with_and_without_the_in_process_worker(
    tmp_path: Path, flag: tuple[str, ...], worker_routes: bool
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSERR_")}
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        # Embedded defaults (no CLOSERR_ variable): the development audit key, so --dev.
        [
            sys.executable,
            "-m",
            "closerr.cli",
            "serve",
            "--dev",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            *flag,
        ],
        env={**env, "HF_HUB_OFFLINE": "1", "CLOSERR_RETENTION_SCHEDULER": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, timeout_s=120, process=process)
        answer = status_of(f"{base}/carriers/plivo/answer?call_id=x&stream_token=abc123")
        assert answer == (200 if worker_routes else 404)
        assert (tmp_path / "closerr.sqlite3").is_file()  # SQLite under --data-dir: the embedded default
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode in (0, -15), (tmp_path / "serve.log").read_text()[-2000:]


async def test_worker_media_endpoint_refuses_streams_it_did_not_dial(tmp_path: Path) -> None:
    import asyncio
    import json

    import uvicorn
    import websockets

    from config.settings import Settings
    from control_api.dispatch.runtime import create_worker_app
    from engine.facade import Engine

    port = free_port()
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}", sim_no_answer_rate=1.0
    )
    engine = Engine()
    with pytest.raises(ValueError, match="accept_adhoc_streams"):
        create_worker_app(settings, Engine(accept_adhoc_streams=True), "127.0.0.1", port)
    app = create_worker_app(settings, engine, "127.0.0.1", port)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", ws="websockets"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with websockets.connect(f"ws://127.0.0.1:{port}/media/twilio") as ws:
            await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            start = {"streamSid": "MZ1", "callSid": "CA1", "customParameters": {"call_id": "not-dialed-here"}}
            await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": start}))
            with pytest.raises(websockets.ConnectionClosed):
                for _ in range(100):
                    await asyncio.wait_for(ws.recv(), timeout=5)
        assert engine.active_calls == 0
    finally:
        server.should_exit = True
        await serving
