"""Numbers and rupee amounts as leads say them and Whisper writes them: English, Hinglish and Hindi.

Each test is one class of phrasing. The phrasings are generated (every n in 1..99 by scale, by template), and the
expected values are computed here from n with plain arithmetic and this file's own spelling tables, never by the
parser. A test collects every phrasing that fails, so one run shows the whole damage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from engine.agent.numbers import amount_is_explicit, extract_amount_inr, extract_number


def words(text: str) -> list[str]:
    return text.split()


_ONES = words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
)
_TENS = words("_ _ twenty thirty forty fifty sixty seventy eighty ninety")


def english(n: int) -> str:
    """1..99 in English words ("forty five")."""
    if n < 20:
        return _ONES[n]
    return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])


# Two common romanized spellings of each Hindi number 1..99 (Wikipedia, "Hindustani numerals"): long vowels
# written doubled, then the short spelling.
_HINDI = """
ek ek | do do | teen tin | chaar char | paanch panch | chhe che | saat sat | aath aath | nau nau | das dus
gyaarah gyarah | baarah barah | terah terah | chaudah chauda | pandrah pandra | solah sola | satrah satra
athaarah atharah | unnees unnis | bees bis | ikkees ikkis | baaees bais | teis teis | chaubees chaubis
pachchees pachis | chhabbees chhabbis | sattaees sattais | atthaees atthais | untees untis | tees tis
ikattees iktis | battees battis | taintees taintis | chauntees chautis | paintees paintis | chhattees chhattis
saintees saintis | adtees artis | untaalees untalis | chaalees chalis | iktaalees iktalis | bayaalees bayalis
taintaalees taintalis | chavaalees chavalis | paintaalees paintalis | chhiyaalees chhiyalis
saintaalees saintalis | adtaalees artalis | unchaas unchas | pachaas pachas | ikyaavan ikyavan | baavan bavan
tirpan tirepan | chauvan chauwan | pachpan pachpan | chhappan chappan | sattaavan sattavan | atthaavan athavan
unsath unsaath | saath sath | iksath iksaath | baasath basath | tirsath tirsaath | chaunsath chausath
painsath pensath | chhiyaasath chhiyasath | sarsath sadsath | adsath arsath | unhattar unhattar
sattar sattar | ikhattar ikahattar | bahattar behattar | tihattar tihattar | chauhattar chauhattar
pachhattar pachattar | chhihattar chihattar | sathattar satattar | athattar athhattar | unaasi unasi
assi assee | ikyaasi ikyasi | bayaasi bayasi | tiraasi tirasi | chauraasi chaurasi | pachaasi pachasi
chhiyaasi chhiyasi | sattaasi sattasi | atthaasi atthasi | navaasi navasi | nabbe nabbe
ikyaanave ikyanve | baanave banve | tiraanave tiranve | chauraanave chauranve | pachaanave pachanve
chhiyaanave chhiyanve | sattaanave sattanve | atthaanave atthanve | ninyaanave ninyanve
"""
HINDI: list[tuple[str, str]] = [(pair.split()[0], pair.split()[1]) for pair in _HINDI.replace("\n", " |").split("|")
                                if pair.strip()]  # fmt: skip
assert len(HINDI) == 99
# Also English words or everyday Hinglish ("I do", "tin roof", "mere saath"): numbers only before a scale word.
NOT_ALONE = {"do", "teen", "tin", "char", "che", "sat", "bees", "bis", "tees", "tis", "saath", "sath", "sola",
             "satra"}  # fmt: skip

_DEVANAGARI = words("""
एक दो तीन चार पाँच छह सात आठ नौ दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस बीस
इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस छत्तीस सैंतीस
अड़तीस उनतालीस चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस उनचास पचास
इक्यावन बावन तिरपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ साठ इकसठ बासठ तिरसठ चौंसठ पैंसठ छियासठ सड़सठ
अड़सठ उनहत्तर सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उन्यासी अस्सी इक्यासी बयासी
तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी नब्बे इक्यानवे बानवे तिरानवे चौरानवे पचानवे छियानवे सत्तानवे
अट्ठानवे निन्यानवे
""")
assert len(_DEVANAGARI) == 99


def devanagari_digits(n: int | str) -> str:
    return "".join("०१२३४५६७८९"[int(d)] if d.isdigit() else d for d in str(n))


def indian_grouping(n: int) -> str:
    """2,50,000: the last three digits, then pairs."""
    s = str(n)
    if len(s) <= 3:
        return s
    head, tail = s[:-3], s[-3:]
    pairs = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])


Case = tuple[str, float]
NUMBERS = range(1, 100)


def failures(cases: Iterable[Case], parse: Callable[[str], float | None]) -> tuple[int, list[str]]:
    cases = list(cases)
    wrong = [f"{text!r}: {parse(text)!r}, expected {expected!r}" for text, expected in cases if parse(text) != expected]
    return len(cases), wrong


def check(cases: Iterable[Case], parse: Callable[[str], float | None] = extract_amount_inr, at_least: int = 99) -> None:
    count, wrong = failures(cases, parse)
    assert count >= at_least
    assert not wrong, f"{len(wrong)} of {count} wrong:\n" + "\n".join(wrong[:40])


LAKH, CRORE = 100_000, 10_000_000


# -- compound Indian amounts ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("{a} lakh", lambda a, b: a * LAKH),
        ("{a} crore", lambda a, b: a * CRORE),
        ("{a} thousand", lambda a, b: a * 1000),
        ("{a} lakh {b} thousand", lambda a, b: a * LAKH + b * 1000),
        ("{a} lakh and {b} thousand", lambda a, b: a * LAKH + b * 1000),
        ("{a} lakhs {b} thousand rupees", lambda a, b: a * LAKH + b * 1000),
        ("{a} crore {b} lakh", lambda a, b: a * CRORE + b * LAKH),
        ("{a} crore and {b} lakh", lambda a, b: a * CRORE + b * LAKH),
        ("{a} crore {b} lakh {a} thousand", lambda a, b: a * CRORE + b * LAKH + a * 1000),
        ("{a} thousand {b} hundred", lambda a, b: a * 1000 + (b % 10 or 1) * 100),
        ("{a} lakh {b} hundred", lambda a, b: a * LAKH + (b % 10 or 1) * 100),
        ("{a} hundred thousand", lambda a, b: (a % 10 or 1) * 100_000),
    ],
)
def test_compound_indian_amounts_in_english_words(template: str, value: Callable[[int, int], int]) -> None:
    def spoken(a: int, b: int) -> str:
        hundreds = "hundred" in template and "{b} hundred" in template
        bb = english(b % 10 or 1) if hundreds else english(b)
        aa = english(a % 10 or 1) if template.startswith("{a} hundred") else english(a)
        return template.format(a=aa, b=bb)

    check((spoken(a, (a * 37) % 99 + 1), value(a, (a * 37) % 99 + 1)) for a in NUMBERS)


def test_compound_amounts_every_lakh_with_every_thousand() -> None:
    check(
        ((f"{english(a)} lakh {english(b)} thousand", a * LAKH + b * 1000) for a in range(1, 100, 7) for b in NUMBERS),
        at_least=1000,
    )


# -- fractions -------------------------------------------------------------------------------------------------
SCALES = {"hundred": 100, "thousand": 1000, "lakh": LAKH, "crore": CRORE}
HINDI_SCALES = {"sau": 100, "hazaar": 1000, "hazar": 1000, "lakh": LAKH, "lac": LAKH, "laakh": LAKH,
                "crore": CRORE, "karod": CRORE}  # fmt: skip


@pytest.mark.parametrize("scale", ["thousand", "lakh", "crore"])
def test_english_fractions(scale: str) -> None:
    unit = SCALES[scale]
    cases: list[Case] = []
    for n in NUMBERS:
        cases.append((f"{english(n)} and a half {scale}", (n + 0.5) * unit))
        cases.append((f"{english(n)} and a quarter {scale}", (n + 0.25) * unit))
        cases.append((f"{english(n)} point five {scale}", (n + 0.5) * unit))
    cases += [(f"half a {scale}", unit / 2), (f"{scale} and a half", unit * 1.5), (f"a {scale} and a half", unit * 1.5)]
    cases += [(f"one {scale} and a half", unit * 1.5), (f"a {scale}", unit)]
    check(cases, at_least=300)


@pytest.mark.parametrize("scale", list(HINDI_SCALES))
def test_hindi_fraction_words(scale: str) -> None:
    unit = HINDI_SCALES[scale]
    words = {"dedh": 1.5, "derh": 1.5, "dhai": 2.5, "dhaai": 2.5, "aadha": 0.5}
    cases: list[Case] = [(f"{w} {scale}", v * unit) for w, v in words.items()]
    cases += [(f"sava {scale}", 1.25 * unit), (f"savaa {scale}", 1.25 * unit), (f"paune {scale}", 0.75 * unit)]
    for n in NUMBERS:
        for spelling in HINDI[n - 1]:
            cases.append((f"saade {spelling} {scale}", (n + 0.5) * unit))
            cases.append((f"sadhe {spelling} {scale}", (n + 0.5) * unit))
            cases.append((f"sava {spelling} {scale}", (n + 0.25) * unit))
            cases.append((f"paune {spelling} {scale}", (n - 0.25) * unit))
        cases.append((f"saade {n} {scale}", (n + 0.5) * unit))
    check(cases, at_least=800)


def test_named_fraction_examples() -> None:
    check(
        [
            ("two and a half lakh", 250_000),
            ("one and a half crore", 15_000_000),
            ("half a lakh", 50_000),
            ("lakh and a half", 150_000),
            ("dedh lakh", 150_000),
            ("dhai lakh", 250_000),
            ("saade teen lakh", 350_000),
            ("sava lakh", 125_000),
            ("paune do lakh", 175_000),
            ("sava do lakh", 225_000),
            ("dedh sau rupaye", 150),
            ("ढाई लाख", 250_000),
            ("डेढ़ लाख", 150_000),
            ("साढ़े तीन लाख", 350_000),
            ("सवा लाख", 125_000),
            ("पौने दो लाख", 175_000),
        ],
        at_least=16,
    )


@pytest.mark.parametrize("scale", ["hundred", "thousand", "lakh", "lakhs", "lac", "crore", "million"])
def test_a_half_or_a_quarter_of_a_scale(scale: str) -> None:
    # "half lakh" is everyday Indian English; it is half a lakh, never a whole one.
    unit = {"lakhs": LAKH, "lac": LAKH, "million": 1_000_000}.get(scale) or SCALES[scale]
    cases: list[Case] = []
    for part, share in (("half", 0.5), ("quarter", 0.25)):
        for phrase in (f"{part} {scale}", f"{part} a {scale}", f"a {part} {scale}", f"{part} of a {scale}"):
            for context in ("{x}", "around {x} a month", "my salary is {x}", "{x} rupees", "Yes, {x}."):
                cases.append((context.format(x=phrase), round(share * unit)))
    check(cases, at_least=40)


DIGIT_FRACTIONS = {"1/2": 0.5, "1/4": 0.25, "3/4": 0.75, "½": 0.5, "¼": 0.25, "¾": 0.75}


@pytest.mark.parametrize("scale", ["thousand", "lakh", "lakhs", "lac", "crore"])
def test_fractions_written_in_digits(scale: str) -> None:
    # Whisper writes "two and a half lakh" as "2 1/2 lakh" or "2½ lakh" as often as "2.5 lakh".
    unit = {"lakhs": LAKH, "lac": LAKH}.get(scale) or SCALES[scale]
    cases: list[Case] = []
    for n in NUMBERS:
        for written, part in DIGIT_FRACTIONS.items():
            gap = "" if written in "½¼¾" else " "
            cases.append((f"{n}{gap}{written} {scale}", round((n + part) * unit)))
            cases.append((f"about {n}{gap}{written} {scale} a month", round((n + part) * unit)))
    cases += [(f"{written} {scale}", round(part * unit)) for written, part in DIGIT_FRACTIONS.items()]
    check(cases, at_least=1000)


@pytest.mark.parametrize("text", ["3/4", "call me on 3/4", "27/11", "1/2"])
def test_a_bare_digit_fraction_without_a_scale_word_is_not_a_fraction(text: str) -> None:
    assert extract_number(text) not in (0.75, 0.5)


def test_a_runaway_digit_string_is_not_an_amount() -> None:
    # Whisper tiny.en sometimes loops on ",000" until the segment ends: no lead earns that, so nothing is recorded.
    runaways = [f"{lead}2{',000' * groups}{tail}" for groups in range(4, 30) for lead in ("", "About ", "Rs ")
                for tail in ("", ",", " rupees")]  # fmt: skip
    assert {text: extract_amount_inr(text) for text in runaways} == dict.fromkeys(runaways)


def test_large_but_plausible_amounts_are_still_read() -> None:
    check(
        [
            ("50 crore", 50 * CRORE),
            ("999 crore", 999 * CRORE),
            ("5,000 crore rupees", 5000 * CRORE),
            ("2,000,000,000", 2_000_000_000),
            ("9,999 crore", 9999 * CRORE),
        ],
        at_least=5,
    )


# -- how Whisper writes amounts -----------------------------------------------------------------------------------
def _amounts() -> list[int]:
    return (
        [a * LAKH + b * 1000 for a in NUMBERS for b in (0, 50)]
        + [n * 1000 for n in NUMBERS]
        + [n * CRORE + n * LAKH for n in range(1, 100, 3)]
    )


@pytest.mark.parametrize(
    "render",
    [
        indian_grouping,
        lambda v: f"{v:,}",
        lambda v: str(v),
        lambda v: f"₹{indian_grouping(v)}",
        lambda v: f"₹ {v:,}",
        lambda v: f"Rs. {indian_grouping(v)}",
        lambda v: f"Rs.{v}",
        lambda v: f"Rs {indian_grouping(v)}/-",
        lambda v: f"INR {v:,}",
        lambda v: f"{indian_grouping(v)} rupees",
        lambda v: f"{indian_grouping(v)} rupaye",
    ],
    ids=[
        "indian",
        "western",
        "plain",
        "rupee-sign",
        "rupee-sign-western",
        "rs-dot",
        "rs-dot-tight",
        "rs-slash",
        "inr",
        "rupees",
        "rupaye",
    ],
)
def test_digit_groupings_and_currency_marks(render: Callable[[int], str]) -> None:
    check(((render(v), v) for v in _amounts()), at_least=200)


@pytest.mark.parametrize(
    ("render", "unit"),
    [
        ("{x} lakh", LAKH),
        ("{x} lakhs", LAKH),
        ("{x}L", LAKH),
        ("Rs. {x}L", LAKH),
        ("₹{x} lakh", LAKH),
        ("{x} lac", LAKH),
        ("{x} cr", CRORE),
        ("{x}cr", CRORE),
        ("{x} crore", CRORE),
        ("Rs {x} Cr", CRORE),
        ("{x}k", 1000),
        ("{x}K", 1000),
        ("{x} LPA", LAKH),
    ],
)
def test_decimal_amounts_with_scale_suffixes(render: str, unit: int) -> None:
    # Tenths from 0.1 to 9.9, and whole numbers: 2.5 lakh, 1.2 cr, 250k.
    cases = [(render.format(x=f"{k // 10}.{k % 10}"), round(k * unit / 10)) for k in range(1, 100)]
    cases += [(render.format(x=str(n)), n * unit) for n in NUMBERS]
    check(cases, at_least=198)


# -- amounts with units and context ------------------------------------------------------------------------------
CONTEXTS = [
    "my salary is {x}",
    "around {x} a month",
    "income {x}",
    "about {x} rupees per month",
    "I earn {x} per month",
    "take home is roughly {x} monthly",
    "mera salary {x} hai",
    "it's {x}, sir",
    "Yes, about {x}.",
    "income is around {x} per annum",
]


@pytest.mark.parametrize("context", CONTEXTS)
def test_amounts_with_units_and_context(context: str) -> None:
    cases: list[Case] = []
    for n in NUMBERS:
        cases.append((context.format(x=f"{english(n)} thousand"), n * 1000))
        cases.append((context.format(x=f"{n}k"), n * 1000))
        cases.append((context.format(x=f"{n / 100} lakh"), n * 1000))
        cases.append((context.format(x=f"{HINDI[n - 1][0]} hazaar"), n * 1000))
    check(cases, at_least=396)


def test_named_context_examples() -> None:
    check(
        [
            ("my salary is eighty thousand", 80_000),
            ("around 80k a month", 80_000),
            ("income 0.8 lakh", 80_000),
            ("about forty five thousand rupees per month", 45_000),
            ("It's about 2 to 3 lakh.", 250_000),
            ("do ya teen lakh", 250_000),
            ("paanch se saat hazaar", 6_000),
            ("I have 2 ACs and pay 4000 rupees", 4_000),
        ],
        at_least=8,
    )


# -- Hindi number words ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", list(HINDI_SCALES))
def test_hindi_words_1_to_99_before_every_scale_word(scale: str) -> None:
    unit = HINDI_SCALES[scale]
    check(
        ((f"{spelling} {scale}", n * unit) for n in NUMBERS for spelling in HINDI[n - 1]),
        at_least=198,
    )


def test_hindi_words_1_to_99_alone_and_with_rupaye() -> None:
    cases: list[Case] = []
    for n in NUMBERS:
        for spelling in HINDI[n - 1]:
            cases.append((f"{spelling} rupaye", n))
            cases.append((f"{spelling} lakh rupaye", n * LAKH))
            if spelling not in NOT_ALONE:
                cases.append((spelling, n))
                cases.append((f"{spelling.capitalize()}.", n))
    check(cases, parse=lambda t: extract_number(t) if " " not in t else extract_amount_inr(t), at_least=500)


def test_hindi_compound_amounts() -> None:
    cases: list[Case] = []
    for a in NUMBERS:
        b = (a * 53) % 99 + 1
        long_a, short_a = HINDI[a - 1]
        long_b, short_b = HINDI[b - 1]
        cases.append((f"{long_a} lakh {long_b} hazaar", a * LAKH + b * 1000))
        cases.append((f"{short_a} lac {short_b} hazar rupaye", a * LAKH + b * 1000))
        cases.append((f"{long_a} karod {long_b} lakh", a * CRORE + b * LAKH))
        cases.append((f"{long_a} lakh aur {long_b} hazaar", a * LAKH + b * 1000))
        cases.append((f"{long_a} hazaar {(b % 9) + 1} sau", a * 1000 + ((b % 9) + 1) * 100))
        cases.append((f"{long_a} sau {long_b}", a * 100 + b))
    check(cases, at_least=594)


def test_mixed_digits_and_hindi_scale_words() -> None:
    cases: list[Case] = []
    for n in NUMBERS:
        cases.append((f"{n} hazaar", n * 1000))
        cases.append((f"{n} hajar rupaye", n * 1000))
        cases.append((f"{n} lakh rupaye", n * LAKH))
        cases.append((f"{n} karod", n * CRORE))
        cases.append((f"{n} लाख", n * LAKH))
        cases.append((f"{HINDI[n - 1][0]} lakh rupaye", n * LAKH))
    cases += [("50 hazaar", 50_000), ("paanch lakh rupaye", 500_000), ("5 lakh rupaye", 500_000)]
    check(cases, at_least=594)


# -- Devanagari ---------------------------------------------------------------------------------------------------
DEVANAGARI_SCALES = {"सौ": 100, "हज़ार": 1000, "हजार": 1000, "लाख": LAKH, "करोड़": CRORE, "करोड": CRORE}


@pytest.mark.parametrize("scale", list(DEVANAGARI_SCALES))
def test_devanagari_words_and_digits(scale: str) -> None:
    unit = DEVANAGARI_SCALES[scale]
    cases: list[Case] = []
    for n in NUMBERS:
        cases.append((f"{_DEVANAGARI[n - 1]} {scale}", n * unit))
        cases.append((f"{devanagari_digits(n)} {scale}", n * unit))
        cases.append((f"{devanagari_digits(n)}{scale} रुपये", n * unit))
    check(cases, at_least=297)


def test_devanagari_words_and_digits_alone() -> None:
    cases: list[Case] = [(_DEVANAGARI[n - 1], n) for n in NUMBERS]
    cases += [(devanagari_digits(n), n) for n in NUMBERS]
    cases += [(devanagari_digits(indian_grouping(n * 1000 + n)), n * 1000 + n) for n in NUMBERS]
    cases += [("पांच", 5), ("छः", 6), ("शून्य", 0)]
    check(cases, parse=extract_number, at_least=297)


def test_devanagari_compound_amounts() -> None:
    cases: list[Case] = []
    for a in NUMBERS:
        b = (a * 31) % 99 + 1
        cases.append((f"{_DEVANAGARI[a - 1]} लाख {_DEVANAGARI[b - 1]} हज़ार", a * LAKH + b * 1000))
        cases.append((f"{_DEVANAGARI[a - 1]} करोड़ {_DEVANAGARI[b - 1]} लाख रुपये", a * CRORE + b * LAKH))
        cases.append((f"मेरी सैलरी {_DEVANAGARI[a - 1]} हज़ार रुपये है", a * 1000))
    check(cases, at_least=297)


# -- what is not a number -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I do.", None),
        ("Yes I do", None),
        ("It's a tin roof", None),
        ("We sat down", None),
        ("Mere saath hai", None),
        ("I do have 2 ACs", 2),
        ("Do you want 3?", 3),
        ("teen", None),
        ("Saade.", None),
        ("Dedh.", None),
        ("l", None),
    ],
)
def test_words_that_are_not_numbers_alone(text: str, expected: int | None) -> None:
    assert extract_number(text) == expected


@pytest.mark.parametrize(
    ("text", "explicit"),
    [("dedh lakh", True), ("do lakh", True), ("पचास हज़ार", True), ("paanch", False), ("L", False), ("12", False)],
)
def test_amount_is_explicit_for_hindi_amounts(text: str, explicit: bool) -> None:
    assert amount_is_explicit(text) is explicit


def test_a_long_run_of_hindi_range_words_is_read_without_deep_recursion() -> None:
    # Each "do" looks past "ya" to the next number: one step, not a chain as long as the transcript.
    assert extract_amount_inr("do ya " * 5000 + "teen lakh") == 250_000
    assert extract_number("paune do " * 3000) == 1.75
