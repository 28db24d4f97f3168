import pytest

from engine.pipeline.listener import ends_sentence, trails_off
from engine.speech.stt import collapse_repeats
from engine.speech.tts import split_for_speech


@pytest.mark.parametrize(
    ("heard", "kept"),
    [
        ("Yes, speaking. Yes, speaking, yes, speaking, speaking,", "Yes, speaking."),
        ("Yes, I omit. Yes, I omen.", "Yes, I omit."),
        (
            "Yes. And my bill is about 5,000 rupees. Yes. And, my bill is 5,000 Rupees.",
            "Yes. And my bill is about 5,000 rupees.",
        ),
        ("No, no, I rent.", "No, no, I rent."),
        ("Yes, and my bill is about 5000 rupees. Yes, and my bill is about", "Yes, and my bill is about 5000 rupees."),
        ("Yes, I own it. Yes", "Yes, I own it."),
        ("I am busy. Call me tomorrow at 5pm.", "I am busy. Call me tomorrow at 5pm."),
        ("Yes, I do. No wait", "Yes, I do. No wait"),
        ("yes yes yes", "yes yes yes"),
        ("Yes, I am interested. Yes, I own my house.", "Yes, I am interested. Yes, I own my house."),
        ("", ""),
    ],
)
def test_collapse_repeats(heard, kept):
    assert collapse_repeats(heard) == kept


def test_long_first_sentence_is_split_at_its_first_clause():
    pieces = split_for_speech(
        "Got it, about 5,000 rupees a month which is quite a lot for a home. Do you own the house?"
    )
    assert pieces[0] == "Got it,"
    assert pieces[-1] == "Do you own the house?"
    assert (
        " ".join(pieces) == "Got it, about 5,000 rupees a month which is quite a lot for a home. Do you own the house?"
    )


def test_short_sentences_stay_whole():
    assert split_for_speech("Hello there. How are you?") == ["Hello there.", "How are you?"]
    assert split_for_speech("   ") == []


def test_an_opening_acknowledgement_is_its_own_piece():
    assert split_for_speech("Okay, 5 years. How much was your premium?") == [
        "Okay,",
        "5 years.",
        "How much was your premium?",
    ]


@pytest.mark.parametrize(
    ("heard", "finished"),
    [
        ("Yes, I do.", True),
        ("Are you a robot?", True),
        ("Stop calling me, remove my number!", True),
        ("Yes, I do", False),  # no final punctuation: Smart-Turn decides
        ("My bill is about.", False),  # ends on a word that leads on
        ("Yes, and.", False),
        ("I was thinking...", False),
        ("", False),
        (".", False),
    ],
)
def test_ends_sentence(heard, finished):
    assert ends_sentence(heard) is finished


@pytest.mark.parametrize(
    ("heard", "leads_on"),
    [
        ("This month", False),
        ("Yes.", False),
        ("Yes, and", True),
        ("My bill is about", True),
        ("um", True),
        ("", True),
    ],
)
def test_trails_off(heard, leads_on):
    assert trails_off(heard) is leads_on
