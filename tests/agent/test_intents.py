"""Intent detection on the lead turns the policy must react to whatever question is pending."""

from __future__ import annotations

import pytest

from engine.agent.intents import Intent, detect_intents


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Don't call me again.", Intent.OPT_OUT),
        ("Do not call me.", Intent.OPT_OUT),
        ("Please remove my number.", Intent.OPT_OUT),
        ("Remove me from your list.", Intent.OPT_OUT),
        ("Take my number off your list.", Intent.OPT_OUT),
        ("Delete my details.", Intent.OPT_OUT),
        ("Stop calling me!", Intent.OPT_OUT),
        ("Put me on DND.", Intent.OPT_OUT),
        ("Put me on the ND.", Intent.OPT_OUT),  # Whisper tiny.en on 8 kHz audio without the hotword
        ("Not interested, don't call.", Intent.OPT_OUT),
        ("Never call this number again.", Intent.OPT_OUT),
        ("Dobara call mat karna.", Intent.OPT_OUT),
        ("Baad mein call karo.", Intent.CALLBACK),
        ("Galat number hai.", Intent.WRONG_PERSON),
        ("I'm busy now, call me tomorrow at 5.", Intent.CALLBACK),
        ("I am driving.", Intent.CALLBACK),
        ("I'm in a meeting.", Intent.CALLBACK),
        ("Call me later.", Intent.CALLBACK),
        ("This is not a good time.", Intent.CALLBACK),
        ("Can you call back in the evening?", Intent.CALLBACK),
        ("Wrong number.", Intent.WRONG_PERSON),
        ("You have the wrong number.", Intent.WRONG_PERSON),
        ("There is no Ravi here.", Intent.WRONG_PERSON),
        ("I am not Ravi.", Intent.WRONG_PERSON),
        ("No such person.", Intent.WRONG_PERSON),
        ("Are you a robot?", Intent.ROBOT),
        ("Is this a recording?", Intent.ROBOT),
        ("Am I talking to a machine?", Intent.ROBOT),
        ("Who is this?", Intent.ROBOT),
        ("Sorry?", Intent.REPEAT),
        ("Can you repeat that?", Intent.REPEAT),
        ("Pardon?", Intent.REPEAT),
        ("What?", Intent.REPEAT),
        ("Sorry, what?", Intent.REPEAT),
        ("I didn't get that.", Intent.REPEAT),
        ("Let me talk to a person.", Intent.HUMAN),
        ("Can I speak to a human?", Intent.HUMAN),
        ("Connect me to your manager.", Intent.HUMAN),
        ("I want a real person.", Intent.HUMAN),
        ("Please leave a message after the beep.", Intent.VOICEMAIL),
        ("The person you are calling is not available.", Intent.VOICEMAIL),
        ("You have reached the voicemail of Ravi.", Intent.VOICEMAIL),
        ("I'm not interested.", Intent.NOT_INTERESTED),
        ("Yes, speaking.", Intent.AFFIRM),
        ("Go ahead.", Intent.AFFIRM),
        ("Tell me.", Intent.AFFIRM),
        ("No.", Intent.DENY),
    ],
)
def test_detects(text: str, intent: Intent) -> None:
    assert intent in detect_intents(text, "Ravi Kumar")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Don't call me now, call me tomorrow.", Intent.OPT_OUT),  # a callback, not an opt-out
        ("I'm not interested in a loan.", Intent.WRONG_PERSON),  # "I'm not X" only for the lead's name
        ("Yes, I am interested.", Intent.OPT_OUT),
        ("Yes, and my bill is about 3000.", Intent.CALLBACK),
        ("Concrete.", Intent.REPEAT),
        ("What is the price?", Intent.REPEAT),
        ("Yes, I own it.", Intent.VOICEMAIL),
        ("I am Ravi.", Intent.WRONG_PERSON),
        ("Let me take my time.", Intent.OPT_OUT),
        ("I will take this call later.", Intent.OPT_OUT),
        ("Yes, the roof is my own.", Intent.OPT_OUT),
    ],
)
def test_does_not_overreach(text: str, intent: Intent) -> None:
    assert intent not in detect_intents(text, "Ravi Kumar")
