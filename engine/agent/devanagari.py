"""Devanagari turned into the romanized Hinglish the intent and slot patterns are written in.

A multilingual speech-to-text model writes a Hindi speaker's words in Devanagari ("हाँ, कल शाम को कॉल करना"),
an English one in Latin letters ("haan, kal shaam ko call karna"). Rather than keep two sets of patterns, a
Devanagari word becomes the spelling Hinglish speakers and Whisper use for it: the common words of a sales
call from a table (their everyday spelling is not a letter-by-letter transliteration: नहीं is "nahi", not
"naheen"), any other word letter by letter with the usual schwa deletion. Latin text passes through unchanged.
"""

from __future__ import annotations

import re

__all__ = ["has_devanagari", "romanize"]

_DEVANAGARI_RE = re.compile(r"[\u0900-\u097F]+")

# Everyday spellings of the words a lead uses on a sales call; the letter-by-letter fallback covers the rest.
_WORDS = {
    "हाँ": "haan", "हां": "haan", "हा": "haa", "हाँजी": "haanji", "हांजी": "haanji", "जी": "ji", "जीहाँ": "ji haan",
    "बिल्कुल": "bilkul", "बिलकुल": "bilkul", "ठीक": "theek", "है": "hai", "हैं": "hain", "सही": "sahi",
    "ज़रूर": "zaroor", "जरूर": "zaroor", "अच्छा": "acha", "हम्म": "hmm", "उम्म": "umm", "ओके": "ok", "हेलो": "hello",
    "हैलो": "hello", "नहीं": "nahi", "नही": "nahi", "ना": "na", "नको": "nako", "मत": "mat", "चाहिए": "chahiye",
    "करो": "karo", "करना": "karna", "करें": "karein", "कीजिए": "kijiye", "कीजिये": "kijiye", "करिए": "kariye",
    "कर": "kar", "करके": "karke", "कराओ": "karao", "करवाओ": "karwao", "कराइए": "karaiye", "करनी": "karni",
    "कॉल": "call", "काल": "call", "फोन": "phone", "फ़ोन": "phone", "दोबारा": "dobara", "दुबारा": "dobara",
    "फिर": "phir", "से": "se", "बंद": "band", "डीएनडी": "dnd", "में": "mein", "पे": "pe", "पर": "par",
    "डालो": "daalo", "डाल": "daal", "दो": "do", "मुझे": "mujhe", "मेरा": "mera", "मेरी": "meri", "नंबर": "number",
    "हटा": "hata", "हटाओ": "hatao", "परेशान": "pareshaan", "तंग": "tang", "कल": "kal", "आज": "aaj",
    "परसों": "parson", "सुबह": "subah", "शाम": "shaam", "दोपहर": "dopahar", "रात": "raat", "बजे": "baje",
    "को": "ko", "घंटे": "ghante", "घंटा": "ghanta", "मिनट": "minute", "बाद": "baad", "अभी": "abhi",
    "सोमवार": "somvaar", "मंगलवार": "mangalvaar", "बुधवार": "budhvaar", "गुरुवार": "guruvaar",
    "शुक्रवार": "shukravaar", "शनिवार": "shanivaar", "रविवार": "ravivaar", "अगले": "agle", "हफ्ते": "hafte",
    "हफ़्ते": "hafte", "मैं": "main", "मै": "main", "हूँ": "hoon", "हूं": "hoon", "हो": "ho", "गलत": "galat",
    "ग़लत": "galat", "क्या": "kya", "आप": "aap", "तुम": "tum", "रोबोट": "robot", "मशीन": "machine", "कौन": "kaun",
    "बोलिए": "boliye", "बोलिये": "boliye", "बोलो": "bolo", "कहा": "kaha", "बोला": "bola", "किसी": "kisi",
    "इंसान": "insaan", "इन्सान": "insaan", "आदमी": "aadmi", "एजेंट": "agent", "बात": "baat", "व्यस्त": "vyast",
    "बिज़ी": "busy", "बिजी": "busy", "इंटरेस्ट": "interest", "इंटरेस्टेड": "interested", "समझ": "samajh",
    "आया": "aaya", "पता": "pata", "सॉरी": "sorry", "ये": "ye", "यह": "yeh",
    "यहाँ": "yahan", "यहां": "yahan", "रहता": "rehta", "रिकॉर्डिंग": "recording",
    "एक": "ek", "तीन": "teen", "चार": "char", "पांच": "paanch", "पाँच": "paanch", "आधा": "aadha", "आधे": "aadhe",
    "रहा": "raha", "रही": "rahi", "रहे": "rahe", "हटाइए": "hataiye", "कराइये": "karaiye", "लिस्ट": "list",
    "टाइम": "time", "फ्री": "free", "बाहर": "bahar", "मीटिंग": "meeting", "ड्राइव": "drive", "चला": "chala",
}  # fmt: skip

_PARTICLES = ("जी", "है", "को", "से", "में")

_CONSONANTS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n", "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n", "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m", "य": "y", "र": "r", "ल": "l", "व": "v", "श": "sh",
    "ष": "sh", "स": "s", "ह": "h", "क़": "q", "ख़": "kh", "ग़": "g", "ज़": "z", "ड़": "r", "ढ़": "rh", "फ़": "f",
}  # fmt: skip
_NUKTA_FORMS = {"क": "क़", "ख": "ख़", "ग": "ग़", "ज": "ज़", "ड": "ड़", "ढ": "ढ़", "फ": "फ़"}
_VOWELS = {"अ": "a", "आ": "aa", "इ": "i", "ई": "ee", "उ": "u", "ऊ": "oo", "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au",
           "ऋ": "ri", "ऑ": "o", "ऍ": "e"}  # fmt: skip
_MATRAS = {"ा": "aa", "ि": "i", "ी": "ee", "ु": "u", "ू": "oo", "ृ": "ri", "े": "e", "ै": "ai", "ो": "o", "ौ": "au",
           "ॉ": "o", "ॅ": "e"}  # fmt: skip
_NASALS = {"ं": "n", "ँ": "n", "ः": "h"}
_NUKTA, _VIRAMA = "\u093c", "\u094d"
_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_DANDA_RE = re.compile(r"[।॥]")


def has_devanagari(text: str) -> bool:
    return _DEVANAGARI_RE.search(text) is not None


def romanize(text: str) -> str:
    """``text`` with every Devanagari word spelled in Latin letters; a danda becomes a full stop."""
    if not has_devanagari(text):
        return text
    text = _DANDA_RE.sub(".", text.translate(_DIGITS))
    return _DEVANAGARI_RE.sub(lambda m: _word(m.group(0)), text)


def _word(word: str) -> str:
    word = word.replace("\u200c", "").replace("\u200d", "")
    if word in _WORDS:
        return _WORDS[word]
    # "करना" / "करो" / "नहीं" with a trailing particle glued on by the recogniser ("नहींजी"): split once.
    for particle in _PARTICLES:
        head = word[: -len(particle)]
        if word.endswith(particle) and head in _WORDS:
            return f"{_WORDS[head]} {_WORDS[particle]}"
    return _letters(word)


def _letters(word: str) -> str:
    """Letter-by-letter transliteration with the inherent "a" after each consonant, then schwa deletion."""
    units: list[list[str]] = []  # [consonant or vowel sound, vowel after it ("" for virama, "a" inherent)]
    chars = list(word)
    i = 0
    while i < len(chars):
        ch = chars[i]
        if i + 1 < len(chars) and chars[i + 1] == _NUKTA and ch in _NUKTA_FORMS:
            ch = _NUKTA_FORMS[ch]
            i += 1
        if ch in _CONSONANTS:
            units.append([_CONSONANTS[ch], "a"])
        elif ch in _VOWELS:
            units.append(["", _VOWELS[ch]])
        elif ch in _MATRAS and units:
            units[-1][1] = _MATRAS[ch]
        elif ch == _VIRAMA and units:
            units[-1][1] = ""
        elif ch in _NASALS and units:
            units[-1][1] += _NASALS[ch]
        elif ch.isdigit():
            units.append([ch, ""])
        i += 1
    return _spell(units)


def _spell(units: list[list[str]]) -> str:
    # Schwa deletion: the inherent "a" of the last consonant, and of a consonant between two full vowels
    # ("करना" is "karna", not "karana").
    if len(units) > 1 and units[-1][0] and units[-1][1] == "a":
        units[-1][1] = ""
    for k in range(len(units) - 2, 0, -1):
        prev, cur, nxt = units[k - 1], units[k], units[k + 1]
        if cur[0] and cur[1] == "a" and prev[1] and nxt[0] and nxt[1]:
            cur[1] = ""
    out = "".join(c + v for c, v in units)
    if len(out) > 3 and out.endswith("aa"):
        out = out[:-1]  # word-final long vowels are written short in Hinglish: "karnaa" -> "karna"
    elif len(out) > 3 and out.endswith("ee"):
        out = out[:-2] + "i"  # "kisee" -> "kisi"
    return out
