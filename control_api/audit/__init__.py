"""The append-only, HMAC-SHA256 chained audit log: who did what to which object, when, from where, with what outcome.

Other areas call ``append`` inside their own transaction and ``pseudonymize_phone`` for any phone number.
"""

from control_api.audit.chain import VerifyResult
from control_api.audit.context import (
    AuditContext,
    AuditRequestMiddleware,
    audit_event,
    context_for_principal,
    context_from_request,
)
from control_api.audit.events import audit_dispatch
from control_api.audit.log import (
    AppendedEntry,
    AuditChainMissingError,
    append,
    entries_for_subject,
    verify,
    verify_tenant,
)
from control_api.audit.personal_data import PersonalDataInAuditError
from control_api.audit.pseudonym import canonical_phone, pseudonymize_phone

__all__ = [
    "AppendedEntry",
    "AuditChainMissingError",
    "AuditContext",
    "AuditRequestMiddleware",
    "PersonalDataInAuditError",
    "VerifyResult",
    "append",
    "audit_dispatch",
    "audit_event",
    "canonical_phone",
    "context_for_principal",
    "context_from_request",
    "entries_for_subject",
    "pseudonymize_phone",
    "verify",
    "verify_tenant",
]
