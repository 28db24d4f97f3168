"""Conversation intents the script policy must catch in any turn, whatever question is pending.

Pure regular expressions over :func:`engine.agent.slots.normalize_text` output: deterministic, microseconds per
turn, and easy to extend with the phrasings Whisper produces from real calls. Opt-out patterns are deliberately
broad ("stop calling", "put me on DND", "call mat karna", "band karo"): withdrawing consent must be as easy as
giving it (DPDP s.6(4)), in whichever language the lead speaks. Hindi arrives either romanized ("haan ji") or in
Devanagari, which ``normalize_text`` romanizes first, so every pattern here is written once, in Hinglish.
"""

from __future__ import annotations

import re
from enum import StrEnum

from engine.agent.slots import normalize_text

__all__ = ["Intent", "detect_intents", "is_wrong_person"]


class Intent(StrEnum):
    OPT_OUT = "opt_out"  # do not call me again
    CALLBACK = "callback"  # busy now / call later
    WRONG_PERSON = "wrong_person"  # wrong number, no such person
    ROBOT = "robot"  # are you a robot / a recording / who is this
    REPEAT = "repeat"  # sorry? / can you repeat
    HUMAN = "human"  # let me talk to a person
    VOICEMAIL = "voicemail"  # an answering machine's greeting
    NOT_INTERESTED = "not_interested"
    AFFIRM = "affirm"  # go on: yes / go ahead / tell me
    DENY = "deny"


def _any(*phrases: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9'])(?:{'|'.join(phrases)})(?![a-z0-9'])")


_DONT = r"(?:don't|dont|do not|never|no more|stop)"
_CALL = r"(?:call|calls|phone|fone|kaal)"
_KARO = r"(?:karo|karna|kijiye|kijie|kariye|karie|karein|karen|kare|kar|kariyega|karoge|karenge)"
_NOT = r"(?:mat|na|nahi|nahin|nai|mat hi)"
_PERSON = (
    r"(?:insaan|insan|aadmi|admi|vyakti|agent|executive|manager|banda|bande|person|human|ladki|ladka|officer"
    r"|advisor|adviser|representative|senior|supervisor|staff)"
)
# "kisi insaan se baat karao" asks us for a person; "apne manager se baat karke bataunga" (I will ask my own
# manager) does not: only a request ("karao", "karni hai"), never someone of the lead's own.
_OWN = r"(?<!apne )(?<!apni )(?<!mere )(?<!meri )(?<!hamare )(?<!ghar )(?<!ghar ke )(?<!ghar mein )"
_CONNECT_ME = (
    r"(?:(?:baat|bat) (?:karao|karaao|karwao|karvao|karwaiye|karaiye|karaie|kara do|karwa do|kara dijiye"
    r"|karwa dijiye|karni hai|karna hai|karni he|karna he|karni|karna chahta|karna chahti|karna chahunga"
    r"|karna chahungi)|(?:connect|transfer) (?:karo|kijiye|kariye|kar do|kar dijiye|karwao|karao))"
)
_SPEAK = r"(?:bolo|boliye|boliyega|bolna|bolie|kaho|kahiye|kahie|batao|bataiye|bataie|sunao|suniye)"
_NOT_NOW = r"(?<!abhi )(?<!abhi mujhe )(?<!abhi hume )(?<!abhi humein )"
_PATTERNS: dict[Intent, re.Pattern[str]] = {
    Intent.OPT_OUT: _any(
        rf"{_DONT} (?:ever )?(?:call|calling|phone|ring|contact)(?:ing)?(?: me| us| this number| here)?+"
        r"(?! now| right now| today| at| during| in the| till| until| before| after)",
        r"stop (?:calling|call|these calls|this)",
        r"(?:remove|delete|erase|take off|strike off) (?:my|our|this) (?:phone )?(?:number|name|details|data|contact)",
        r"(?:remove|delete|take|strike) (?:me|us|my number|my name|this number) (?:off|from|out)",
        r"remove (?:me|us)",
        r"(?:put|add|register) (?:me|my number|this number) (?:on|in|to|under) "
        r"(?:the )?(?:dnd|d n d|nd|do not disturb)",
        r"dnd",
        r"do not disturb",
        r"unsubscribe",
        r"opt (?:me )?out",
        r"not (?:to )?call me (?:again|anymore|any more|ever)",
        r"never call",
        r"leave me alone",
        # Hinglish: "call mat karna", "dobara phone mat kijiye", "mujhe call na karein". "abhi call mat karo"
        # (not now) is a callback, below.
        # not "call nahi kar paya / kar sakta" (I could not call): that is about the lead, not a request
        rf"{_NOT_NOW}{_CALL}(?: karna| karne)? {_NOT} {_KARO}(?! abhi| paya| paaya| paye| sakta| sakti| sake| saka"
        r"| pa | diya| liya| raha| rahi)",
        rf"{_CALL} (?:karna |karne )?(?:band|bandh) {_KARO}",
        rf"{_CALL} (?:karna |karne )?(?:band|bandh) (?:kar do|kar dijiye|kar dena)",
        r"(?:band|bandh) (?:karo|kijiye|kariye|karein|kar do|kar dijiye|karo ye|karo yeh)",
        rf"(?:aur|koi|aise|ye|yeh|aisi) {_CALL} nahi chahiye",
        rf"{_CALL} nahi chahiye",
        r"d n d",
        r"(?:mera |hamara |ye |yeh |is )?(?:number|naam|no) (?:list se |yahan se )?(?:hata|hatao|hatado|hataiye|hataie"
        r"|hata do|hata dijiye|hata dena|nikal do|nikalo|delete karo|delete kar do|remove karo|remove kar do)",
        r"(?:list|record) se (?:hata|hatao|hata do|nikal|nikalo|nikal do)",
        rf"(?:pareshaan|pareshan|paresan|tang|disturb|harass) {_NOT} {_KARO}",
        r"(?:no|not) (?:more )?calls? (?:again|please)",
    ),
    Intent.HUMAN: _any(
        r"(?:talk|speak|connect|transfer)(?: me)? (?:to|with) (?:a |an |some |your )?"
        r"(?:real |actual |live )?(?:person|human|someone|somebody|agent|executive|representative|manager|man|woman)",
        r"(?:real|actual|live) (?:person|human)",
        r"human being",
        r"customer care",
        rf"{_OWN}{_PERSON} se {_CONNECT_ME}",
        r"kisi (?:aur )?se (?:baat|bat) (?:karao|karaao|karwao|karvao|karwaiye|karaiye|kara do|karwa do|kara dijiye"
        r"|karwa dijiye)",
        rf"(?:baat|bat) (?:karao|karwao|karni hai|karna hai) (?:kisi |ek |asli )?{_PERSON} se",
        rf"{_PERSON} (?:ko )?(?:phone|call|line) (?:do|dijiye|de do|transfer karo|transfer kijiye)",
    ),
    Intent.ROBOT: _any(
        r"(?:are|r) you (?:a |an )?(?:robot|bot|machine|computer|human|real|ai|recording|person|recorded)",
        r"is (?:this|it|that) (?:a |an )?(?:robot|bot|machine|computer|recording|recorded|automated|real person|ai)",
        r"(?:robot|bot|recording) (?:call|calling)",
        r"am i (?:talking|speaking) (?:to|with) (?:a |an )?(?:robot|machine|computer|human|person|real)",
        r"who (?:is|are) (?:this|you|calling|speaking)",
        r"who's (?:this|calling|speaking)",
        r"what is this (?:call )?(?:about|regarding)",
        r"what(?: is|'s) your name",
        r"where are you calling from",
        r"which company",
        r"(?:aap|ap|tum|ye|yeh|kya aap|kya tum) (?:ek |koi )?(?:robot|machine|computer|bot|recording|recorded"
        r"|insaan|insan|asli insaan|real|ai)(?: ho| hai| hain| hoon| bol| se)?",
        r"(?:robot|machine|computer|bot|recording) (?:ho|hai|hain|hu|hoon) kya",
        r"(?:aap|ap|tum) kaun (?:ho|hain|hai|bol|baat)",
        r"kaun (?:bol|baat kar) (?:raha|rahi|rahe)",
        r"kahan se (?:bol|call|phone|baat)",
        r"(?:kis|kaun si|kaunsi) company",
    ),
    Intent.REPEAT: _any(
        r"sorry",
        r"pardon",
        r"come again",
        r"^(?:sorry |hello )?what$",  # a bare "what?", not "what is the price?"
        r"what did you (?:say|ask)",
        r"huh",
        r"(?:can|could|would) you (?:please )?(?:repeat|say (?:that|it) again|say again)",
        r"repeat(?: that| it| please| the question)?",
        r"say (?:that|it) again",
        r"(?:i )?(?:didn't|did not|couldn't|could not|can't|cannot) (?:get|hear|understand|catch) (?:that|you|it)?",
        r"one more time",
        r"kya",
        rf"(?:dobara|dubara|phir se|fir se|phirse|firse|phir|fir|ek baar aur|ek baar phir|phir ek baar) {_SPEAK}",
        r"(?:kya|kyaa) (?:kaha|kahaa|bola|bole|boli|pucha|poocha|puchha)",
        r"(?:samajh|samjh|samaj|samajh mein|samajh me) (?:nahi|nahin|ni|nai) (?:aaya|aya|aayi|aai)",
        r"(?:suna|sunai|sun) (?:nahi|nahin|ni|nai)(?: diya| aaya| paya)?",
    ),
    Intent.VOICEMAIL: _any(
        r"leave (?:a |your |me a )?(?:message|msg|name and number|voice ?mail)",
        r"not available",
        r"unavailable",
        r"after the (?:beep|tone)",
        r"at the (?:beep|tone)",
        r"voice ?mail",
        r"mail ?box",
        r"record your message",
        r"(?:can't|cannot|can not) (?:take|answer) (?:your|the) (?:call|phone)",
        r"(?:get|call) back to you as soon as",
        r"the (?:number|person|subscriber) you (?:have )?(?:called|dialled|dialed|are calling)",
        r"please try (?:again )?later",
        r"beep",
    ),
    Intent.CALLBACK: _any(
        r"(?<!not )(?<!never )busy(?! nahi| nahin| nai)",
        r"(?:call|ring|phone|contact) (?:me |us )?(?:back|later|again|another time|some other time|tomorrow"
        r"|tonight|in the|after|on|at|next|this)",
        r"callback",
        r"call back",
        r"(?:i'm|i am|i'll be|im) (?:driving|in a meeting|at work|travelling|traveling|outside|in office|eating)",
        r"driving",
        r"in a meeting",
        r"not (?:a )?(?:good|right|convenient) time",
        r"(?:bad|wrong) time",
        r"not now",
        r"(?:some ?)?other time",
        r"can't talk",
        r"cannot talk",
        r"can not talk",
        r"not free",
        r"later",
        r"after some time",
        r"baad (?:mein|me|main)",
        r"abhi (?:nahi|nahin|nai|mat|busy|vyast|time nahi|free nahi|baat nahi|nahi ho paayega|nahi ho payega)",
        rf"abhi (?:mujhe |hume |humein )?{_CALL} {_NOT} {_KARO}",
        r"(?:time|samay|waqt|waqt) nahi(?: hai)?",
        r"(?:vyast|bizzy|bizi) (?:hoon|hu|hun|hai|hain)",
        r"meeting (?:mein|me|main)",
        r"(?:gaadi|gadi|car) chala (?:raha|rahi)",
        r"drive kar (?:raha|rahi)",
        r"(?:bahar|office) (?:hoon|hu|hun)",
        r"thodi der (?:baad|mein|me)",
        rf"(?:dobara|phir se|fir se|baad mein|kal|parson|parso|shaam|sham|subah|dopahar|raat|ko) {_CALL} "
        r"(?:karna|karo|kijiye|kijie|kariye|karein|karen|kar lena|kar lijiye|kar dena|karte|kar)",
        r"(?:ghante|ghanta|minute|minutes|min|din) (?:ke )?baad",
    ),
    Intent.NOT_INTERESTED: _any(
        r"not interested",
        r"no interest",
        r"don't want",
        r"do not want",
        r"don't need",
        r"do not need",
        r"(?:interest|interested|intrested|ruchi) (?:nahi|nahin|nai)",
        r"(?:mujhe |hume |humein )?(?:kuch )?nahi chahiye",
        r"(?:koi )?(?:zaroorat|zarurat|jarurat|jaroorat) nahi",
    ),
    Intent.AFFIRM: _any(
        r"yes",
        r"yeah",
        r"yep",
        r"yup",
        r"ya",
        r"sure",
        r"okay",
        r"ok",
        r"go ahead",
        r"go on",
        r"tell me",
        r"speaking",
        r"haan",
        r"haa",
        r"han",
        r"ji",
        r"theek hai",
        r"thik hai",
        r"of course",
        r"fine",
        r"please",
        r"continue",
        r"right",
        r"alright",
        r"carry on",
        r"it is",
        r"good time",
        r"ha",
        r"haanji",
        r"hanji",
        r"haan ji",
        r"ji haan",
        r"bilkul",
        r"sahi hai",
        r"zaroor",
        r"zarur",
        r"jaroor",
        r"jarur",
        # "boliye" alone is "go ahead"; "dobara boliye" is "say it again" (REPEAT)
        r"(?<!dobara )(?<!dubara )(?<!phir se )(?<!fir se )(?<!phirse )(?<!firse )(?<!phir )(?<!fir )(?<!baar )"
        r"(?:boliye|bolo|bataiye|batao)",
        r"chalega",
    ),
    Intent.DENY: _any(r"no", r"nope", r"nah", r"nahi", r"nahin", r"not really", r"nako", r"nhi", r"nahee", r"nehi"),
}

_WRONG_PERSON = _any(
    r"wrong (?:number|person|no)",
    r"galat (?:number|no)",
    r"(?:no|nobody|no one|noone) (?:by|with|of) (?:that|this) name",
    r"no such (?:person|name)",
    r"there (?:is|'s) no [a-z]+(?: [a-z]+)? (?:here|at this number|in this house)",
    r"there's no [a-z]+(?: [a-z]+)? (?:here|at this number)",
    r"don't know (?:any|anyone|anybody|who)",
    r"do not know (?:any|anyone|anybody|who)",
    r"not the (?:right|correct) (?:person|number)",
    r"you have the wrong",
    r"you've got the wrong",
    r"got the wrong",
    r"(?:galat|glat|rong|ghalat) (?:number|numbar|no|insaan|aadmi|vyakti|banda|jagah|bande)",
    r"is (?:naam|name) (?:ka|ki|ke|se) koi nahi",
    r"(?:aise|is) (?:naam|name) (?:ka|ki|ke) koi",
    r"yahan koi [a-z]+ nahi (?:hai|rehta|rehti|rehte)",
)
# "main Ravi nahi hoon" / "Ravi yahan nahi rehta" / "ye Ravi ka number nahi hai": the word where the name goes.
_NOT_NAMED = (
    # not "mein": "ghar mein Ravi nahi hai" is "Ravi is not at home"
    re.compile(r"(?:main|mai|ye|yeh) ([a-z]+) (?:nahi|nahin|nai) (?:hoon|hu|hun|hoo|hai|hain)"),
    re.compile(r"([a-z]+) (?:yahan |yahaan |yaha |idhar )?(?:nahi|nahin|nai) (?:rehta|rehte|rehti|rahta|rahte|rahti)"),
    re.compile(r"(?:ye|yeh|is|yah) ([a-z]+) (?:ka|ki) (?:number|no|phone) nahi"),
    re.compile(r"\b([a-z]+) kaun\b"),  # "Ravi kaun?" = who is Ravi?
    re.compile(r"\bkaun ([a-z]+)\b"),
    re.compile(r"([a-z]+) (?:ko|naam ke kisi ko) (?:nahi|nahin) (?:jaanta|janta|jaanti|janti|jaante|jante)"),
)


def _name_key(word: str) -> str:
    """A name as it sounds: "kumaar" / "kumar", "ravee" / "ravi", "sharmaa" / "sharma" are one name."""
    key = word.lower().replace("ee", "i").replace("oo", "u").replace("w", "v")
    return re.sub(r"(.)\1+", r"\1", key).rstrip("a") or key


def is_wrong_person(norm: str, lead_name: str = "") -> bool:
    """Wrong-number phrases, or "I am not Ravi" / "this is not Ravi" naming the lead we asked for."""
    if _WRONG_PERSON.search(norm):
        return True
    names = [n for n in normalize_text(lead_name).split() if len(n) > 1]
    for name in names:
        if re.search(rf"(?:i am|i'm|im|this is|this isn't|it's|it is) not {re.escape(name)}\b", norm):
            return True
        if re.search(rf"\bno {re.escape(name)} here\b|\bno one called {re.escape(name)}\b", norm):
            return True
        if re.search(rf"\bwho is {re.escape(name)}\b", norm):
            return True
    keys = {_name_key(n) for n in names}
    return any(m.group(1) and _name_key(m.group(1)) in keys for pattern in _NOT_NAMED for m in pattern.finditer(norm))


def detect_intents(text: str, lead_name: str = "") -> set[Intent]:
    """Every intent whose pattern appears in ``text``; the policy decides which one wins."""
    norm = normalize_text(text)
    found = {intent for intent, pattern in _PATTERNS.items() if pattern.search(norm)}
    if is_wrong_person(norm, lead_name):
        found.add(Intent.WRONG_PERSON)
    return found
