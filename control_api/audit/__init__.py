"""The append-only, SHA-256 chained audit log: who did what to which object, when, from where, with what outcome.

Other areas call ``append`` inside their own transaction and ``pseudonymize_phone`` for any phone number.
"""

from control_api.audit.chain import VerifyResult
from control_api.audit.log import AppendedEntry, AuditChainMissingError, append, entries_for_subject, verify
from control_api.audit.personal_data import PersonalDataInAuditError
from control_api.audit.pseudonym import canonical_phone, pseudonymize_phone

__all__ = [
    "AppendedEntry",
    "AuditChainMissingError",
    "PersonalDataInAuditError",
    "VerifyResult",
    "append",
    "canonical_phone",
    "entries_for_subject",
    "pseudonymize_phone",
    "verify",
]
