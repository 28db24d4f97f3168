"""Masking phone numbers in every log record of the process, whoever wrote the logger.

Our own code never logs a number, but the rights routes carry one in the URL (``/v1/subjects/{phone}``), and
uvicorn's access log, httpx's request log and exception messages print URLs and values. The redaction rewrites the
message and each string argument (keeping the argument tuple's shape, which uvicorn's access formatter unpacks) and
the traceback text. It runs where each record is made (the logging record factory), so a record of any logger,
propagated to any handler, is masked before anything formats it; the filters on the named third-party loggers stay
for processes that only add filters. Loguru (the engine's logger) gets the same masking as a patcher.
"""

from __future__ import annotations

import logging
import re
import traceback
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


class _RedactingRecordFactory:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        _FILTER.filter(record)
        if record.exc_info and record.exc_info[0] is not None:
            # Formatters reuse exc_text when set: the traceback is printed already masked.
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact_text(text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return record


def _redact_loguru(record: Any) -> None:
    message = record["message"]
    exc = record["exception"]
    if exc is not None and exc.type is not None:
        # Loguru prints the exception apart from the message: it joins the message, masked, and leaves the record.
        message += "\n" + "".join(traceback.format_exception(exc.type, exc.value, exc.traceback)).rstrip("\n")
        record["exception"] = None
    record["message"] = redact_text(message)


def install_log_redaction(names: tuple[str, ...] = REDACTED_LOGGERS) -> None:
    """Idempotent: masks every record made from now on in this process (stdlib logging and loguru), and adds the
    one shared filter to each named logger."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(factory))
    from loguru import logger as loguru_logger

    loguru_logger.configure(patcher=_redact_loguru)
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
