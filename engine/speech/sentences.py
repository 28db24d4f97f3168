"""Where spoken text may be cut into pieces: sentence and clause boundaries, one set of rules for every speaker.

Both the model's streamed reply and a whole line handed to TTS are cut here, so a piece never ends inside
"Rs. 500", "Mr. Kumar", "2.5 lakh", "No. 5", "e.g." or "5 p.m.": a wrong cut makes the voice pause and drop its
pitch mid-phrase, while a missed cut only delays the first audio a little.

A sentence ends at ``. ! ? …`` (with any closing quotes or brackets after it) and at a newline. A full stop ends
one only when whitespace or a closer follows it and the word before it is not an abbreviation or an initial. A
clause ends at ``, ; :`` followed by whitespace, so "1,20,000" stays whole.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "rs", "st", "vs", "sr", "jr", "approx", "e.g", "i.e", "a.m", "p.m"}
)
# Abbreviations only when a number follows: "No. 5", but "No. I rent." is two sentences.
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos"})
_CLOSERS = "\"')]}”’"
_MARKUP = re.compile(r"[*_#`~]+")
# Chat-template control tokens that some servers (and base models) leak into the text; never read them aloud.
_CONTROL_TOKENS = re.compile(r"</?s>|\[/?INST\]|<</?SYS>>|<\|[^|>\s]{1,40}\|>|<(?:start|end)_of_turn>")
_SPACES = re.compile(r"\s+")
_WAIT = -1  # the cut depends on text that has not arrived yet


class SentenceSplitter:
    """Cuts streamed text into speakable pieces: at sentence ends, and at clause ends once the clause is long, so
    TTS can start on the first sentence while the model is still writing the rest. Pieces come out cleaned
    (``speakable``); ``long_clause_chars=None`` cuts at sentence ends only.

    A full stop is only a boundary once the next character is known, so "2.5 lakh" stays whole however the stream
    is cut.
    """

    def __init__(self, long_clause_chars: int | None = 60) -> None:
        self.long_clause_chars = long_clause_chars
        self._buf = ""

    def feed(self, text: str) -> list[str]:
        self._buf += text
        raw, rest = _cut(self._buf, self.long_clause_chars)
        self._buf = rest
        return [piece for piece in map(speakable, raw) if piece]

    def flush(self) -> str | None:
        piece = speakable(self._buf)
        self._buf = ""
        return piece or None


def split_sentences(text: str) -> list[str]:
    """A whole text's sentences, whitespace-trimmed and otherwise as written."""
    raw, rest = _cut(text, None)
    return [piece.strip() for piece in [*raw, rest] if piece.strip()]


def split_first_clause(sentence: str) -> tuple[str, str] | None:
    """The sentence cut after its first clause ("Okay," and "5 years."), or None when it has a single clause."""
    for i in range(len(sentence)):
        if _ends_clause(sentence, i):
            head, tail = sentence[: i + 1], sentence[i + 1 :].lstrip()
            return (head, tail) if tail else None
    return None


def speakable(text: str) -> str:
    """What TTS should read: no markdown, no template tokens, single spaces."""
    return _SPACES.sub(" ", _MARKUP.sub("", _CONTROL_TOKENS.sub(" ", text))).strip()


def _cut(buf: str, long_clause_chars: int | None) -> tuple[list[str], str]:
    """The complete pieces at the start of ``buf`` (as written) and the rest, which may still grow."""
    pieces: list[str] = []
    start = 0
    i = 0
    while i < len(buf):
        cut = _sentence_cut(buf, start, i)
        if cut is None and long_clause_chars is not None and _ends_clause(buf, i):
            cut = i + 1 if len(buf[start:i].strip()) >= long_clause_chars else None
        if cut == _WAIT:
            break
        if cut is None:
            i += 1
            continue
        pieces.append(buf[start:cut])
        start = i = cut
    return pieces, buf[start:]


def _sentence_cut(buf: str, start: int, i: int) -> int | None:
    """Where the piece begun at ``start`` ends if ``buf[i]`` ends its sentence: None if it does not, ``_WAIT``
    if that is not known yet."""
    ch = buf[i]
    if ch == "\n":
        return i + 1
    if ch in "!?…":
        return _after_closers(buf, i + 1)
    if ch != ".":
        return None
    if i + 1 >= len(buf):
        return _WAIT
    if not (buf[i + 1] in _CLOSERS or buf[i + 1].isspace()):
        return None  # "2.5", "Rs.500", "e.g"
    word = _last_word(buf[start : i + 1])
    if word.lower() in _NUMBER_ABBREVIATIONS:
        following = buf[i + 1 :].lstrip()
        if not following:
            return _WAIT
        return None if following[0].isdigit() else _after_closers(buf, i + 1)
    if _is_abbreviation(word):
        return None
    return _after_closers(buf, i + 1)


def _ends_clause(buf: str, i: int) -> bool:
    return buf[i] in ",;:" and i + 1 < len(buf) and buf[i + 1].isspace()


def _after_closers(buf: str, i: int) -> int:
    while i < len(buf) and buf[i] in _CLOSERS:
        i += 1
    return i


def _last_word(text: str) -> str:
    """The word before a full stop, without the stop and any opening quote or bracket: "Mr", "e.g", "A"."""
    words = text.rstrip(".").split()
    return words[-1].lstrip("(\"'") if words else ""


def _is_abbreviation(word: str) -> bool:
    is_initial = len(word) == 1 and word.isupper() and word != "I"  # "A. Kumar"
    return is_initial or word.lower() in _ABBREVIATIONS
