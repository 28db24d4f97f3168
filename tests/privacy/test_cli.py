"""``closerr purge`` and ``closerr audit verify`` as a user runs them (a subprocess on a real data directory),
and ``closerr serve`` terminating TLS with a self-signed certificate made by the openssl CLI."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def closerr(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLOSERR_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("CLOSERR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "closerr.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_purge_needs_exactly_one_mode(tmp_path: Path) -> None:
    for args in ((), ("--dry-run", "--now")):
        out = closerr(tmp_path, "purge", *args)
        assert out.returncode == 2
        assert "exactly one of --dry-run or --now" in out.stderr


def test_purge_and_verify_on_a_data_directory(tmp_path: Path) -> None:
    dry = closerr(tmp_path, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True
    now = closerr(tmp_path, "purge", "--now")
    assert now.returncode == 0, now.stderr
    assert json.loads(now.stdout)["dry_run"] is False

    ok = closerr(tmp_path, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True and json.loads(ok.stdout)["checked"] == 1  # the purge run

    con = sqlite3.connect(tmp_path / "closerr.sqlite3")
    (actor, details) = con.execute("SELECT actor, details FROM audit_log WHERE seq = 1").fetchone()
    assert actor == "cli:purge" and json.loads(details)["content_calls"] == 0
    con.execute("UPDATE audit_retention_gate SET open = 1")
    con.execute("UPDATE audit_log SET details = '{}' WHERE seq = 1")
    con.commit()
    con.close()
    broken = closerr(tmp_path, "audit", "verify")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["first_broken_seq"] == 1
    assert "audit log broken at entry 1" in broken.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@contextlib.contextmanager
def serving_tls(tmp_path: Path, cert: Path, key: Path) -> Iterator[tuple[str, list[str]]]:
    """``closerr serve`` with TLS from the environment; yields its base URL and a list that holds the server's
    output lines once the block has exited and the server has stopped."""
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLOSERR_TLS_CERT": str(cert), "CLOSERR_TLS_KEY": str(key)}
    env.pop("CLOSERR_DATABASE_URL", None)
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "closerr.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"https://127.0.0.1:{port}/health", verify=str(cert), timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log_file.read_text()) from None
                time.sleep(0.3)
        yield f"https://127.0.0.1:{port}", lines
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        lines.extend(log_file.read_text().splitlines())


def test_serve_terminates_tls_and_its_logs_hold_no_number(tmp_path: Path, self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    with serving_tls(tmp_path, cert, key) as (base, lines):
        assert httpx.get(f"{base}/health", verify=str(cert), timeout=5).status_code == 200
        # Plain HTTP on the same port gets no answer: the listener speaks TLS only.
        with pytest.raises(httpx.HTTPError):
            httpx.get(base.replace("https://", "http://") + "/health", timeout=5)
        # A client that does not trust the certificate refuses the connection.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/health", timeout=5)

        with httpx.Client(base_url=base, verify=str(cert), timeout=30) as c:
            reg = c.post(
                "/v1/accounts",
                json={
                    "name": "Acme Pvt Ltd",
                    "email": "ops@acme.example.in",
                    "billing": {"legal_name": "Acme Private Limited", "address": "MG Road, Pune", "country": "IN"},
                },
            )
            assert reg.status_code == 201, reg.text
            h = {"Authorization": f"Bearer {reg.json()['api_key']}"}
            for path in ("/v1/subjects/+919876543210", "/v1/subjects/%2B919876543210", "/v1/subjects/09876543210"):
                assert c.get(path, headers=h).status_code == 200
            assert c.post("/v1/consent/withdraw", json={"phone": "+919876543210"}, headers=h).status_code == 200
            assert c.delete("/v1/subjects/+919876543210", headers=h).status_code == 200
            assert c.get("/v1/subjects/not-a-phone", headers=h).status_code == 422
    text = "\n".join(lines)
    assert "/v1/subjects/" in text  # the access log is on, so the checks below mean something
    assert "9876543210" not in text
    assert "[phone]" in text


def test_serve_refuses_half_a_tls_configuration(tmp_path: Path, self_signed: tuple[Path, Path]) -> None:
    cert, _ = self_signed
    out = closerr(tmp_path, "serve", "--ssl-certfile", str(cert), "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 2 and "both --ssl-certfile and --ssl-keyfile" in out.stderr
    out = closerr(tmp_path, "serve", "--ssl-certfile", str(cert), "--ssl-keyfile", str(tmp_path / "missing.pem"))
    assert out.returncode == 2 and "--ssl-keyfile" in out.stderr
