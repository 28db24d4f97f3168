"""The one normalisation every text extractor starts from: what faster-whisper writes, made comparable."""

from __future__ import annotations

import re

from engine.agent.devanagari import romanize

__all__ = ["normalize_text"]


def normalize_text(text: str) -> str:
    """Lower-case words separated by single spaces; digits keep their decimal point and ``h:mm`` colon.

    Devanagari is romanized first, so one set of Hinglish patterns serves both scripts."""
    s = romanize(text).lower().replace("’", "'").replace("‘", "'").replace("₹", " rs ")
    s = re.sub(r"/-", " ", s)
    s = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", s)  # "p.m." -> "pm"
    s = re.sub(r"(?<=\d),(?=\d)", "", s)  # 1,20,000 / 5,000 -> plain digits
    s = re.sub(r"\brs\.", "rs ", s)
    s = re.sub(r"(?<=\d)\s*-\s*(?=\d)", " to ", s)  # 2000-3000
    s = re.sub(r"(?<=\d)(?=[a-z])", " ", s)  # 3k, 5000rs, 5pm, 1.5lakh
    s = re.sub(r"(?<=[a-z])(?=\d)", " ", s)  # rs3000
    s = re.sub(r"(?<!\d)[.:]|[.:](?!\d)", " ", s)  # keep only 2.5 and 5:30
    s = re.sub(r"[^a-z0-9.:' ]+", " ", s)
    s = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", s)  # quotes, not the apostrophe in don't
    return re.sub(r"\s+", " ", s).strip()
