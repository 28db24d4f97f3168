"""Shared test plugins. Each area keeps its own fixtures in tests/<area>/conftest.py."""

import os
import sys

from loguru import logger

# Every `closerr serve` / `closerr worker` the suite starts inherits a real-looking audit key (they refuse the
# development key without --dev); tests about the key set or remove it themselves.
os.environ.setdefault("CLOSERR_AUDIT_HMAC_KEY", "test-suite-audit-key-0123456789abcdef")

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.log_leaks"]

# The suite's campaigns dial through the simulated carrier at whatever hour CI runs: the test deployment's operator
# widens the legal calling hours (the tests of those hours pass them explicitly).
os.environ.setdefault("CLOSERR_CALLING_HOURS_START", "00:00")
os.environ.setdefault("CLOSERR_CALLING_HOURS_END", "23:59")


def _log_to_current_stderr(message: str) -> None:
    # pytest swaps sys.stderr per test; a sink bound to one stream would write to a closed file later.
    sys.stderr.write(message)


logger.remove()
logger.add(_log_to_current_stderr, level="INFO", diagnose=False, backtrace=False)
