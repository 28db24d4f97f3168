"""Phone numbers of a whole CSV batch at once: the common Indian mobile forms, as ``phones.normalise`` reads them.

A field of digits, at most one leading ``+`` and the separators ``normalise`` strips (`` -().\\t/``; a dash only
between digits) is one of ``normalise``'s fast-path forms when its digits make a 10-digit national number starting
6-9 (bare, ``0``-, ``91``-, ``+91``- or ``0091``-prefixed); its verdict then depends only on the five-digit
prefix, looked up in a table filled from ``phones.prefix_verdict``. Any other field is left undecided, for
``normalise`` itself.
"""

from __future__ import annotations

import threading
from typing import Final

import numpy as np
import numpy.typing as npt

from control_api.phones import PhoneRejection, prefix_verdict

MOBILE: Final = 0
INVALID: Final = 1
NOT_MOBILE: Final = 2
UNDECIDED: Final = 3

MAX_FIELD = 18  # longer fields are never a common form once separators go; normalise decides them
_INDIA: Final = 910_000_000_000
_SEPARATOR: Final = np.zeros(256, dtype=bool)
_SEPARATOR[list(b" -().\t/")] = True  # what normalise strips
_CODES: Final = {None: MOBILE, PhoneRejection.INVALID_NUMBER: INVALID, PhoneRejection.NOT_A_MOBILE: NOT_MOBILE}

# Verdict per five-digit national prefix, -1 until asked for; filled on demand so a cold process pays only for
# the prefixes its uploads use.
_table = np.full(100_000, -1, dtype=np.int8)
_table_lock = threading.Lock()


def _verdicts(prefixes: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
    codes = _table[prefixes]
    if (codes < 0).any():
        with _table_lock:
            for p in np.unique(prefixes[codes < 0]).tolist():
                _table[p] = _CODES[prefix_verdict(p)]
        codes = _table[prefixes]
    return codes


def classify(
    buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """(verdict code, E.164 digits where MOBILE) of each field ``buf[starts[i]:ends[i]]``."""
    n = starts.size
    lengths = ends - starts
    value = np.zeros(n, dtype=np.int64)
    n_digits = np.zeros(n, dtype=np.int64)
    n_plus = np.zeros(n, dtype=np.int64)
    leading_plus = np.zeros(n, dtype=bool)
    stray_dash = np.zeros(n, dtype=bool)  # a dash before the first digit: a sign, for normalise to refuse
    dash_after_digit = np.zeros(n, dtype=bool)  # a dash after the latest digit (at the end: after the last)
    allowed = lengths <= MAX_FIELD
    last = buf.size - 1
    # Column by column (Horner's rule for the value): a few vector operations per character position.
    for j in range(MAX_FIELD):
        inside = lengths > j
        if not inside.any():
            break
        c = np.where(inside, buf[np.minimum(starts + j, last)], np.uint8(32))
        d = c - np.uint8(48)
        digit = d < 10
        plus = c == 43
        dash = c == 45
        stray_dash |= dash & (n_digits == 0)
        dash_after_digit = (dash_after_digit | dash) & ~digit
        value = np.where(digit, value * 10 + d, value)
        leading_plus |= plus & (n_digits == 0) & (n_plus == 0)
        n_digits += digit
        n_plus += plus
        allowed &= digit | plus | _SEPARATOR[c]
    leading_plus &= n_plus == 1
    allowed &= ~(stray_dash | dash_after_digit)
    simple = allowed & ((n_plus == 0) | leading_plus) & (n_digits >= 10) & (n_digits <= 14)

    head = value // 10**10
    national = np.full(n, -1, dtype=np.int64)
    bare = simple & ~leading_plus
    national = np.where(bare & (n_digits == 10), value, national)
    national = np.where(bare & (n_digits == 11) & (head == 0), value, national)  # 0-prefixed
    national = np.where(simple & (n_digits == 12) & (head == 91), value % 10**10, national)  # 91 / +91
    national = np.where(bare & (n_digits == 14) & (head == 91), value % 10**10, national)  # 0091
    decided = national >= 6 * 10**9

    codes = np.full(n, UNDECIDED, dtype=np.int8)
    phones = np.zeros(n, dtype=np.int64)
    if decided.any():
        nat = national[decided]
        verdict = _verdicts(nat // 100_000)
        codes[decided] = verdict
        phones[decided] = np.where(verdict == MOBILE, _INDIA + nat, 0)
    return codes, phones
