"""How text is cut into pieces TTS can start on: the model's streamed reply, and a whole line."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.speech.sentences import SentenceSplitter, split_first_clause, split_sentences
from engine.speech.tts import split_for_speech


def split_all(pieces: list[str], long_clause_chars: int = 60) -> list[str]:
    splitter = SentenceSplitter(long_clause_chars)
    out = []
    for piece in pieces:
        out += splitter.feed(piece)
    tail = splitter.flush()
    return out + ([tail] if tail else [])


def test_sentences_come_out_as_soon_as_they_are_complete() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Great") == []
    assert splitter.feed("! Do you") == ["Great!"]
    assert splitter.feed(" own your home?") == ["Do you own your home?"]
    assert splitter.feed(" Thanks.") == []  # a full stop waits for the next character
    assert splitter.feed(" ") == ["Thanks."]
    assert splitter.flush() is None


def test_numbers_abbreviations_and_initials_stay_whole() -> None:
    text = "Your bill of Rs. 2.5 lakh is high. Mr. A. Kumar said so. Call me at 5 p.m. tomorrow. OK?"
    assert split_all([text]) == [
        "Your bill of Rs. 2.5 lakh is high.",
        "Mr. A. Kumar said so.",
        "Call me at 5 p.m. tomorrow.",
        "OK?",
    ]


def test_long_clause_is_cut_at_a_comma_short_one_is_not() -> None:
    long = "Thank you so much for taking the time to speak with me this evening, I really appreciate it."
    assert split_all([long]) == [
        "Thank you so much for taking the time to speak with me this evening,",
        "I really appreciate it.",
    ]
    assert split_all(["Yes, that is fine."]) == ["Yes, that is fine."]
    assert split_all(["It costs 1,20,000 rupees."]) == ["It costs 1,20,000 rupees."]


def test_newlines_quotes_and_markdown() -> None:
    assert split_all(['He said "yes." Then', " **nothing**\nNext line"]) == [
        'He said "yes."',
        "Then nothing",
        "Next line",
    ]


@given(st.text(alphabet="ab .,!?\n12", max_size=80), st.lists(st.integers(0, 80), max_size=6))
def test_splitting_loses_no_words_wherever_the_stream_is_cut(text: str, cuts: list[int]) -> None:
    bounds = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert "".join(split_all(pieces, 10)).replace(" ", "") == text.replace(" ", "").replace("\n", "")


def test_chat_template_tokens_are_never_spoken() -> None:
    leaked = "Sure. <s>[INST] <<SYS>>\nHello<|im_end|> there.<end_of_turn></s>"
    assert split_all([leaked]) == ["Sure.", "Hello there."]


AMOUNTS_AND_ABBREVIATIONS = [
    ("The premium is Rs. 500 a month. Is that fine?", ["The premium is Rs. 500 a month.", "Is that fine?"]),
    ("Your loan is ₹1,20,000. Is that right?", ["Your loan is ₹1,20,000.", "Is that right?"]),
    ("It costs 2.5 lakh. Shall I go on?", ["It costs 2.5 lakh.", "Shall I go on?"]),
    ("Mr. Kumar and Dr. Rao agreed. Thanks.", ["Mr. Kumar and Dr. Rao agreed.", "Thanks."]),
    ("Bring an ID, e.g. a PAN card. Okay?", ["Bring an ID, e.g. a PAN card.", "Okay?"]),
    ("Flat No. 5 is ours. No. I rent it.", ["Flat No. 5 is ours.", "No.", "I rent it."]),
    ("Call me at 10 a.m. tomorrow. Bye.", ["Call me at 10 a.m. tomorrow.", "Bye."]),
]


@pytest.mark.parametrize(("text", "sentences"), AMOUNTS_AND_ABBREVIATIONS)
def test_amounts_abbreviations_and_decimals_end_no_sentence(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences
    assert split_all([text]) == sentences
    assert split_all(list(text)) == sentences  # the stream cut after every character
    assert split_for_speech(text)[-1] == sentences[-1]
    assert " ".join(split_for_speech(text)) == " ".join(sentences)


def test_a_number_abbreviation_waits_for_the_next_word() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Flat No. ") == []
    assert splitter.feed("5 is ours. ") == ["Flat No. 5 is ours."]
    assert splitter.feed("No. ") == []
    assert splitter.feed("I rent.") == ["No."]
    assert splitter.flush() == "I rent."


def test_a_whole_line_keeps_its_text_as_written() -> None:
    assert split_sentences("  Hello   there.  How are you?\nFine ") == ["Hello   there.", "How are you?", "Fine"]
    assert split_sentences("   ") == []


def test_first_clause() -> None:
    assert split_first_clause("Okay, 5 years.") == ("Okay,", "5 years.")
    assert split_first_clause("It costs 1,20,000 rupees.") is None
    assert split_first_clause("Well;  fine: yes.") == ("Well;", "fine: yes.")
    assert split_first_clause("Yes,") is None
