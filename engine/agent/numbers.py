"""Numbers and rupee amounts in one transcribed lead turn, as Indian leads say them and Whisper writes them.

English, Hinglish and Hindi in one grammar (engine/agent/scripts/README.md, "Numbers and amounts"): digits with
Indian or Western grouping ("2,50,000"), suffixes ("250k", "2.5L", "1.2 cr"), English words ("two lakh fifty
thousand", "lakh and a half"), romanized Hindi ("do lakh pachaas hazaar", "dedh lakh", "saade teen lakh") and
Devanagari ("ढाई लाख", "५० हज़ार").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.agent.hindi_numbers import AMBIGUOUS_WORDS, FRACTION_WORDS, HINDI_WORDS, PREFIX_OFFSETS, devanagari_to_latin
from engine.agent.normalize import normalize_text

__all__ = [
    "NumberSpan",
    "amount_is_explicit",
    "extract_amount_inr",
    "extract_number",
    "find_numbers",
    "small_number",
]

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_MULTIPLIERS = {
    "thousand": 1_000, "thousands": 1_000, "k": 1_000, "grand": 1_000,
    "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000, "lack": 100_000, "lakhs'": 100_000,
    "laakh": 100_000, "laakhs": 100_000, "l": 100_000, "lpa": 100_000,
    "crore": 10_000_000, "crores": 10_000_000, "cr": 10_000_000, "crs": 10_000_000, "karod": 10_000_000,
    "karor": 10_000_000, "karode": 10_000_000, "karore": 10_000_000,
    "million": 1_000_000, "millions": 1_000_000,
    "hazaar": 1_000, "hazar": 1_000, "hajar": 1_000, "hajaar": 1_000, "hazzar": 1_000,
}  # fmt: skip
# Scale words that are not a number on their own ("Grand.", a stray "L"): only after a number.
_NOT_ALONE = frozenset({"k", "cr", "crs", "grand", "l", "lpa"})
_HUNDREDS = frozenset({"hundred", "hundreds", "sau"})
_CURRENCY = frozenset({"rs", "rupees", "rupee", "inr", "bucks", "rupaye", "rupay", "rupya", "rupaiye", "rupaiya",
                       "rupiya", "rupiye", "rupaya", "rupai"})  # fmt: skip
# What may follow a Hindi number word that is also an English or Hinglish word ("do lakh", not "I do").
_COUNTED = frozenset(_MULTIPLIERS) | _HUNDREDS | _CURRENCY | {
    "saal", "sal", "mahine", "mahina", "ghante", "ghanta", "din", "years", "year", "months", "month",
}  # fmt: skip
_RANGE_WORDS = ("to", "or", "-", "ya", "se")  # "2 to 3 lakh", "do ya teen lakh", "paanch se saat hazaar"
_DIGITS_RE = re.compile(r"^\d+(?:\.\d+)?$")
# Ten thousand crore: far above any lead's income, bill or premium; an amount beyond it was mis-heard.
_MAX_PLAUSIBLE_INR = 100_000_000_000


@dataclass(frozen=True)
class NumberSpan:
    """One number phrase found in normalised text: token indices ``start`` (inclusive) to ``end`` (exclusive)."""

    value: float
    start: int
    end: int
    multiplier: int = 0  # the last scale word in the phrase (1000, 100000, ...), 0 when none

    def as_number(self) -> int | float:
        return int(self.value) if float(self.value).is_integer() else self.value


def _word_value(tok: str) -> tuple[float, str] | None:
    if _DIGITS_RE.match(tok):
        return float(tok), "digits"
    if tok in _UNITS:
        return float(_UNITS[tok]), "unit"
    if tok in _TENS:
        return float(_TENS[tok]), "tens"
    return None


def _token_value(
    tokens: Sequence[str], i: int, *, lenient: bool = False, in_range: bool = True
) -> tuple[float, str] | None:
    """The value of the number word at ``i``: digits, English, or a Hindi word 1-99 ("whole": nothing but a
    scale word may follow it). An ambiguous Hindi word counts only before a counted word, unless ``lenient``."""
    if i >= len(tokens):
        return None
    tok = tokens[i]
    wv = _word_value(tok)
    if wv is not None:
        return wv
    if tok in HINDI_WORDS:
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        # "do ya teen lakh": a range of counted numbers counts too
        ranged = in_range and nxt in _RANGE_WORDS and _token_value(tokens, i + 2, in_range=False) is not None
        if lenient or tok not in AMBIGUOUS_WORDS or nxt in _COUNTED or ranged:
            return float(HINDI_WORDS[tok]), "whole"
    return None


def _scales_next(tokens: Sequence[str], i: int) -> bool:
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    return nxt in _MULTIPLIERS or nxt in _HUNDREDS


def find_numbers(tokens: Sequence[str]) -> list[NumberSpan]:
    """Every number phrase in ``tokens`` ("5 lakh", "two and a half lakh", "3 thousand 500", "2.5 crore")."""
    spans: list[NumberSpan] = []
    i, n = 0, len(tokens)
    while i < n:
        if not _starts_number(tokens, i):
            i += 1
            continue
        start = i
        phrase = _Phrase(tokens, start)
        while i < n and not phrase.done:
            i = phrase.read(i)
        end = i
        while end > start and tokens[end - 1] in ("and", "a", "an"):
            end -= 1
        if end > start:
            spans.append(NumberSpan(phrase.total + phrase.current, start, end, phrase.multiplier))
        i = max(end, start + 1)
    return spans


class _Phrase:
    """One number phrase read token by token from ``start``: ``read`` takes the token at an index and returns the
    index of the next one to read, or (with ``done`` set) the index where the phrase ends."""

    def __init__(self, tokens: Sequence[str], start: int) -> None:
        self.tokens = tokens
        self.total = 0.0
        self.current = 0.0
        self.last = ""  # kind of the previous consumed token
        self.multiplier = 0
        self.mark = start  # where the part after the last scale word began
        self.before_and = ""  # kind of the token before the last "and"
        self.done = False

    def read(self, i: int) -> int:
        tok = self.tokens[i]
        # "ek sau do" is 102: after "sau" or "aur" a Hindi word is a number even where it is also an English word
        wv = _token_value(self.tokens, i, lenient=i > 0 and self.tokens[i - 1] in ("sau", "aur"))
        if wv is not None:
            return self._value(*wv, i)
        if tok in _HUNDREDS:
            self.current = (self.current or 1) * 100
            self.last = "hundred"
            return i + 1
        if tok in _MULTIPLIERS and (self.last != "" or tok not in _NOT_ALONE):
            return self._scale(_MULTIPLIERS[tok], i)
        if tok in FRACTION_WORDS or tok in PREFIX_OFFSETS:
            return self._hindi_fraction(tok, i)
        return self._word(tok, i)

    def _hindi_fraction(self, tok: str, i: int) -> int:
        """ "dedh lakh" (1.5), "dhai hazaar" (2.5), "saade teen lakh" (3.5), "sava lakh" (1.25), "paune do" (1.75)."""
        if self.last not in ("", "mult", "and"):
            return self._stop(i)
        if tok in FRACTION_WORDS:
            if not _scales_next(self.tokens, i):
                return self._stop(i)
            self.current += FRACTION_WORDS[tok]
            self.last = "a"
            return i + 1
        offset = PREFIX_OFFSETS[tok]
        wv = _token_value(self.tokens, i + 1, lenient=True)
        if wv is not None and wv[0] < 100:
            self.current += wv[0] + offset
            self.last = "whole"
            return i + 2
        if _scales_next(self.tokens, i) and offset != 0.5:
            self.current += 1 + offset  # "sava lakh", "paune lakh"; "saade lakh" is not said
            self.last = "a"
            return i + 1
        return self._stop(i)

    def _stop(self, end: int) -> int:
        self.done = True
        return end

    def _value(self, value: float, kind: str, i: int) -> int:
        last = self.last
        fits = last in ("", "mult", "hundred", "and") or (last == "tens" and kind == "unit" and value < 10)
        if last == "mult" and value >= self.multiplier:
            fits = False  # "hazaar. 50,000" is two numbers; "5 lakh 20 thousand" is one
        if not fits:
            return self._stop(i)
        self.current += value
        self.last = kind
        return i + 1

    def _scale(self, scale: int, i: int) -> int:
        if self.multiplier and scale >= self.multiplier:  # "hazaar, 5 hazaar": a second number starts at `mark`
            self.current = 0
            return self._stop(self.mark)
        self.total += (self.current or 1) * scale
        self.multiplier = scale
        self.current = 0
        self.last = "mult"
        self.mark = i + 1
        return i + 1

    def _word(self, tok: str, i: int) -> int:
        """The words that join or halve numbers: "a", "an", "half", "quarter", "and", "point"."""
        last = self.last
        nxt = self.tokens[i + 1] if i + 1 < len(self.tokens) else ""
        if tok in ("a", "an") and nxt in _PARTS and last == "and":
            return i + 1  # "one and a half lakh"
        if tok in ("a", "an") and last == "" and (nxt in _MULTIPLIERS or nxt in _HUNDREDS):
            self.current = 1  # "a lakh", "a hundred"
            self.last = "a"
            return i + 1
        if tok in ("a", "an") and last == "" and nxt in _PARTS and _scale_after_part(self.tokens, i + 1) is not None:
            return i + 1  # "a quarter lakh": the part word reads the rest
        scale_at = _scale_after_part(self.tokens, i) if tok in _PARTS and last == "" else None
        if scale_at is not None:
            self.current = _PARTS[tok]  # "half lakh", "quarter of a lakh": that part of the scale
            self.last = "a"
            return scale_at
        if tok == "half" and last == "" and nxt in ("a", "an"):
            self.current = 0.5  # "half a lakh"
            self.last = "a"
            return i + 2
        if tok in _PARTS and last == "and":
            if self.before_and == "mult":
                self.total += _PARTS[tok] * self.multiplier  # "lakh and a half": half of the scale
                self.last = "part"
            else:
                self.current += _PARTS[tok]  # "two and a half": half of one, before the scale
                self.last = "unit"
            return i + 1
        if (
            tok in ("and", "aur")
            and last in ("digits", "unit", "tens", "hundred", "mult", "whole")
            and _continues(self.tokens, i + 1)
        ):
            self.before_and = last
            self.last = "and"
            return i + 1
        if (
            tok == "point"
            and last in ("digits", "unit", "tens", "whole")
            and (_UNITS.get(nxt, 10) < 10 or re.fullmatch(r"\d", nxt))
        ):
            self.current += (_UNITS[nxt] if nxt in _UNITS else int(nxt)) / 10
            self.last = "unit"
            return i + 2
        return self._stop(i)


_PARTS = {"half": 0.5, "quarter": 0.25}


def _starts_number(tokens: Sequence[str], i: int) -> bool:
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if _token_value(tokens, i) is not None:
        return True
    if tok in ("a", "an") and (nxt in _MULTIPLIERS or nxt in _HUNDREDS):
        return True
    if tok in _HUNDREDS or (tok in _MULTIPLIERS and tok not in _NOT_ALONE):
        return True  # "thousand rupees", "lakh" said alone
    if tok in FRACTION_WORDS:
        return _scales_next(tokens, i)
    if tok in PREFIX_OFFSETS:
        return _token_value(tokens, i + 1, lenient=True) is not None or _scales_next(tokens, i)
    if tok in ("a", "an") and nxt in _PARTS:
        return _scale_after_part(tokens, i + 1) is not None  # "a quarter lakh"
    return (tok == "half" and nxt in ("a", "an")) or (tok in _PARTS and _scale_after_part(tokens, i) is not None)


def _scale_after_part(tokens: Sequence[str], i: int) -> int | None:
    """Where the scale word of "half lakh", "half a lakh" or "quarter of a lakh" is, for the part word at ``i``."""
    j = i + 1
    while j < len(tokens) and tokens[j] in ("of", "a", "an"):
        j += 1
    if j < len(tokens) and (tokens[j] in _MULTIPLIERS or tokens[j] in _HUNDREDS) and tokens[j] not in _NOT_ALONE:
        return j
    return None


def _continues(tokens: Sequence[str], i: int) -> bool:
    if i >= len(tokens):
        return False
    tok = tokens[i]
    return (
        _token_value(tokens, i) is not None
        or tok in ("a", "an", "half", "quarter")
        or tok in FRACTION_WORDS
        or tok in PREFIX_OFFSETS
    )


def _merge_ranges(tokens: Sequence[str], spans: list[NumberSpan]) -> list[NumberSpan]:
    """ "2 to 3 thousand" / "2000-3000" / "two or three lakh" -> one span at the middle of the range."""
    out: list[NumberSpan] = []
    for span in spans:
        prev = out[-1] if out else None
        if prev is not None and span.start == prev.end + 1 and tokens[prev.end] in _RANGE_WORDS and prev.value > 0:
            low = prev.value
            if not prev.multiplier and span.multiplier and low * span.multiplier <= span.value:
                low *= span.multiplier
            if low <= span.value:
                out[-1] = NumberSpan((low + span.value) / 2, prev.start, span.end, span.multiplier)
                continue
        out.append(span)
    return out


# Fractions Whisper writes in digits: "2 1/2 lakh", "2½ lakh", "1/2 lakh". Only halves and quarters; a bare
# "3/4" is as likely a date, so without a whole number before it, it counts only before a scale word.
_DIGIT_FRACTIONS = {"1/2": ".5", "1/4": ".25", "3/4": ".75", "½": ".5", "¼": ".25", "¾": ".75"}
_MIXED_FRACTION_RE = re.compile(r"(?<![\d/.])(\d+)(?:\s+([13]/[24])|\s*([½¼¾]))(?![\d/])")
_BARE_FRACTION_RE = re.compile(
    r"(?<![\d/.])([13]/[24]|[½¼¾])(?=\s*(?:" + "|".join(sorted(_MULTIPLIERS, key=len, reverse=True)) + r")\b)",
    re.IGNORECASE,
)


def _digit_fractions(text: str) -> str:
    """ "2 1/2 lakh" -> "2.5 lakh", "½ lakh" -> "0.5 lakh"."""
    text = _MIXED_FRACTION_RE.sub(lambda m: m[1] + _DIGIT_FRACTIONS[m[2] or m[3]], text)
    return _BARE_FRACTION_RE.sub(lambda m: "0" + _DIGIT_FRACTIONS[m[1]], text)


def _tokens(text: str) -> list[str]:
    return normalize_text(devanagari_to_latin(_digit_fractions(text))).replace("-", " - ").split()


def extract_number(text: str) -> int | float | None:
    """The first number phrase: "5", "five years", "2.5", "twenty five", "1,200", "paanch", "साढ़े तीन"."""
    tokens = _tokens(text)
    spans = _merge_ranges(tokens, find_numbers(tokens))
    return spans[0].as_number() if spans else None


def extract_amount_inr(text: str) -> int | None:
    """Integer rupees. A phrase next to a currency word wins; otherwise the largest amount mentioned."""
    tokens = _tokens(text)
    spans = _merge_ranges(tokens, find_numbers(tokens))
    if not spans:
        return None

    def has_currency(span: NumberSpan) -> bool:
        before = tokens[span.start - 1] if span.start > 0 else ""
        after = tokens[span.end] if span.end < len(tokens) else ""
        return before in _CURRENCY or after in _CURRENCY

    marked = [s for s in spans if has_currency(s)]
    chosen = marked[0] if marked else max(spans, key=lambda s: s.value)
    if chosen.value > _MAX_PLAUSIBLE_INR:
        return None  # a runaway digit string ("2,000,000,000,000,...") is a mis-transcription, not an answer
    return round(chosen.value)


def amount_is_explicit(text: str) -> bool:
    """Whether the text names money clearly enough to fill an amount slot nobody asked about yet."""
    tokens = _tokens(text)
    named = any(t in _CURRENCY or (t in _MULTIPLIERS and t not in ("l", "lpa")) for t in tokens)
    return named or ((extract_amount_inr(text) or 0) >= 100)


_COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "couple": 2, "few": 3, "several": 3, "half": 0.5}


def small_number(tok: str) -> float | None:
    """A count said in one token ("2", "two", "a", "couple", "few", "half"), for "in 2 hours", "after a few days"."""
    wv = _word_value(tok)
    if wv is not None:
        return wv[0]
    return _COUNT_WORDS.get(tok)
