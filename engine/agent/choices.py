"""Near matches for a choice question's options: the word Whisper wrote is close to an option, not equal to it.

A one-word answer on an 8 kHz line often comes back as a neighbouring word: "self employee" for "self
employed", "concreet" for "concrete", "salary" for "salaried", "businessman" for "business". Exact matching
(:func:`engine.agent.slots.extract_choice`) rightly refuses those; this module finds the option they are close
to, by a light stem, a sound key or a small edit distance, so the policy can ask "Just to confirm, self
employed?" instead of failing the question. A near match is never recorded without that confirmation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from engine.agent.slots import normalize_text

__all__ = ["near_choice", "phonetic_key", "stem"]

# Words around a one-word answer that are not the answer ("umm, it's salary only, ji").
_FILLERS = frozenset(
    {
        "umm", "um", "uh", "uhh", "hmm", "er", "ah", "acha", "achha", "accha", "ji", "haan", "han", "yes", "yeah",
        "ok", "okay", "so", "well", "it's", "its", "it", "is", "i'm", "im", "i", "am", "my", "a", "an", "the", "we",
        "are", "was", "sir", "madam", "maam", "basically", "only", "just", "like", "actually", "main", "mera",
        "meri", "hai", "hoon", "hun", "hu", "se", "ka", "ki", "ke", "kind", "of", "type", "sort",
    }
)  # fmt: skip
_NEGATIONS = frozenset({"not", "no", "nahi", "nahin", "never", "isn't", "don't"})
# Longest first; a suffix is taken off only when at least four letters remain.
_SUFFIXES = ("ment", "men", "man", "ied", "ies", "ing", "ed", "ee", "er", "es", "y", "s", "e")
_MIN_STEM = 4


def stem(word: str) -> str:
    """ "salaried"/"salary" -> "salari", "employed"/"employee"/"employment" -> "employ", "businessman" -> "business"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            base = word[: -len(suffix)]
            return base + "i" if suffix in ("ied", "ies", "y") else base
    return word


def phonetic_key(word: str) -> str:
    """How a word sounds, roughly: consonant skeleton after the first letter ("concreet" = "concrete")."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return ""
    w = w.replace("ph", "f").replace("ck", "k").replace("sh", "s").replace("ee", "i")
    w = w.translate(str.maketrans("cqzw", "ksvv"))
    head, tail = w[0], re.sub(r"[aeiouyh]", "", w[1:])
    return re.sub(r"(.)\1+", r"\1", head + tail)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (the strings are single short answers)."""
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _close(said: Sequence[str], option: Sequence[str]) -> bool:
    """Whether the words said are a near form of the option's words (compared without the spaces between)."""
    a = "".join(stem(w) for w in said)
    b = "".join(stem(w) for w in option)
    shorter = min(len(a), len(b))
    if shorter < _MIN_STEM:
        return False
    if a == b:
        return True
    allowed = 1 if shorter < 8 else 2
    if _distance(a, b) <= allowed:
        return True
    return len(a) >= 5 and phonetic_key("".join(said)) == phonetic_key("".join(option))


def near_choice(text: str, options: Mapping[str, Sequence[str]]) -> str | None:
    """The one option (name) a short answer is a near form of, or None when none or several are."""
    tokens = normalize_text(text).split()
    words = [t for t in tokens if t not in _FILLERS]
    if not words or len(words) > 6 or any(t in _NEGATIONS for t in words):
        return None  # a sentence, or "not X": not a one-word answer to confirm
    matches: set[str] = set()
    for key, synonyms in options.items():
        phrases = {normalize_text(key.replace("_", " ")), *(normalize_text(s) for s in synonyms)}
        for phrase in filter(None, phrases):
            target = phrase.split()
            for size in {max(1, len(target) - 1), len(target), len(target) + 1}:
                if any(_close(words[i : i + size], target) for i in range(0, len(words) - size + 1)):
                    matches.add(key)
    return matches.pop() if len(matches) == 1 else None
