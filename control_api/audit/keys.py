"""The deployment's audit secret (``CLOSERR_AUDIT_HMAC_KEY``) and the two keys derived from it.

One secret, two uses kept apart by domain separation: the pseudonyms of phone numbers use the secret itself (so
pseudonyms written before the chain was keyed stay equal), the audit chain uses ``HMAC(secret, CHAIN_DOMAIN)``, so
a value seen in one place never doubles as a key for the other.
"""

from __future__ import annotations

import hashlib
import hmac

DEVELOPMENT_KEY = b"closerr-dev-audit-key-change-me"
CHAIN_DOMAIN = b"closerr/audit-chain/v1"
# HMAC-SHA256 keys shorter than this are guessable from a leaked chain; the development key is shorter on purpose.
MIN_KEY_CHARS = 32


class _Key:
    """One per process, handed over by whoever builds the app or runs a command (``use_key``), so every process
    agrees on each number's pseudonym and on the chain."""

    value: bytes = DEVELOPMENT_KEY


def use_key(key: str | bytes) -> None:
    _Key.value = key.encode() if isinstance(key, str) else key


def secret() -> bytes:
    return _Key.value


def chain_key(key: str | bytes | None = None) -> bytes:
    """The audit chain's HMAC key, derived from ``key`` (default: the one given to ``use_key``)."""
    raw = _Key.value if key is None else (key.encode() if isinstance(key, str) else key)
    return hmac.new(raw, CHAIN_DOMAIN, hashlib.sha256).digest()


def key_problem(key: str) -> str | None:
    """Why ``key`` must not protect a real deployment, or None when it may."""
    if key.encode() == DEVELOPMENT_KEY:
        return "CLOSERR_AUDIT_HMAC_KEY is not set: the development key would protect the audit log and pseudonyms"
    if len(key) < MIN_KEY_CHARS:
        return f"CLOSERR_AUDIT_HMAC_KEY is too short: use at least {MIN_KEY_CHARS} random characters"
    return None
