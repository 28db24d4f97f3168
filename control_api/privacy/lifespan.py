"""Privacy at server start: masks phone numbers in third-party request logs, warns when the audit key is the
development default, and runs the retention scheduler until shutdown (after the app's own lifespan has opened
``app.state.db``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from config.settings import Settings
from control_api.privacy.log_redaction import install_log_redaction
from control_api.privacy.scheduler import RetentionScheduler
from control_api.privacy.storage_hygiene import harden_data_dir

log = logging.getLogger(__name__)


def _warn_on_development_key(settings: Settings) -> None:
    default = Settings.model_fields["audit_hmac_key"].default
    if settings.audit_hmac_key.get_secret_value() == default.get_secret_value():
        # Never the value itself: only that the shipped development key is in use.
        log.warning("CLOSERR_AUDIT_HMAC_KEY is not set: the audit chain and pseudonyms use the development key")


@asynccontextmanager
async def privacy_lifespan(app: Any) -> AsyncIterator[None]:
    settings = app.state.settings
    install_log_redaction()
    _warn_on_development_key(settings)
    await asyncio.to_thread(harden_data_dir, settings.data_dir)
    if not settings.retention_scheduler:
        yield
        return
    scheduler = RetentionScheduler(app.state.db, settings)
    app.state.retention_scheduler = scheduler
    scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()
