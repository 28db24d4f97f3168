"""The guard that keeps raw personal data out of audit details.

Audit entries are kept a year and can never be edited, so a phone number, name or e-mail that slipped in could
never be erased. The guard refuses rather than silently rewriting, so the caller learns to pass
``pseudonymize_phone(...)`` and ids instead.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from control_api.audit.pseudonym import is_pseudonym

# Keys whose values are personal data by definition, whatever they look like.
_FORBIDDEN_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "lead_name",
        "phone",
        "phone_number",
        "number",
        "msisdn",
        "email",
        "contact",
        "address",
        "transcript",
        "text",
        "utterance",
        "slots",
        "slot_values",
        "metadata",
    }
)
# Ten or more digits, allowing the separators people type: a phone number in any spelling.
_PHONE_RE = re.compile(r"(?<![0-9A-Za-z])\+?\d(?:[\s\-().]*\d){9,}(?![0-9A-Za-z])")
_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[a-zA-Z]{2,}")
# Actors our code builds: "key:<12 hex>" names an API key by its public prefix ("operator:<12 hex>" an operator's
# key). Keys made before prefixes always began with a letter may be all decimal digits, and must still be
# recognised as a key, not a phone number.
_KEY_ACTOR_RE = re.compile(r"(?:key|operator):[0-9a-f]{12}")


class PersonalDataInAuditError(ValueError):
    """Raised by ``append`` when details would store raw personal data; names the offending key path."""


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
            yield (f"{path}.{key}" if path else str(key)), ("__key__", key)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    else:
        yield path, value


def _is_structured_id(value: str) -> bool:
    """Pseudonyms, key actors, UUIDs and timestamps are digit-rich but are not phone numbers."""
    if is_pseudonym(value) or _KEY_ACTOR_RE.fullmatch(value):
        return True
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        pass
    try:
        datetime.fromisoformat(value)
        return len(value) >= 10
    except ValueError:
        return False


def check_no_personal_data(details: dict[str, Any]) -> None:
    for path, value in _walk(details, ""):
        if isinstance(value, tuple) and value[:1] == ("__key__",):
            key = str(value[1]).lower()
            if key in _FORBIDDEN_KEYS:
                raise PersonalDataInAuditError(
                    f"audit details key {path!r} holds personal data; store an id or a pseudonym instead"
                )
            continue
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int) and len(str(abs(value))) >= 10:
            raise PersonalDataInAuditError(f"audit details {path!r} looks like a phone number")
        if isinstance(value, str) and not _is_structured_id(value):
            if _PHONE_RE.search(value):
                raise PersonalDataInAuditError(
                    f"audit details {path!r} contains a phone number; use pseudonymize_phone()"
                )
            if _EMAIL_RE.search(value):
                raise PersonalDataInAuditError(f"audit details {path!r} contains an e-mail address")
