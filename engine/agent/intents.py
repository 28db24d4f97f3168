"""Conversation intents the script policy must catch in any turn, whatever question is pending.

Pure regular expressions over :func:`engine.agent.slots.normalize_text` output: deterministic, microseconds per
turn, and easy to extend with the phrasings Whisper produces from real calls. Opt-out patterns are deliberately
broad ("stop calling", "put me on DND"): withdrawing consent must be as easy as giving it (DPDP s.6(4)).
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
        r"(?:call|phone) (?:mat|na|nahi) (?:karo|karna|kijiye|kariye|karein)",
        r"(?:no|not) (?:more )?calls? (?:again|please)",
    ),
    Intent.HUMAN: _any(
        r"(?:talk|speak|connect|transfer)(?: me)? (?:to|with) (?:a |an |some |your )?"
        r"(?:real |actual |live )?(?:person|human|someone|somebody|agent|executive|representative|manager|man|woman)",
        r"(?:real|actual|live) (?:person|human)",
        r"human being",
        r"customer care",
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
        r"busy",
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
    ),
    Intent.NOT_INTERESTED: _any(
        r"not interested",
        r"no interest",
        r"don't want",
        r"do not want",
        r"don't need",
        r"do not need",
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
    ),
    Intent.DENY: _any(r"no", r"nope", r"nah", r"nahi", r"nahin", r"not really"),
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
)


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
    return False


def detect_intents(text: str, lead_name: str = "") -> set[Intent]:
    """Every intent whose pattern appears in ``text``; the policy decides which one wins."""
    norm = normalize_text(text)
    found = {intent for intent, pattern in _PATTERNS.items() if pattern.search(norm)}
    if is_wrong_person(norm, lead_name):
        found.add(Intent.WRONG_PERSON)
    return found
