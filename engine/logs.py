"""Logging for every Closerr process: one configuration for loguru (ours and pipecat's) and the stdlib loggers.

Two rules from the privacy policy shape it: tracebacks never print local variables (loguru's ``diagnose`` would
show a lead's name or transcript), and pipecat's per-frame DEBUG chatter is off unless asked for.
"""

from __future__ import annotations

import logging
import sys

from loguru import logger

_configured = False


def configure_logging(level: str = "INFO") -> None:
    global _configured
    level = level.upper()
    logger.remove()
    logger.add(sys.stderr, level=level, diagnose=False, backtrace=False, colorize=False)
    if not _configured:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    _configured = True
