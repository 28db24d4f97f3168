"""Slot value extraction from one transcribed lead turn: one pure function per slot type (numbers and amounts
in ``engine.agent.numbers``).

The input is what faster-whisper makes of 8 kHz telephony speech: punctuation and capitals come and go, numbers
arrive as digits ("5,000", "Rs 2,500/-", "₹1,20,000", "3k") or words ("three thousand five hundred", "five
lakh"), and Indian English / Hinglish answers ("haan", "theek hai", "nahi") are common. Every extractor returns
``None`` when it cannot tell, so the policy can re-ask instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.agent.normalize import normalize_text
from engine.agent.numbers import (
    _TENS,
    _UNITS,
    NumberSpan,
    amount_is_explicit,
    extract_amount_inr,
    extract_number,
    find_numbers,
)
from engine.agent.numbers import small_number as _small_number

__all__ = [
    "IST",
    "SLOT_TYPES",
    "NumberSpan",
    "amount_is_explicit",
    "extract",
    "extract_amount_inr",
    "extract_choice",
    "extract_number",
    "extract_text",
    "extract_when",
    "extract_yes_no",
    "find_numbers",
    "is_unsure",
    "normalize_text",
]

IST = ZoneInfo("Asia/Kolkata")
SLOT_TYPES = ("yes_no", "number", "amount_inr", "choice", "when", "text")


def _contains(pattern: str, text: str) -> bool:
    return re.search(rf"(?<![a-z0-9']){pattern}(?![a-z0-9'])", text) is not None


# -- yes / no --------------------------------------------------------------------------------------------
_YES = [
    "yes", "yeah", "yea", "yep", "yup", "ya", "yah", "yess", "sure", "of course", "certainly", "correct",
    "right", "okay", "ok", "alright", "all right", "haan", "haa", "han", "ha ji", "haanji", "haan ji", "ji",
    "ji haan", "theek hai", "thik hai", "theek", "thik", "bilkul", "absolutely", "definitely", "i am", "i do",
    "i have", "i will", "i would", "go ahead", "tell me", "speaking", "sounds good", "why not", "indeed",
    "that's right", "that is right", "affirmative", "interested", "i own", "we own", "own it", "it is",
    "please do", "please go ahead", "i think so", "would love", "i'd like", "i would like", "go on",
    "ha", "hanji", "haa ji", "ji ha", "ji haa", "haan haan", "haan hai", "sahi hai", "sahi", "zaroor", "zarur",
    "jaroor", "jarur", "chalega", "hai na", "kyun nahi", "kyon nahi", "kyu nahi", "no problem", "koi problem nahi",
    "koi dikkat nahi",
]  # fmt: skip
_NO = [
    "no", "nope", "nah", "nahi", "nahin", "nai", "na", "not really", "not at all", "never", "i don't",
    "i do not", "i am not", "i'm not", "i have not", "i haven't", "don't think so", "do not think so",
    "negative", "not interested", "of course not", "certainly not", "absolutely not", "definitely not",
    "i won't", "i will not", "i wouldn't", "i would not", "it is not", "it's not", "it isn't", "not now",
    "we don't", "don't have", "do not have", "doesn't", "does not", "not yet", "rented", "rent", "renting",
    "tenant", "not mine",
    "nako", "nhi", "nehi", "nahee", "naa", "ji nahi", "ji nahin", "nahi ji", "nahi chahiye", "mat karo",
    "mat karna", "mat kijiye", "bilkul nahi", "bilkul nahin", "theek nahi", "thik nahi", "sahi nahi",
    "zaroorat nahi", "zarurat nahi", "interest nahi", "interested nahi", "kiraye", "kiraya",
]  # fmt: skip
_UNSURE = [
    "i'm not sure", "i am not sure", "i don't know", "i do not know", "don't know", "do not know", "not sure",
    "maybe", "no idea", "can't say",
    "cannot say", "perhaps",
    "pata nahi", "pata nahin", "nahi pata", "nahin pata", "maloom nahi", "malum nahi", "shayad", "kya pata",
    "samajh nahi", "samajh nahin", "samjh nahi", "suna nahi", "sunai nahi", "keh nahi sakta", "keh nahi sakti",
    "abhi nahi", "abhi nahin",
]  # fmt: skip


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    alts = sorted({re.escape(p) for p in phrases}, key=len, reverse=True)
    return re.compile(rf"(?<![a-z0-9'])(?:{'|'.join(alts)})(?![a-z0-9'])")


_YES_NO_RE = _phrase_pattern(_YES + _NO + _UNSURE)
_YES_SET, _NO_SET, _UNSURE_SET = set(_YES), set(_NO), set(_UNSURE)


def extract_yes_no(text: str, yes_words: Sequence[str] = (), no_words: Sequence[str] = ()) -> bool | None:
    """True / False from the first clear yes or no cue ("Yes, I am.", "Nope", "Haan", "nahi"); else None.

    ``yes_words`` / ``no_words`` are a question's own synonyms (e.g. "rented" for "do you own your home?")."""
    norm = normalize_text(text)
    extra_yes = {normalize_text(w) for w in yes_words}
    extra_no = {normalize_text(w) for w in no_words}
    pattern = (
        _YES_NO_RE if not (extra_yes or extra_no) else _phrase_pattern([*_YES, *_NO, *_UNSURE, *extra_yes, *extra_no])
    )
    for m in pattern.finditer(norm):
        phrase = m.group(0)
        if phrase in extra_no:
            return False
        if phrase in extra_yes:
            return True
        if phrase in _UNSURE_SET:
            return None
        if phrase in _NO_SET:
            return False
        if phrase in _YES_SET:
            return True
    return None


_UNSURE_RE = _phrase_pattern(_UNSURE)


def is_unsure(text: str) -> bool:
    """The lead says they do not know ("not sure", "no idea", "pata nahi"): a reply, though not an answer."""
    return _UNSURE_RE.search(normalize_text(text)) is not None


# -- choice ----------------------------------------------------------------------------------------------
def extract_choice(text: str, options: Mapping[str, Sequence[str]]) -> str | None:
    """The one option whose name or synonym the lead said; None when none or several (after "not X") match."""
    norm = normalize_text(text)
    found: dict[str, int] = {}
    negated: set[str] = set()
    for key, synonyms in options.items():
        for phrase in {normalize_text(key.replace("_", " ")), *(normalize_text(s) for s in synonyms)}:
            if not phrase:
                continue
            for m in re.finditer(rf"(?<![a-z0-9']){re.escape(phrase)}(?![a-z0-9'])", norm):
                before = norm[: m.start()].split()[-2:]
                if any(w in ("not", "no", "isn't", "nahi", "never") for w in before):
                    negated.add(key)
                else:
                    found[key] = min(found.get(key, m.start()), m.start())
    keys = [k for k in found if k not in negated] or list(found)
    if len(keys) == 1:
        return keys[0]
    return None


# -- when ------------------------------------------------------------------------------------------------
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_PARTS_OF_DAY = {"morning": 10, "afternoon": 14, "noon": 12, "lunch": 13, "evening": 18, "night": 20,
                 "tonight": 20}  # fmt: skip
# Hinglish time words as Whisper spells them: "kal shaam 5 baje" = tomorrow evening at 5.
_HINGLISH_TIME = {"kal": "tomorrow", "parso": "day after tomorrow", "parson": "day after tomorrow",
                  "parsoon": "day after tomorrow", "shaam": "evening", "sham": "evening", "subah": "morning",
                  "subha": "morning", "savere": "morning", "raat": "night", "dopahar": "afternoon",
                  "dopehar": "afternoon", "aaj": "today", "baje": "o'clock", "bajey": "o'clock", "ghante": "hours",
                  "ghanta": "hour", "ghanton": "hours", "din": "days", "agle hafte": "next week",
                  "agle week": "next week", "somvaar": "monday", "somvar": "monday", "somwar": "monday",
                  "somwaar": "monday", "mangalvaar": "tuesday", "mangalvar": "tuesday", "mangalwar": "tuesday",
                  "budhvaar": "wednesday", "budhvar": "wednesday", "budhwar": "wednesday", "guruvaar": "thursday",
                  "guruvar": "thursday", "guruwar": "thursday", "veervaar": "thursday", "shukravaar": "friday",
                  "shukravar": "friday", "shukrawar": "friday", "shanivaar": "saturday", "shanivar": "saturday",
                  "shaniwar": "saturday", "ravivaar": "sunday", "ravivar": "sunday", "raviwar": "sunday",
                  "itvaar": "sunday", "itwar": "sunday"}  # fmt: skip
_HINGLISH_TIME_RE = re.compile(rf"(?<![a-z'])(?:{'|'.join(_HINGLISH_TIME)})(?![a-z'])")
# A Hindi count before a time unit ("do ghante baad" = in two hours), as minutes: only here, next to the unit,
# is "do" a number rather than the English verb.
_HINDI_COUNT = {"ek": 1, "do": 2, "teen": 3, "char": 4, "chaar": 4, "paanch": 5, "panch": 5, "das": 10,
                "pandrah": 15, "bees": 20, "tees": 30, "aadha": 0.5, "aadhe": 0.5, "adha": 0.5, "adhe": 0.5,
                "dedh": 1.5, "dhai": 2.5, "dhaai": 2.5}  # fmt: skip
_HINDI_UNIT_MINUTES = {"ghante": 60, "ghanta": 60, "ghanton": 60, "minute": 1, "minutes": 1, "min": 1, "mins": 1,
                       "mint": 1, "din": 1440}  # fmt: skip
_HINDI_COUNT_RE = re.compile(rf"(?<![a-z'])({'|'.join(_HINDI_COUNT)}) ({'|'.join(_HINDI_UNIT_MINUTES)})(?![a-z'])")


def _hinglish_time(norm: str) -> str:
    norm = _HINDI_COUNT_RE.sub(
        lambda m: f"{round(_HINDI_COUNT[m.group(1)] * _HINDI_UNIT_MINUTES[m.group(2)])} minutes", norm
    )
    return _HINGLISH_TIME_RE.sub(lambda m: _HINGLISH_TIME[m.group(0)], norm)


_DEFAULT_HOUR = 11  # a day without a time: late morning, inside the 09:00-21:00 calling window


def _relative_offset(tokens: list[str]) -> timedelta | None:
    """ "in 30 minutes", "after two hours", "half an hour", "after a couple of hours", "in 2 days"."""
    units = {"minute": 1, "minutes": 1, "mins": 1, "min": 1, "hour": 60, "hours": 60, "hrs": 60, "hr": 60,
             "day": 1440, "days": 1440}  # fmt: skip
    for i, tok in enumerate(tokens):
        if tok not in units or i == 0:
            continue
        j = i - 1
        while j > 0 and tokens[j] in ("of", "more", "or"):
            j -= 1
        amount: float | None
        if tokens[j] in ("a", "an"):
            amount = 0.5 if j > 0 and tokens[j - 1] == "half" else 1
        else:
            amount = _small_number(tokens[j])
            if amount is not None and amount < 10 and j > 0 and tokens[j - 1] in _TENS:
                amount += _TENS[tokens[j - 1]]
        if amount is None:
            continue
        return timedelta(minutes=amount * units[tok])
    return None


def _clock_time(norm: str) -> tuple[int, int, str | None] | None:
    """Hour, minute and am/pm from "5 pm", "5:30", "5.30 pm", "at 5", "5 o'clock", "17:00", "five thirty"."""
    m = re.search(r"(?<![\d.])(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|o'clock|oclock)?(?![\d.])", norm)
    words = re.search(
        rf"\b(?:at|by|around|after)\s+({'|'.join(_UNITS)})(?:\s+(thirty|fifteen|forty five))?"
        rf"(?:\s*(am|pm|o'clock))?\b",
        norm,
    )
    if m and (m.group(2) or m.group(3) or re.search(rf"\b(at|by|around|after)\s+{m.group(1)}\b", norm)):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        suffix = m.group(3) if m.group(3) in ("am", "pm") else None
    elif words:
        hour = _UNITS[words.group(1)]
        minute = {"thirty": 30, "fifteen": 15, "forty five": 45}.get(words.group(2) or "", 0)
        suffix = words.group(3) if words.group(3) in ("am", "pm") else None
    else:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute, suffix


def extract_when(text: str, now: datetime) -> datetime | None:
    """An aware Asia/Kolkata datetime for a callback time said relative to ``now`` (the call time), or None.

    A bare hour from 1 to 7 means p.m. (nobody asks for a sales call at 5 a.m.); a day without a time means
    11:00; "next week" means next Monday; a time already past today means tomorrow."""
    norm = _hinglish_time(normalize_text(text).replace("-", " "))
    tokens = norm.split()
    local = now.astimezone(IST) if now.tzinfo else now.replace(tzinfo=IST)

    offset = _relative_offset(tokens)
    if offset is not None:
        return (local + offset).replace(second=0, microsecond=0)

    day = _day(norm, local)
    part = next((h for p, h in _PARTS_OF_DAY.items() if _contains(p, norm)), None)
    clock = _clock_time(norm)
    if clock is None and part is None and day is None:
        return None
    hour, minute = _hour_minute(clock, part)

    base = day or local
    result = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if day is None and result <= local:
        result += timedelta(days=1)
    return result


def _day(norm: str, local: datetime) -> datetime | None:
    """The day the lead named ("tomorrow", "next week", "on Friday", "today"), at the current time of day."""
    if _contains("day after tomorrow", norm):
        return local + timedelta(days=2)
    if _contains("tomorrow", norm) or _contains("tommorow", norm) or _contains("tomorow", norm):
        return local + timedelta(days=1)
    if _contains("next week", norm):
        return local + timedelta(days=7 - local.weekday())
    if _contains("weekend", norm):
        return local + timedelta(days=(5 - local.weekday()) % 7 or 7)
    for idx, name in enumerate(_WEEKDAYS):
        if _contains(name, norm):
            return local + timedelta(days=(idx - local.weekday()) % 7 or 7)
    if _contains("today", norm) or _contains("tonight", norm) or _contains("this", norm):
        return local
    return None


def _hour_minute(clock: tuple[int, int, str | None] | None, part: int | None) -> tuple[int, int]:
    """The 24-hour time from a clock time and the part of the day (its hour) the lead named."""
    if clock is None:
        return (part if part is not None else _DEFAULT_HOUR), 0
    hour, minute, suffix = clock
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    elif suffix is None and ((part is not None and part >= 12) or 1 <= hour <= 7) and hour < 12:
        hour += 12
    return hour, minute


# -- text and dispatch -----------------------------------------------------------------------------------
def extract_text(text: str) -> str | None:
    cleaned = re.sub(r"\s+", " ", text).strip()
    return cleaned if re.search(r"[A-Za-z0-9]", cleaned) else None


def extract(
    slot_type: str,
    text: str,
    *,
    now: datetime | None = None,
    options: Mapping[str, Sequence[str]] | None = None,
    yes_words: Sequence[str] = (),
    no_words: Sequence[str] = (),
) -> Any:
    """The value of a ``slot_type`` slot in ``text`` (``when`` values as aware datetimes), or None."""
    match slot_type:
        case "yes_no":
            return extract_yes_no(text, yes_words, no_words)
        case "number":
            return extract_number(text)
        case "amount_inr":
            return extract_amount_inr(text)
        case "choice":
            return extract_choice(text, options or {})
        case "when":
            return extract_when(text, now or datetime.now(IST))
        case "text":
            return extract_text(text)
    raise ValueError(f"unknown slot type {slot_type!r}")
