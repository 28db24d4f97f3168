"""API key format and hashing.

A key reads ``clr_<prefix>_<secret>``. The prefix (12 hex digits) is the public id shown in lists and used to find
the row. Its first digit is always a letter (a-f): an all-decimal prefix such as ``079839109369`` reads as a phone
number to every personal-data check downstream (the audit guard refused ``key:079839109369``). Only the SHA-256 of
the whole key is stored, so a database leak yields no usable key. A 256-bit random secret makes a slow password
hash unnecessary.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "clr"


@dataclass(frozen=True)
class NewKey:
    prefix: str
    plaintext: str
    digest: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


_PREFIX_LETTERS = "abcdef"


def new_prefix(random_hex: str | None = None) -> str:
    """12 hex digits whose first is a letter; ``random_hex`` (12 hex digits) is for tests only."""
    body = random_hex if random_hex is not None else secrets.token_hex(6)
    return _PREFIX_LETTERS[int(body[0], 16) % len(_PREFIX_LETTERS)] + body[1:]


def generate_key() -> NewKey:
    prefix = new_prefix()
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, plaintext=plaintext, digest=hash_key(plaintext))


def split_key(plaintext: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def matches(plaintext: str, digest: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), digest)
