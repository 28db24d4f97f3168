"""A logging filter that masks phone numbers in records of loggers we do not write ourselves.

Our own code never logs a number, but the rights routes carry one in the URL (``/v1/subjects/{phone}``), and
uvicorn's access log and httpx's request log print URLs. The filter rewrites the message and each string argument
(keeping the argument tuple's shape, which uvicorn's access formatter unpacks).
"""

from __future__ import annotations

import logging
import re
from typing import Any

# A "+" or its URL encoding, then ten or more digits with the separators people and URLs use.
PHONE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:\+|%2[Bb])?\d(?:(?:[\s\-().]|%20)*\d){9,}(?![0-9A-Za-z])")
MASK = "[phone]"

# Third-party loggers that print request lines.
REDACTED_LOGGERS = ("uvicorn.access", "uvicorn.error", "httpx", "litestar", "websockets")


def redact_text(text: str) -> str:
    return PHONE_IN_TEXT.sub(MASK, text)


def _redact_arg(arg: Any) -> Any:
    if isinstance(arg, str):
        return redact_text(arg)
    if arg is None or isinstance(arg, int | float):
        return arg  # "%d" placeholders need the number itself
    # URL objects (httpx) and the like: swapped for their masked text only when they held a number.
    text = str(arg)
    masked = redact_text(text)
    return arg if masked == text else masked


class PhoneRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        return True


_FILTER = PhoneRedactingFilter()


def install_log_redaction(names: tuple[str, ...] = REDACTED_LOGGERS) -> None:
    """Idempotent: adds the one shared filter to each named logger."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
