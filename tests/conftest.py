"""Shared test plugins. Each area keeps its own fixtures in tests/<area>/conftest.py."""

import sys

from loguru import logger

pytest_plugins = ["tests.fixtures.postgres"]


def _log_to_current_stderr(message: str) -> None:
    # pytest swaps sys.stderr per test; a sink bound to one stream would write to a closed file later.
    sys.stderr.write(message)


logger.remove()
logger.add(_log_to_current_stderr, level="INFO", diagnose=False, backtrace=False)
