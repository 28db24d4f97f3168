"""Hindi number words as Whisper writes them: romanized (Hinglish) and in Devanagari.

Hindi numbers 1-99 are each their own word (Wikipedia, "Hindustani numerals"); romanized spellings are not
standardised, so each number lists the spellings leads' transcripts use: long vowels doubled ("pachchees") or
not ("pachis"). Devanagari text becomes the same Latin tokens the English grammar reads: number words become
digits, scale and fraction words their romanized form.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "AMBIGUOUS_WORDS",
    "FRACTION_WORDS",
    "HINDI_WORDS",
    "PREFIX_OFFSETS",
    "devanagari_to_latin",
]

# Index = value. Each entry: the spellings of one number, space separated.
_ROMANIZED = [
    "",
    "ek",
    "do",
    "teen tin",
    "chaar char",
    "paanch panch paach",
    "chhe che chhah chah chheh chhai",
    "saat sat",
    "aath aat",
    "nau",
    "das dus",
    "gyarah gyaarah gyara gyaara",
    "barah baarah baara",
    "terah teraah",
    "chaudah chaudha chauda",
    "pandrah pandra pandhra",
    "solah sola",
    "satrah satra sattrah",
    "atharah athaarah attharah athara atthara",
    "unnees unnis unees",
    "bees bis",
    "ikkees ikkis",
    "baees bais baais baaees",
    "teis teees teiis teyis",
    "chaubees chaubis chobis",
    "pachchees pachees pachis pacchis pachchis",
    "chhabbees chhabbis chabbis",
    "sattaees sattais sattayis",
    "atthaees atthais athais athaees",
    "untees untis unatis",
    "tees tis",
    "ikattees iktees ikattis iktis",
    "battees battis batis",
    "taintees taintis tentis",
    "chauntees chauntis chautis chontis",
    "paintees paintis pentis",
    "chhattees chhattis chattis",
    "saintees saintis sentis",
    "adtees artees adtis artis",
    "untaalees untalis untalees unchalis",
    "chaalees chalis chalees chaalis",
    "iktaalees iktalis iktalees",
    "bayaalees bayalis bayalees byalis",
    "taintaalees taintalis tentalis tentalees",
    "chavaalees chavalis chawalis chauvalis chauwalis",
    "paintaalees paintalis pentalis paintalees",
    "chhiyaalees chhiyalis chiyalis",
    "saintaalees saintalis sentalis",
    "adtaalees adtalis artalis artalees",
    "unchaas unchas",
    "pachaas pachas",
    "ikyaavan ikyavan ikyawan",
    "baavan bavan bawan",
    "tirpan tirepan trepan",
    "chauvan chauwan chowan",
    "pachpan",
    "chhappan chappan",
    "sattaavan sattavan sattawan",
    "atthaavan atthavan athawan athavan",
    "unsath unsaath",
    "saath sath",
    "iksath iksaath",
    "baasath basath baasaath",
    "tirsath tresath tirsaath",
    "chaunsath chausath chaunsaath",
    "painsath pensath painsaath",
    "chhiyaasath chhiyasath chiyasath",
    "sarsath sadsath sadsaath sarsaath",
    "adsath arsath adsaath arsaath",
    "unhattar",
    "sattar",
    "ikhattar ikahattar",
    "bahattar behattar",
    "tihattar",
    "chauhattar",
    "pachhattar pachattar",
    "chhihattar chihattar",
    "sathattar satattar sathhattar",
    "athattar athhattar",
    "unaasi unasi unyasi unyaasi",
    "assi assee",
    "ikyaasi ikyasi",
    "bayaasi bayasi byasi",
    "tiraasi tirasi",
    "chauraasi chaurasi",
    "pachaasi pachasi",
    "chhiyaasi chhiyasi chiyasi",
    "sattaasi sattasi",
    "atthaasi atthasi athasi",
    "navaasi navasi nawasi",
    "nabbe nabbey nabe",
    "ikyaanave ikyanve ikyanave",
    "baanave banve baanve banave",
    "tiraanave tiranve tiranave",
    "chauraanave chauranve chauranave",
    "pachaanave pachanve pachanave",
    "chhiyaanave chhiyanve chhiyanave",
    "sattaanave sattanve sattanave",
    "atthaanave atthanve atthanave",
    "ninyaanave ninyanve ninyanave",
]
HINDI_WORDS: dict[str, int] = {word: value for value, words in enumerate(_ROMANIZED) for word in words.split()}

# Hindi number words that are also English or everyday Hinglish words ("I do", "tin roof", "sat", "mere saath"):
# they count as numbers only before a scale, "sau"/"hundred", a currency or a unit of time.
AMBIGUOUS_WORDS = frozenset({"do", "teen", "tin", "char", "che", "sat", "aat", "bees", "bis", "tees", "tis", "sath",
                             "saath", "sola", "satra"})  # fmt: skip

# A multiple said with a scale word after it: "dedh lakh" = 1.5 lakh, "dhai hazaar" = 2,500, "aadha lakh" = 50,000.
FRACTION_WORDS = {
    "dedh": 1.5, "derh": 1.5, "dhedh": 1.5, "dhai": 2.5, "dhaai": 2.5, "dhaayi": 2.5, "dhayi": 2.5, "adhai": 2.5,
    "aadha": 0.5, "adha": 0.5, "aadhe": 0.5,
}  # fmt: skip
# Said before a number: "saade teen" = 3.5, "sava do" = 2.25, "paune do" = 1.75; "sava lakh" = 1.25 lakh.
PREFIX_OFFSETS = {
    "saade": 0.5, "sade": 0.5, "saadhe": 0.5, "sadhe": 0.5,
    "sava": 0.25, "savaa": 0.25, "sawa": 0.25, "sawaa": 0.25,
    "paune": -0.25, "pone": -0.25, "paone": -0.25,
}  # fmt: skip

_DEVANAGARI_NUMBERS = [
    "",
    "एक",
    "दो",
    "तीन",
    "चार",
    "पांच पाँच",
    "छह छः छे छै",
    "सात",
    "आठ",
    "नौ",
    "दस",
    "ग्यारह",
    "बारह",
    "तेरह",
    "चौदह",
    "पंद्रह पन्द्रह",
    "सोलह",
    "सत्रह",
    "अठारह अट्ठारह",
    "उन्नीस उन्निस",
    "बीस",
    "इक्कीस",
    "बाईस बाइस",
    "तेईस",
    "चौबीस चौबिस",
    "पच्चीस",
    "छब्बीस",
    "सत्ताईस",
    "अट्ठाईस अठाईस",
    "उनतीस",
    "तीस",
    "इकतीस इकत्तीस",
    "बत्तीस",
    "तैंतीस",
    "चौंतीस",
    "पैंतीस",
    "छत्तीस",
    "सैंतीस",
    "अड़तीस",
    "उनतालीस उनचालीस",
    "चालीस",
    "इकतालीस",
    "बयालीस",
    "तैंतालीस",
    "चवालीस चौवालीस",
    "पैंतालीस",
    "छियालीस",
    "सैंतालीस",
    "अड़तालीस",
    "उनचास",
    "पचास",
    "इक्यावन",
    "बावन",
    "तिरपन तिरेपन",
    "चौवन चौव्वन",
    "पचपन",
    "छप्पन",
    "सत्तावन",
    "अट्ठावन अठावन",
    "उनसठ",
    "साठ",
    "इकसठ",
    "बासठ",
    "तिरसठ",
    "चौंसठ",
    "पैंसठ",
    "छियासठ",
    "सड़सठ सरसठ",
    "अड़सठ",
    "उनहत्तर",
    "सत्तर",
    "इकहत्तर",
    "बहत्तर",
    "तिहत्तर",
    "चौहत्तर",
    "पचहत्तर",
    "छिहत्तर",
    "सतहत्तर",
    "अठहत्तर",
    "उन्यासी उनासी",
    "अस्सी",
    "इक्यासी",
    "बयासी",
    "तिरासी",
    "चौरासी",
    "पचासी",
    "छियासी",
    "सत्तासी",
    "अट्ठासी अठासी",
    "नवासी",
    "नब्बे",
    "इक्यानवे",
    "बानवे",
    "तिरानवे",
    "चौरानवे",
    "पचानवे",
    "छियानवे",
    "सत्तानवे",
    "अट्ठानवे",
    "निन्यानवे",
]
_DEVANAGARI_OTHER = {
    "सौ": "sau", "हज़ार": "hazaar", "हजार": "hazaar", "लाख": "lakh", "करोड़": "crore", "करोड": "crore",
    "डेढ़": "dedh", "डेढ": "dedh", "ढाई": "dhai", "साढ़े": "saade", "साढे": "saade", "सवा": "sava",
    "पौने": "paune", "आधा": "aadha", "और": "and", "रुपये": "rupaye", "रुपए": "rupaye", "रुपया": "rupaye",
    "रुपयों": "rupaye", "रुपैया": "rupaye", "शून्य": "0",
}  # fmt: skip


def _devanagari_key(word: str) -> str:
    """One spelling for the variants Whisper mixes: nukta letters (ज़ = ज) and chandrabindu (ँ = ं)."""
    decomposed = unicodedata.normalize("NFD", word).replace("\u093c", "").replace("\u0901", "\u0902")
    return unicodedata.normalize("NFC", decomposed)


_DEVANAGARI = {
    _devanagari_key(word): str(value) for value, words in enumerate(_DEVANAGARI_NUMBERS) for word in words.split()
} | {_devanagari_key(word): latin for word, latin in _DEVANAGARI_OTHER.items()}
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_DEVANAGARI_WORD_RE = re.compile(r"[\u0900-\u0963\u0970-\u097f]+")


def devanagari_to_latin(text: str) -> str:
    """``text`` with Devanagari digits as ASCII digits and Devanagari number words as the Latin tokens the
    number grammar reads ("दो लाख पचास हज़ार" -> "2 lakh 50 hazaar"); other Devanagari words stay."""
    text = text.translate(_DEVANAGARI_DIGITS)

    def latin(m: re.Match[str]) -> str:
        found = _DEVANAGARI.get(_devanagari_key(m.group(0)))
        return f" {found} " if found is not None else m.group(0)

    return _DEVANAGARI_WORD_RE.sub(latin, text)
