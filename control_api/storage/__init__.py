"""The one storage layer of the control API: tables, the async engine/session factory, migrations, queries."""

from control_api.storage.db import Base, Database, create_database, session_scope
from control_api.storage.tables import (
    Account,
    ApiKey,
    Call,
    Campaign,
    DndEntry,
    Lead,
    LeadUpload,
)

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Call",
    "Campaign",
    "Database",
    "DndEntry",
    "Lead",
    "LeadUpload",
    "create_database",
    "session_scope",
]
