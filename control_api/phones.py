"""Phone numbers to E.164, with a fast path for the common Indian mobile forms.

The result of a lead's number is either its E.164 digits as an ``int`` (``+919876543210`` -> 919876543210, the
storage key everywhere) or the rejection reason. The fast path recognises ``9876543210``, ``09876543210``,
``919876543210``, ``0091 9876543210`` and ``+91 98765-43210`` without calling ``phonenumbers``; whether such a
number is a valid mobile depends only on its first national digits (libphonenumber's Indian patterns decide on at
most five), so that answer is computed once per five-digit prefix with ``phonenumbers`` and cached. Everything else
(other countries, landlines, odd formats) goes through ``phonenumbers.parse(raw, "IN")``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberType


class PhoneRejection(StrEnum):
    INVALID_NUMBER = "invalid_number"
    NOT_A_MOBILE = "not_a_mobile"


_STRIP: Final = str.maketrans("", "", " -().\t/")
# A dash is a separator between digits; before the first digit or after the last it is a sign or junk
# (``-9876543210``), which the stripping above (and phonenumbers) would otherwise silently drop.
_DASHES: Final = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_STRAY_SIGN: Final = re.compile(f"^[^0-9]*[{_DASHES}]|[{_DASHES}][^0-9]*$")
_MOBILE_TYPES: Final = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_PREFIX_LEN: Final = 5
_in_prefix_cache: dict[str, PhoneRejection | None] = {}


def _classify(number: phonenumbers.PhoneNumber) -> PhoneRejection | None:
    if not phonenumbers.is_valid_number(number):
        return PhoneRejection.INVALID_NUMBER
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return PhoneRejection.NOT_A_MOBILE
    return None


def _indian_national(digits: str) -> str | None:
    """The 10-digit national number when ``digits`` (only digits, '+' removed) is a common +91 mobile form."""
    n = len(digits)
    if n == 10:
        national = digits
    elif n == 11 and digits[0] == "0":
        national = digits[1:]
    elif n == 12 and digits.startswith("91"):
        national = digits[2:]
    elif n == 14 and digits.startswith("0091"):
        national = digits[4:]
    else:
        return None
    return national if national[0] in "6789" else None


def _cached_verdict(national: str) -> PhoneRejection | None:
    prefix = national[:_PREFIX_LEN]
    try:
        return _in_prefix_cache[prefix]
    except KeyError:
        verdict = _classify(phonenumbers.parse("+91" + national))
        _in_prefix_cache[prefix] = verdict
        return verdict


def prefix_verdict(prefix: int) -> PhoneRejection | None:
    """The verdict for every Indian national number starting with this five-digit prefix (60000-99999)."""
    return _cached_verdict(f"{prefix}00000")


def warm_cache() -> None:
    """Classify every Indian mobile prefix once (~40,000 ``phonenumbers`` calls, a few seconds of CPU), so the
    first big upload after a start does not pay for it; ``closerr serve`` runs this in a background thread."""
    for prefix in range(60_000, 100_000):
        _cached_verdict(f"{prefix}00000")


def normalise(raw: str) -> int | PhoneRejection:
    """E.164 digits of a mobile number, or why the number cannot be called."""
    if len(raw) == 10 and raw.isdigit() and raw.isascii() and raw[0] in "6789":  # the most common form
        verdict = _cached_verdict(raw)
        return verdict if verdict is not None else 910000000000 + int(raw)
    if _STRAY_SIGN.search(raw):
        return PhoneRejection.INVALID_NUMBER
    s = raw.strip().translate(_STRIP)
    plus = s.startswith("+")
    digits = s[1:] if plus else s
    if digits.isdigit() and digits.isascii():
        national = None
        if plus:
            if len(digits) == 12 and digits.startswith("91") and digits[2] in "6789":
                national = digits[2:]
        else:
            national = _indian_national(digits)
        if national is not None:
            verdict = _cached_verdict(national)
            return verdict if verdict is not None else 910000000000 + int(national)
    return _slow_path(raw)


def _slow_path(raw: str) -> int | PhoneRejection:
    try:
        number = phonenumbers.parse(raw, "IN")
    except phonenumbers.NumberParseException:
        return PhoneRejection.INVALID_NUMBER
    verdict = _classify(number)
    if verdict is not None:
        return verdict
    return int(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:])


def parse_any(raw: str) -> int | None:
    """E.164 digits of any valid number (mobile or not), for registry lookups and opt-outs; None if invalid."""
    result = normalise(raw)  # refuses stray signs before phonenumbers sees the number
    if isinstance(result, int):
        return result
    if result is PhoneRejection.NOT_A_MOBILE:
        try:
            return int(
                phonenumbers.format_number(phonenumbers.parse(raw, "IN"), phonenumbers.PhoneNumberFormat.E164)[1:]
            )
        except phonenumbers.NumberParseException:
            return None
    return None


def to_e164(digits: int) -> str:
    return f"+{digits}"


def comparable_digits(raw: str) -> str:
    """What two spellings of one number share, to match a dialed number to a caller ID: its last ten digits, so the
    0-prefixed national, 91- and +91-prefixed forms of an Indian number compare equal. Any number will do,
    including those ``normalise`` rejects (caller IDs of the 140 and 1600 series)."""
    return re.sub(r"\D", "", raw)[-10:]
