"""Keyed pseudonyms for phone numbers: what the audit log, metrics and call metadata hold instead of a number.

A plain SHA-256 of a phone number is not a pseudonym: India has ~10^10 mobile numbers, so the whole space can be
hashed in minutes and the number read back. HMAC-SHA256 with a secret from the environment
(``CLOSERR_AUDIT_HMAC_KEY``) cannot be reversed without the key, yet stays stable, so "every entry about this
number" is still one equality lookup and erasing a lead never has to touch (and break) the audit chain.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers

from control_api.audit.keys import DEVELOPMENT_KEY, secret, use_key

__all__ = ["DEVELOPMENT_KEY", "canonical_phone", "is_pseudonym", "pseudonymize_phone", "use_key"]

PSEUDONYM_PREFIX = "ph_"


def canonical_phone(phone: str) -> str:
    """E.164 form (``+919876543210``) so every spelling of one number gets one pseudonym."""
    try:
        parsed = phonenumbers.parse(phone, "IN")
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in phone if ch.isdigit())
        return f"+{digits}" if phone.strip().startswith("+") else digits
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _key_bytes(key: str | bytes | None) -> bytes:
    if key is None:
        return secret()
    return key.encode() if isinstance(key, str) else key


def pseudonymize_phone(phone: str, *, key: str | bytes | None = None) -> str:
    """``ph_`` + hex HMAC-SHA256 of the E.164 number; the key defaults to the one given to ``use_key``
    (``Settings.audit_hmac_key``)."""
    digest = hmac.new(_key_bytes(key), canonical_phone(phone).encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest


def is_pseudonym(value: str) -> bool:
    rest = value[len(PSEUDONYM_PREFIX) :]
    return value.startswith(PSEUDONYM_PREFIX) and len(rest) == 64 and all(c in "0123456789abcdef" for c in rest)
