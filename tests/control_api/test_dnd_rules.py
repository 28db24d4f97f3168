"""Pure DND preference rules and the registry file parser."""

from __future__ import annotations

from datetime import UTC, datetime

from control_api.dnd.preferences import BlockReason, Preference, categories_of, judge, mask_of, parse_band
from control_api.dnd.registry_file import RegistryFileParser

PHONE = 919876543210
NOON_IST = datetime(2026, 6, 1, 6, 30, tzinfo=UTC)  # 12:00 in Asia/Kolkata


def test_category_mask_round_trip() -> None:
    assert categories_of(mask_of([1, 5, 8])) == [1, 5, 8]


def test_fully_blocked_blocks_every_category() -> None:
    pref = Preference("registry", blocked_all=True, categories=0, time_bands=None)
    assert all(judge(pref, c, PHONE, NOON_IST) is BlockReason.FULLY_BLOCKED for c in range(1, 9))


def test_partial_block_allows_only_accepted_categories() -> None:
    pref = Preference("registry", blocked_all=False, categories=mask_of([5]), time_bands=None)
    assert judge(pref, 5, PHONE, NOON_IST) is None
    assert judge(pref, 2, PHONE, NOON_IST) is BlockReason.CATEGORY_NOT_ACCEPTED


def test_time_bands_are_in_the_leads_local_time() -> None:
    pref = Preference("registry", False, mask_of([5]), [parse_band("10:00-13:00")])
    assert judge(pref, 5, PHONE, NOON_IST) is None
    evening_ist = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 18:30 IST
    assert judge(pref, 5, PHONE, evening_ist) is BlockReason.OUTSIDE_TIME_BAND


def test_registry_file_parser() -> None:
    parser = RegistryFileParser()
    data = (
        b"phone,preference,time_bands\n"
        b"9876543210,0\n"
        b"+91 98765 43211,1|5,10:00-13:00;17:00-20:00\n"
        b"9876543212,9\n"
        b"junk,0\n"
        b"9876543213\n"
        b"9876543214,2,25:00-26:00\n"
    )
    rows = parser.feed(data[:20]) + parser.feed(data[20:]) + parser.feed(b"", final=True)
    assert rows == [
        (2, 919876543210, True, 0, None),
        (
            3,
            919876543211,
            False,
            mask_of([1, 5]),
            [{"start": "10:00", "end": "13:00"}, {"start": "17:00", "end": "20:00"}],
        ),
    ]
    assert list(parser.rejected_lines) == [4, 6, 7]
    assert list(parser.invalid_lines) == [5]
