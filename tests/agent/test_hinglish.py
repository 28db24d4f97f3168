"""Hinglish and Hindi (romanized and Devanagari) understanding: intents, yes/no and callback times, as tables of
generated phrasings (honorifics, fillers, punctuation, case, spellings) and near-misses that must not trigger,
and each phrasing class of opt-out through the real ScriptPolicy, honoured in the turn it is said."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from itertools import product

import pytest

from engine.agent.devanagari import romanize
from engine.agent.intents import Intent, detect_intents
from engine.agent.policy import EndCall, OptOut, ScheduleCallback
from engine.agent.script_policy import ScriptPolicy
from engine.agent.slots import IST, extract_when, extract_yes_no
from engine.records import Outcome
from tests.agent.conversation import CALL_TIME, run_call

PolicyMaker = Callable[[], ScriptPolicy]
LEAD = "Ravi Kumar"

YES = ["haan", "haan ji", "ji haan", "haanji", "hanji", "bilkul", "theek hai", "thik hai", "sahi hai", "zaroor",
       "zarur", "jaroor", "ha", "haa", "हाँ", "हां", "जी हाँ", "हाँ जी", "बिल्कुल", "ठीक है", "ज़रूर", "सही है"]  # fmt: skip
NO = ["nahi", "nahin", "nai", "nhi", "nahi chahiye", "nako", "mat karo", "ji nahi", "nahi ji", "bilkul nahi",
      "नहीं", "जी नहीं", "मत करो", "नहीं चाहिए", "बिल्कुल नहीं"]  # fmt: skip
OPT_OUT = {
    "call mat karna": ["call mat karna", "call mat karo", "mujhe call mat karo", "phone mat karna", "call mat kijiye",
                       "call na karein", "dobara call mat karna", "phir se call mat karna", "dubara phone mat karo",
                       "कॉल मत करना", "मुझे कॉल मत करो", "दोबारा फ़ोन मत करना", "फिर से कॉल मत करना"],
    "band karo": ["band karo", "band kijiye", "ye band karo", "call karna band karo", "call band kar do",
                  "बंद करो", "कॉल करना बंद करो"],
    "dnd": ["DND pe daalo", "DND mein daal do", "mujhe DND mein daalo", "D.N.D. pe daalo", "डीएनडी में डालो"],
    "number hata do": ["number hata do", "mera number hata do", "mera number delete karo", "list se hata do",
                       "मेरा नंबर हटा दो"],
    "pareshaan mat karo": ["pareshaan mat karo", "pareshan mat kijiye", "tang mat karo", "disturb mat karo",
                           "परेशान मत करो"],
    "calls nahi chahiye": ["aur call nahi chahiye", "koi call nahi chahiye"],
}  # fmt: skip
ROBOT = ["kya aap robot ho", "aap machine ho kya", "kya aap machine hain", "kya ye recording hai", "aap insaan ho",
         "aap kaun bol rahe ho", "kaun bol raha hai", "क्या आप रोबोट हो", "आप मशीन हो क्या",
         "ये रिकॉर्डिंग है क्या"]  # fmt: skip
REPEAT = ["dobara boliye", "phir se bolo", "fir se boliye", "kya kaha", "kya bola", "samajh nahi aaya", "suna nahi",
          "ek baar aur boliye", "दोबारा बोलिए", "फिर से बोलो", "क्या कहा", "समझ नहीं आया"]  # fmt: skip
HUMAN = ["kisi insaan se baat karao", "kisi aadmi se baat karni hai", "agent se baat karao",
         "manager se baat karwao", "kisi se baat karao",
         "kisi aur se baat karwa do", "asli insaan se baat karni hai", "kisi executive se baat karaiye",
         "किसी इंसान से बात कराओ", "एजेंट से बात कराओ", "किसी आदमी से बात करनी है"]  # fmt: skip
WRONG_PERSON = ["main Ravi nahi hoon", "mai ravi nahi hu", "galat number hai", "galat number", "rong number",
                "yahan koi Ravi nahi rehta", "Ravi yahan nahi rehta", "ye Ravi ka number nahi hai", "Ravi kaun",
                "मैं रवि नहीं हूँ", "गलत नंबर है", "रवि यहाँ नहीं रहता"]  # fmt: skip
CALLBACK = ["kal shaam ko call karna", "baad mein call karna", "abhi nahi", "abhi busy hoon", "abhi time nahi hai",
            "haan par abhi nahi", "do ghante baad call karna", "abhi call mat karo", "phir se call karna",
            "कल शाम को कॉल करना", "अभी नहीं", "बाद में कॉल करना"]  # fmt: skip

# Friday 27 November 2026, 11:00 IST.
WHEN = {
    "kal subah": datetime(2026, 11, 28, 10, 0, tzinfo=IST),
    "kal shaam ko call karna": datetime(2026, 11, 28, 18, 0, tzinfo=IST),
    "parson shaam 5 baje": datetime(2026, 11, 29, 17, 0, tzinfo=IST),
    "somvaar ko": datetime(2026, 11, 30, 11, 0, tzinfo=IST),
    "somwar ko call karna": datetime(2026, 11, 30, 11, 0, tzinfo=IST),
    "do ghante baad": CALL_TIME + timedelta(hours=2),
    "aadhe ghante baad": CALL_TIME + timedelta(minutes=30),
    "agle hafte": datetime(2026, 11, 30, 11, 0, tzinfo=IST),
    "कल सुबह": datetime(2026, 11, 28, 10, 0, tzinfo=IST),
    "परसों शाम 5 बजे": datetime(2026, 11, 29, 17, 0, tzinfo=IST),
    "सोमवार को": datetime(2026, 11, 30, 11, 0, tzinfo=IST),
    "दो घंटे बाद कॉल करना": CALL_TIME + timedelta(hours=2),
}

PREFIXES = ["", "umm ", "umm, ", "acha ", "acha, ", "sir, ", "dekhiye, ", "hmm "]
SUFFIXES = ["", ".", "!", "?", "...", " ji", " sir", " please"]


def variants(bases: Iterable[str], prefixes: list[str] = PREFIXES, suffixes: list[str] = SUFFIXES) -> list[str]:
    """Every base with fillers before, honorifics and punctuation after, in lower, upper and title case."""
    out: set[str] = set()
    for base, pre, post in product(bases, prefixes, suffixes):
        text = f"{pre}{base}{post}"
        out.update({text, text.upper(), text.title()})
    return sorted(out)


def misses(phrasings: list[str], check: Callable[[str], bool]) -> list[str]:
    return [p for p in phrasings if not check(p)]


# -- tables ----------------------------------------------------------------------------------------------
def test_hindi_yes_is_yes_in_hundreds_of_phrasings() -> None:
    phrasings = variants(YES, suffixes=["", ".", "!", ",", " sir", "..."])
    assert len(phrasings) >= 300
    assert misses(phrasings, lambda p: extract_yes_no(p) is True) == []


def test_hindi_no_is_no_in_hundreds_of_phrasings() -> None:
    phrasings = variants(NO, suffixes=["", ".", "!", ",", " sir", "..."])
    assert len(phrasings) >= 300
    assert misses(phrasings, lambda p: extract_yes_no(p) is False) == []


@pytest.mark.parametrize("phrasing_class", sorted(OPT_OUT))
def test_hindi_opt_out_is_detected_in_every_variant(phrasing_class: str) -> None:
    phrasings = variants(OPT_OUT[phrasing_class], prefixes=[*PREFIXES, "nahi, ", "bas, "])
    assert len(phrasings) >= 100
    assert misses(phrasings, lambda p: Intent.OPT_OUT in detect_intents(p, LEAD)) == []


INTENT_TABLES = [(Intent.ROBOT, ROBOT), (Intent.REPEAT, REPEAT), (Intent.HUMAN, HUMAN),
                 (Intent.WRONG_PERSON, WRONG_PERSON), (Intent.CALLBACK, CALLBACK)]  # fmt: skip


@pytest.mark.parametrize(("intent", "bases"), INTENT_TABLES, ids=lambda v: v.value if isinstance(v, Intent) else "")
def test_hindi_intent_is_detected_in_every_variant(intent: Intent, bases: list[str]) -> None:
    phrasings = variants(bases)
    assert len(phrasings) >= 300
    assert misses(phrasings, lambda p: intent in detect_intents(p, LEAD)) == []
    # none of them is an opt-out: a lead who asks "who is this?" in Hindi has not withdrawn consent
    assert [p for p in phrasings if Intent.OPT_OUT in detect_intents(p, LEAD)] == []


def test_hindi_callback_times_in_every_variant() -> None:
    failures = []
    for base, expected in WHEN.items():
        for text in variants([base], prefixes=["", "haan, ", "umm ", "acha "], suffixes=["", ".", " ji", " please"]):
            if extract_when(text, CALL_TIME) != expected:
                failures.append((text, extract_when(text, CALL_TIME)))
    assert failures == []


OPT_OUT_NEAR_MISSES = [
    "nahi, main interested hoon",
    "nahi",
    "nahi chahiye",
    "mat karo",
    "abhi call mat karo",
    "abhi mujhe call mat karo, shaam ko karna",
    "haan call karna",
    "kal call karna",
    "phir se call karna",
    "call karna mat bhoolna",
    "dukaan band hai",
    "meri dukaan band rehti hai",
    "mera number yahi hai",
    "number likh lijiye",
    "haan par abhi nahi",
    "koi pareshaani nahi hai",
    "theek hai, baad mein baat karte hain",
    "main Ravi hoon",
    "maine call nahi kar paya",
    "main abhi call nahi kar sakta, aap kijiye",
    "नहीं, मैं इंटरेस्टेड हूँ",
    "अभी कॉल मत करो",
    "हाँ कॉल करना",
]


@pytest.mark.parametrize("text", OPT_OUT_NEAR_MISSES)
def test_hindi_near_miss_is_not_an_opt_out(text: str) -> None:
    assert Intent.OPT_OUT not in detect_intents(text, LEAD)


@pytest.mark.parametrize(
    "text",
    ["main busy nahi hoon", "main interested nahi hoon", "main ghar pe nahi hoon", "main Ravi hoon",
     "ghar mein Ravi nahi hai", "Ravi ko bolo"],
)  # fmt: skip
def test_hindi_near_miss_is_not_a_wrong_person(text: str) -> None:
    assert Intent.WRONG_PERSON not in detect_intents(text, LEAD)


NEGATIONS = [("pata nahi", None), ("samajh nahi aaya", None), ("haan par abhi nahi", True), ("bilkul nahi", False),
             ("theek nahi hai", False), ("kyun nahi", True), ("पता नहीं", None),
             ("koi problem nahi", True)]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), NEGATIONS)
def test_hindi_negation_inside_a_phrase_is_not_a_plain_no(text: str, expected: bool | None) -> None:
    assert extract_yes_no(text) is expected


def test_devanagari_is_romanized_into_everyday_hinglish_spelling() -> None:
    assert romanize("जी हाँ, कल शाम ५ बजे कॉल करना।") == "ji haan, kal shaam 5 baje call karna."
    assert romanize("मैं रवि नहीं हूँ") == "main ravi nahi hoon"
    assert romanize("समझना") == "samajhna"  # letter by letter, with schwa deletion
    assert romanize("Yes, call me at 5") == "Yes, call me at 5"


# -- through the real policy -----------------------------------------------------------------------------
def _opted_out_in_that_turn(replies: list[list[object]]) -> bool:
    last = replies[-1]
    return any(isinstance(a, OptOut) for a in last) and EndCall(Outcome.OPTED_OUT) in last


@pytest.mark.parametrize("phrasing_class", sorted(OPT_OUT))
@pytest.mark.parametrize("where", ["greeting", "mid-question"])
async def test_hindi_opt_out_is_honoured_in_the_same_turn(
    solar_policy: PolicyMaker, phrasing_class: str, where: str
) -> None:
    before = [] if where == "greeting" else ["Haan ji, boliye.", "हाँ जी"]
    for text in OPT_OUT[phrasing_class]:
        call = await run_call(solar_policy(), [*before, text])
        assert call.outcome is Outcome.OPTED_OUT, (text, call.said)
        assert _opted_out_in_that_turn(call.replies), text
        assert call.last_said() == "Understood. We will not call you again. Goodbye."


async def test_hindi_not_now_is_a_callback_not_an_opt_out(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Abhi call mat karo, kal shaam ko karna."])
    assert call.outcome is Outcome.CALLBACK_REQUESTED and not call.opted_out
    assert call.callbacks[0].at == datetime(2026, 11, 28, 18, 0, tzinfo=IST)


CALLBACK_CALLS = [
    (["kal shaam ko call karna"], datetime(2026, 11, 28, 18, 0, tzinfo=IST)),
    (["Haan, par abhi nahi.", "Parson shaam 5 baje."], datetime(2026, 11, 29, 17, 0, tzinfo=IST)),
    (["अभी नहीं", "सोमवार को"], datetime(2026, 11, 30, 11, 0, tzinfo=IST)),
    (["Haan ji.", "Do ghante baad call karna."], CALL_TIME + timedelta(hours=2)),
    (["Haan ji.", "Abhi busy hoon, kal subah call karna."], datetime(2026, 11, 28, 10, 0, tzinfo=IST)),
]


@pytest.mark.parametrize(("turns", "at"), CALLBACK_CALLS)
async def test_hindi_callback_schedules_the_time_said(
    solar_policy: PolicyMaker, turns: list[str], at: datetime
) -> None:
    call = await run_call(solar_policy(), turns)
    assert call.outcome is Outcome.CALLBACK_REQUESTED, call.said
    assert call.slots["callback_at"] == at.isoformat()


async def test_hindi_yes_and_no_answer_questions(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["जी हाँ, बोलिए", "Haan ji, bilkul", "नहीं, किराये का है"])
    assert call.slots == {"interested": True, "owns_home": False}


@pytest.mark.parametrize("text", ["Main Ravi nahi hoon.", "Galat number hai.", "मैं रवि नहीं हूँ"])
async def test_hindi_wrong_person_ends_the_call(solar_policy: PolicyMaker, text: str) -> None:
    call = await run_call(solar_policy(), [text])
    assert call.outcome is Outcome.WRONG_PERSON


@pytest.mark.parametrize("text", ["Kya aap robot ho?", "Aap machine ho kya?", "क्या आप रोबोट हो?"])
async def test_hindi_robot_question_gets_the_truthful_identity(solar_policy: PolicyMaker, text: str) -> None:
    call = await run_call(solar_policy(), ["Haan ji.", text])
    assert call.said[2] == "I am Priya, an AI assistant calling from SunRoof Solar."
    assert call.outcome is None


@pytest.mark.parametrize("text", ["Dobara boliye.", "Phir se bolo?", "Kya kaha?", "समझ नहीं आया"])
async def test_hindi_repeat_asks_the_question_again(solar_policy: PolicyMaker, text: str) -> None:
    call = await run_call(solar_policy(), ["Haan ji.", text, "Haan."])
    assert call.said[2] == call.said[1]
    assert call.slots == {"interested": True}  # the repeat request was not counted as an answer


@pytest.mark.parametrize("text", ["Kisi insaan se baat karao.", "Agent se baat karao.", "किसी आदमी से बात करनी है"])
async def test_hindi_talk_to_a_person_is_detected(solar_policy: PolicyMaker, text: str) -> None:
    call = await run_call(solar_policy(), ["Haan ji.", text])
    assert call.outcome is Outcome.CALLBACK_REQUESTED
    assert [c.note for c in call.callbacks] == ["lead asked to talk to a person"]
    assert isinstance(call.callbacks[0], ScheduleCallback)


@pytest.mark.parametrize(
    "text",
    ["main apne manager se baat karke bataunga", "ghar mein kisi se baat karni hai", "apni wife se baat karni hai",
     "aapke agent se baat ho gayi thi"],
)  # fmt: skip
def test_hindi_near_miss_is_not_a_request_for_a_person(text: str) -> None:
    assert Intent.HUMAN not in detect_intents(text, LEAD)
