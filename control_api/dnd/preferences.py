"""Pure rules of a DND preference: category bitmasks, time bands, and the verdict for one dial."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as pn_timezone

ALL_CATEGORIES = range(1, 9)
_BAND = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


class Source(StrEnum):
    REGISTRY_IMPORT = "registry_import"
    CALL_OPT_OUT = "call_opt_out"
    API_OPT_OUT = "api_opt_out"
    DATA_PRINCIPAL_REQUEST = "data_principal_request"


class BlockReason(StrEnum):
    FULLY_BLOCKED = "fully_blocked"  # registry preference 0
    SUPPRESSED = "suppressed"  # the client's own suppression list (opt-out, withdrawal)
    CATEGORY_NOT_ACCEPTED = "category_not_accepted"
    OUTSIDE_TIME_BAND = "outside_time_band"


def mask_of(categories: list[int] | set[int] | tuple[int, ...]) -> int:
    mask = 0
    for c in categories:
        if c not in ALL_CATEGORIES:
            raise ValueError(f"category {c} is not a TRAI category 1-8")
        mask |= 1 << (c - 1)
    return mask


def categories_of(mask: int) -> list[int]:
    return [c for c in ALL_CATEGORIES if mask & (1 << (c - 1))]


def parse_band(text: str) -> dict[str, str]:
    """``"10:00-13:00"`` -> ``{"start": "10:00", "end": "13:00"}``; ValueError when not a band."""
    m = _BAND.match(text.strip())
    if not m or (m.group(3) == "24" and m.group(4) != "00"):
        raise ValueError(f"time band {text!r} is not HH:MM-HH:MM")
    start, end = f"{m.group(1)}:{m.group(2)}", f"{m.group(3)}:{m.group(4)}"
    if start >= end:
        raise ValueError(f"time band {text!r} ends before it starts")
    return {"start": start, "end": end}


@lru_cache(maxsize=1024)
def zone_of(e164_digits: int) -> ZoneInfo:
    """The lead's time zone from the number (India has one: Asia/Kolkata)."""
    if str(e164_digits).startswith("91"):
        return ZoneInfo("Asia/Kolkata")
    try:
        zones = pn_timezone.time_zones_for_number(phonenumbers.parse(f"+{e164_digits}"))
        return ZoneInfo(zones[0]) if zones and zones[0] != "Etc/Unknown" else ZoneInfo("UTC")
    except (phonenumbers.NumberParseException, KeyError, ValueError):
        return ZoneInfo("UTC")


def in_bands(bands: list[dict[str, str]], local: time) -> bool:
    hhmm = local.strftime("%H:%M")
    return any(b["start"] <= hhmm < b["end"] for b in bands)


@dataclass(frozen=True)
class Preference:
    scope: str  # "registry" or the account id
    blocked_all: bool
    categories: int
    time_bands: list[dict[str, str]] | None


def judge(pref: Preference, category: int, phone: int, at: datetime) -> BlockReason | None:
    """Why ``pref`` forbids a call of ``category`` at ``at``, or None when it allows it."""
    if pref.blocked_all:
        return BlockReason.FULLY_BLOCKED if pref.scope == "registry" else BlockReason.SUPPRESSED
    if not pref.categories & (1 << (category - 1)):
        return BlockReason.CATEGORY_NOT_ACCEPTED
    if pref.time_bands and not in_bands(pref.time_bands, at.astimezone(zone_of(phone)).time()):
        return BlockReason.OUTSIDE_TIME_BAND
    return None
