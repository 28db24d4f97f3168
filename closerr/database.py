"""The database of a one-shot command (``closerr credits``, ``operator``, ``privacy``, ``audit``).

Such a command writes audit entries and pseudonyms exactly as the server does, so it must use the same audit key:
with the development key its entries would be chained under another key than the server verifies with, and the
chain would read as broken at the first of them.
"""

from __future__ import annotations

from config.settings import get_settings
from control_api.audit import pseudonym
from control_api.storage.db import Database, create_database


def command_database() -> Database:
    settings = get_settings()
    pseudonym.use_key(settings.audit_hmac_key.get_secret_value())
    return create_database(settings.effective_database_url)
