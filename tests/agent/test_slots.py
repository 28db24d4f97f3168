"""Slot extractors on the phrasings Whisper produces from Indian-English telephony speech."""

from __future__ import annotations

from datetime import UTC as ZoneUTC
from datetime import datetime, timedelta

import pytest

from engine.agent.slots import (
    IST,
    extract,
    extract_amount_inr,
    extract_choice,
    extract_number,
    extract_text,
    extract_when,
    extract_yes_no,
    normalize_text,
)
from tests.agent.conversation import CALL_TIME


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 lakh", 500_000),
        ("five lakh", 500_000),
        ("5 lakh rupees", 500_000),
        ("5 lakhs", 500_000),
        ("5 lacs", 500_000),
        ("1.5 lakhs", 150_000),
        ("one and a half lakh", 150_000),
        ("half a lakh", 50_000),
        ("a lakh", 100_000),
        ("two point five lakh", 250_000),
        ("2 point 5 lakh", 250_000),
        ("2.5 crore", 25_000_000),
        ("1 crore", 10_000_000),
        ("50,000", 50_000),
        ("fifty thousand", 50_000),
        ("Rs. 3000", 3_000),
        ("Rs.1500", 1_500),
        ("Rs 2,500/-", 2_500),
        ("3k", 3_000),
        ("50K", 50_000),
        ("₹1,20,000", 120_000),
        ("₹3,000", 3_000),
        ("5000 rupees", 5_000),
        ("5000rs", 5_000),
        ("INR 4500", 4_500),
        ("three thousand five hundred", 3_500),
        ("twelve hundred", 1_200),
        ("nine hundred and fifty", 950),
        ("twenty five thousand rupees", 25_000),
        ("5 lakh 20 thousand", 520_000),
        ("paanch hazaar, 5 hazaar", 5_000),
        ("Thousand rupees.", 1_000),
        ("Hundred rupees.", 100),
        ("Lakh.", 100_000),
        ("About 3000 rupees.", 3_000),
        ("Around 3,000.", 3_000),
        ("I pay 3,000 a month.", 3_000),
        ("Yes, and my bill is about 3000.", 3_000),
        ("It's about 2 to 3 thousand.", 2_500),
        ("2000-3000", 2_500),
        ("I have 2 ACs and pay 4000.", 4_000),  # no currency word: the largest amount
        ("It comes to 2 months, 1500 rupees", 1_500),  # next to "rupees" wins
        ("one moment, it's about 4000", 4_000),
    ],
)
def test_amount_inr(text: str, expected: int) -> None:
    value = extract_amount_inr(text)
    assert value == expected
    assert isinstance(value, int)


@pytest.mark.parametrize("text", ["", "No idea.", "I don't know", "Rupees.", "Hmm.", "Grand.", "K."])
def test_amount_inr_none(text: str) -> None:
    assert extract_amount_inr(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.", True),
        ("Yeah.", True),
        ("Yes, I am.", True),
        ("Yes, I do.", True),
        ("Yep", True),
        ("Sure.", True),
        ("Of course.", True),
        ("Haan", True),
        ("Haan ji", True),
        ("theek hai", True),
        ("Okay.", True),
        ("Yes, I own it.", True),
        ("Correct.", True),
        ("No.", False),
        ("Nope", False),
        ("Nah.", False),
        ("nahi", False),
        ("No, I don't.", False),
        ("Not really.", False),
        ("Of course not.", False),
        ("I am not interested.", False),
        ("No, no.", False),
        ("It's rented.", False),
    ],
)
def test_yes_no(text: str, expected: bool) -> None:
    assert extract_yes_no(text) is expected


@pytest.mark.parametrize("text", ["", "Hmm.", "I'm not sure.", "Maybe.", "I don't know.", "What?"])
def test_yes_no_unclear(text: str) -> None:
    assert extract_yes_no(text) is None


def test_yes_no_question_synonyms() -> None:
    assert extract_yes_no("We are the landlord.", no_words=["landlord"]) is False
    assert extract_yes_no("It is our own place.", yes_words=["our own"]) is True
    assert extract_yes_no("landlord") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("Five years.", 5),
        ("It's about 7 years old.", 7),
        ("twenty five", 25),
        ("2.5", 2.5),
        ("1,200", 1200),
        ("around twelve", 12),
        ("one hundred and ten", 110),
    ],
)
def test_number(text: str, expected: float) -> None:
    assert extract_number(text) == expected


@pytest.mark.parametrize("text", ["", "none", "I don't know", "a few"])
def test_number_none(text: str) -> None:
    assert extract_number(text) is None


ROOF = {"concrete": ["concrete", "cement", "rcc", "flat"], "sheet": ["sheet", "tin", "metal", "asbestos"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Concrete.", "concrete"),
        ("It is concrete", "concrete"),
        ("RCC roof.", "concrete"),
        ("Cement.", "concrete"),
        ("It's a metal sheet.", "sheet"),
        ("Tin roof", "sheet"),
        ("Not concrete, it's tin.", "sheet"),
        ("Sheet", "sheet"),
    ],
)
def test_choice(text: str, expected: str) -> None:
    assert extract_choice(text, ROOF) == expected


@pytest.mark.parametrize("text", ["", "I don't know.", "Concrete and sheet both.", "Tiles."])
def test_choice_none(text: str) -> None:
    assert extract_choice(text, ROOF) is None


def test_choice_multiword_option_names() -> None:
    options = {"this_month": ["within a month"], "next_month": [], "later": ["next year"]}
    assert extract_choice("This month.", options) == "this_month"
    assert extract_choice("next month", options) == "next_month"
    assert extract_choice("Next year, I think.", options) == "later"
    assert extract_choice("within a month", options) == "this_month"


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    day = CALL_TIME + timedelta(days=days)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


# CALL_TIME is Friday 27 November 2026, 11:00 IST.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow evening", _at(1, 18)),
        ("Tomorrow evening.", _at(1, 18)),
        ("Monday at 5", _at(3, 17)),
        ("Monday at 5.", _at(3, 17)),
        ("after two hours", _at(0, 13)),
        ("After 2 hours.", _at(0, 13)),
        ("in 30 minutes", _at(0, 11, 30)),
        ("In half an hour.", _at(0, 11, 30)),
        ("after an hour", _at(0, 12)),
        ("in a couple of hours", _at(0, 13)),
        ("tomorrow at 5 pm", _at(1, 17)),
        ("Tomorrow at 5 p.m.", _at(1, 17)),
        ("Call me tomorrow at five.", _at(1, 17)),
        ("I'm busy now, call me tomorrow at 5", _at(1, 17)),
        ("tomorrow at 10:30 am", _at(1, 10, 30)),
        ("tomorrow", _at(1, 11)),
        ("this evening", _at(0, 18)),
        ("tonight", _at(0, 20)),
        ("at 4:30 pm", _at(0, 16, 30)),
        ("5 pm", _at(0, 17)),
        ("at 10", _at(1, 10)),  # 10:00 already passed today
        ("next week", _at(3, 11)),  # next Monday
        ("Saturday morning", _at(1, 10)),
        ("on Friday", _at(7, 11)),  # today is Friday: the next one
        ("day after tomorrow at 11 am", _at(2, 11)),
        ("after 2 days", _at(2, 11)),
        ("kal shaam 5 baje", _at(1, 17)),  # Hinglish: tomorrow evening at 5
        ("Kal subah.", _at(1, 10)),
        ("2 ghante baad", _at(0, 13)),
    ],
)
def test_when(text: str, expected: datetime) -> None:
    value = extract_when(text, CALL_TIME)
    assert value == expected
    assert value is not None and value.utcoffset() == timedelta(hours=5, minutes=30)


def test_when_resolves_in_india_whatever_zone_the_call_time_is_in() -> None:
    utc_now = CALL_TIME.astimezone(ZoneUTC)
    value = extract_when("tomorrow at 5 pm", utc_now)
    assert value == _at(1, 17)
    assert value is not None and value.tzinfo == IST


@pytest.mark.parametrize("text", ["", "later", "some other time", "I don't know", "yes"])
def test_when_none(text: str) -> None:
    assert extract_when(text, CALL_TIME) is None


def test_text_and_dispatch() -> None:
    assert extract_text("  My name is   Ravi. ") == "My name is Ravi."
    assert extract_text(" ... ") is None
    assert extract("amount_inr", "5 lakh") == 500_000
    assert extract("choice", "tin", options=ROOF) == "sheet"
    assert extract("when", "tomorrow evening", now=CALL_TIME) == _at(1, 18)
    with pytest.raises(ValueError, match="unknown slot type"):
        extract("colour", "red")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rs. 2,500/-", "rs 2500"),
        ("₹1,20,000", "rs 120000"),
        ("Don't call me!", "don't call me"),
        ("5 P.M.", "5 pm"),
        ("It's 5:30.", "it's 5:30"),
        ("3k", "3 k"),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected
