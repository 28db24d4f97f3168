"""Secrets live only in the environment (never in the repository, logs or answers); third-party request logs
have phone numbers masked."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest

from control_api.privacy.log_redaction import PhoneRedactingFilter, install_log_redaction, redact_text

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text",
    [
        "GET /v1/subjects/+919876543210 HTTP/1.1",
        "GET /v1/subjects/%2B919876543210 HTTP/1.1",
        "GET /v1/subjects/09876543210 HTTP/1.1",
        "lead 98765 43210 said",
        "+91 98765-43210",
    ],
)
def test_numbers_are_masked(text: str) -> None:
    masked = redact_text(text)
    assert "[phone]" in masked
    assert not re.search(r"\d{5}", masked)


def test_ids_and_times_are_left_alone() -> None:
    text = "call 3f2a9c1e-77aa-4bcd-9e01-aa12bb34cc56 took 1234 ms at 2026-11-28T16:40:00Z key clr_a1b2c3d4e5f6"
    assert redact_text(text) == text


def test_filter_keeps_uvicorn_access_args_shape(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, PhoneRedactingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/v1/subjects/+919876543210", "1.1", 200)
    record = caplog.records[-1]
    assert isinstance(record.args, tuple) and len(record.args) == 5 and record.args[4] == 200
    assert "9876543210" not in record.getMessage() and "[phone]" in record.getMessage()


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return [REPO / line for line in out.stdout.splitlines() if line]


def test_repository_holds_no_secrets() -> None:
    files = _tracked_files()
    assert files, "git ls-files found nothing: the scan would be blind"
    assert not [f for f in files if f.name in (".env", ".env.local") or f.suffix in (".pem", ".key", ".p12")]
    private_key = re.compile(rb"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----")
    assigned = re.compile(rb"CLOSERR_(?:AUDIT_HMAC_KEY|LLM_API_KEY)\s*=\s*['\"]?[A-Za-z0-9+/_-]{12,}")
    hits = []
    for f in files:
        if not f.is_file() or f.stat().st_size > 2_000_000:
            continue
        data = f.read_bytes()
        if private_key.search(data) or assigned.search(data):
            hits.append(str(f.relative_to(REPO)))
    assert not hits
