"""No phone number or lead name in any log: the suite-wide watch (tests/fixtures/log_leaks.py) catches a planted
leak through every route a record can take, and the error paths that carry a number in the URL or the exception
log none, in-process and in a real ``closerr`` process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from loguru import logger as loguru_logger

from config.settings import Settings
from control_api.app import create_app
from control_api.privacy import subjects
from control_api.privacy.log_redaction import install_log_redaction
from tests.control_api.helpers import create_campaign, register, upload_csv
from tests.fixtures.log_leaks import LeakWatch, leaks_in

REPO = Path(__file__).resolve().parents[2]
PHONE = "+919876543210"
NAME = "Ravi Kumar"


def test_the_log_watch_catches_a_planted_leak(log_leaks: LeakWatch) -> None:
    assert log_leaks.take() == []
    before = log_leaks.seen
    # A name: no redaction masks names, only not logging them does.
    logging.getLogger("tests.planted").warning("calling %s now", NAME)
    # A number in a record made around the redaction (as a process that never installed it would make it).
    record = logging.LogRecord("tests.planted", logging.WARNING, __file__, 1, "dialing %s", (PHONE,), None)
    logging.getLogger("tests.planted").handle(record)
    loguru_logger.warning("lead {} picked up", "Priya Sharma")
    hits = log_leaks.take()
    assert log_leaks.seen >= before + 3
    assert any("name 'Ravi Kumar'" in h and "tests.planted" in h for h in hits)
    assert any("phone '+919876543210'" in h for h in hits)
    assert any("name 'Priya Sharma'" in h and "loguru" in h for h in hits)


@pytest.mark.parametrize(
    "spelling",
    [
        "+919876543210",
        "%2B919876543210",
        "919876543210",
        "09876543210",
        "9876543210",
        "0 98765 43210",
        "+91 98765-43210",
    ],
)
def test_the_watch_knows_every_spelling_of_a_number(spelling: str) -> None:
    assert leaks_in(f"GET /v1/subjects/{spelling} 200")


def test_the_watch_leaves_ids_times_and_counts_alone() -> None:
    text = (
        "call 3f2a9c1e-77aa-4bcd-9e01-aa12bb34cc56 took 1234 ms at 2026-11-28T16:40:00Z key clr_a1b2c3d4e5f6 "
        "rows=1000000 epoch 1733300000 request ab477a07eeab44629df8de5693597fb4 "
        "rtp ports 60000-60100 size 8589934592000"
    )
    assert leaks_in(text) == []


def test_records_are_masked_where_they_are_made_whatever_the_logger(log_leaks: LeakWatch) -> None:
    install_log_redaction()
    log = logging.getLogger("control_api.some.module")  # none of the named third-party loggers
    try:
        raise RuntimeError(f"no lead for {PHONE}")
    except RuntimeError:
        log.exception("failed on /v1/subjects/%s", PHONE)
    loguru_logger.warning("dialing {}", PHONE)
    try:
        raise RuntimeError(f"no answer from {PHONE}")
    except RuntimeError:
        loguru_logger.exception("call failed")
    assert log_leaks.take() == []


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = Settings(data_dir=tmp_path / "data", retention_scheduler=False)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as c:
        yield c


async def test_an_unhandled_error_on_a_subject_path_logs_the_route_not_the_number(
    client: AsyncTestClient[Litestar], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await register(client, "errs")
    campaign = await create_campaign(client, tenant)
    assert (await upload_csv(client, tenant, campaign["id"], f"name,phone\n{NAME},{PHONE}\n")).status_code == 200

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"correction at {PHONE} failed")

    monkeypatch.setattr(subjects, "correct", broken)
    caplog.set_level(logging.INFO)
    r = await client.patch(f"/v1/subjects/{PHONE}", json={"name": "R. Kumar"}, headers=tenant.headers)
    assert r.status_code == 500
    text = caplog.text
    assert "unhandled error on PATCH /v1/subjects/{phone}" in text
    assert "RuntimeError" in text  # the traceback is logged, masked
    assert "9876543210" not in text


def test_a_closerr_process_masks_every_record(tmp_path: Path) -> None:
    """Every ``closerr`` command (serve and worker too) sets logging up in ``cli.main``: afterwards a record
    carrying a number, made by any logger of that process, stdlib or loguru, comes out masked."""
    code = (
        "import logging, sys\n"
        "sys.argv = ['closerr', 'audit', 'verify']\n"
        "from closerr import cli\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"logging.getLogger('anything').error('lead at %s', '{PHONE}')\n"
        f"from loguru import logger; logger.error('lead at {PHONE}')\n"
    )
    env = {**os.environ, "CLOSERR_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("CLOSERR_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert "lead at [phone]" in out.stderr, out.stderr[-2000:]
    assert "9876543210" not in out.stderr + out.stdout
