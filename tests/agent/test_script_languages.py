"""A script's language and voice: the AI disclosure is checked in the script's language, and the voice must be one
the catalog has that speaks it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.agent.script import ScriptError, parse_script
from engine.agent.script_policy import ScriptPolicy
from engine.records import Lead
from tests.agent.conftest import SCRIPTS_DIR
from tests.agent.test_script_validation import GOOD


def _script(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(yaml.safe_load(GOOD))
    data.update(overrides)
    return data


def _errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ScriptError) as info:
        parse_script(data)
    return {e["field"]: e["message"] for e in info.value.errors}


HINDI_IDENTITY = {"identity": "मैं {agent_name} हूँ, एक एआई सहायक।"}


def test_a_script_without_language_is_indian_english_with_the_language_default_voice() -> None:
    script = parse_script(_script())
    assert (script.language, script.voice) == ("en-IN", None)


@pytest.mark.parametrize(
    ("language", "greeting"),
    [
        ("en-IN", "Hello {lead.name}, this is {agent_name}, an AI assistant from {company}."),
        ("hi-IN", "नमस्ते {lead.name} जी, मैं {agent_name}, {company} की ओर से एक एआई सहायक हूँ।"),
        ("hi-IN", "नमस्ते, मैं {company} की कृत्रिम बुद्धि सहायक {agent_name} हूँ।"),
        ("hi-IN", "नमस्ते, यह {company} की स्वचालित कॉल है।"),
        ("hi-IN", "नमस्ते, मैं {company} का बॉट हूँ।"),
        ("hi-IN", "नमस्ते, मैं {agent_name}, {company} की AI assistant हूँ।"),
        ("hinglish", "Namaste {lead.name} ji, main {agent_name}, {company} se ek AI assistant bol rahi hoon."),
        ("hinglish", "Namaste, main {company} ki kritrim sahayak hoon."),
        ("hinglish", "Namaste, yeh {company} ki swachalit call hai."),
        ("hinglish", "Namaste, main {company} ka bot hoon."),
        ("hinglish", "नमस्ते, मैं {company} की एआई सहायक हूँ।"),
    ],
)
def test_the_greeting_discloses_the_ai_in_the_script_language(language: str, greeting: str) -> None:
    replies = HINDI_IDENTITY if language == "hinglish" else {}
    script = parse_script(_script(language=language, greeting=greeting, replies=replies))
    assert script.language == language


@pytest.mark.parametrize(
    ("language", "greeting", "names"),
    [
        # Hindi words do not disclose anything in an English script, which a Hindi-speaking lead would not hear.
        ("en-IN", "Hello {lead.name}, मैं {agent_name}, एक एआई सहायक।", "'AI'"),
        ("hi-IN", "नमस्ते {lead.name} जी, मैं {agent_name}, {company} से बोल रही हूँ।", "एआई"),
        # "bottle" contains "bot": a word inside another word is no disclosure.
        ("hi-IN", "नमस्ते, {company} की बॉटल वाली कॉल है।", "बॉट"),
        ("hinglish", "Namaste {lead.name} ji, main {agent_name}, {company} se bol rahi hoon.", "kritrim"),
        ("hinglish", "Namaste, {company} ki bottle wali call hai.", "swachalit"),
        # "virtual assistant" hides that it is a machine, in every language.
        ("hinglish", "Namaste, main {company} ki virtual assistant hoon.", "'AI'"),
    ],
)
def test_a_greeting_without_the_disclosure_of_its_language_names_the_accepted_words(
    language: str, greeting: str, names: str
) -> None:
    errors = _errors(_script(language=language, greeting=greeting, replies=HINDI_IDENTITY))
    assert "greeting" in errors
    assert language in errors["greeting"] and names in errors["greeting"]


def test_a_hindi_script_gets_hindi_default_replies_that_disclose_the_ai() -> None:
    script = parse_script(_script(language="hi-IN", greeting="नमस्ते, मैं {agent_name}, एक एआई सहायक हूँ।"))
    assert "एआई" in script.replies.identity
    assert script.replies.still_there == "क्या आप लाइन पर हैं?"
    assert script.closing.no_response.startswith("माफ़ कीजिए")
    assert script.closing.qualified == "Thanks! Goodbye."  # what the script wrote stays


def test_a_hindi_identity_line_without_the_disclosure_is_refused() -> None:
    data = _script(
        language="hi-IN",
        greeting="नमस्ते, मैं {agent_name}, एक एआई सहायक हूँ।",
        replies={"identity": "मैं {agent_name} हूँ, {company} से।"},
    )
    assert "कृत्रिम" in _errors(data)["replies.identity"]


def test_an_english_identity_line_fails_a_hinglish_script_only_when_it_has_no_disclosure() -> None:
    # The default English identity line says "AI", which Hinglish accepts.
    assert parse_script(_script(language="hinglish")).replies.identity.startswith("I am")
    errors = _errors(_script(language="hinglish", replies={"identity": "Main {agent_name} hoon."}))
    assert "kritrim" in errors["replies.identity"]


@pytest.mark.parametrize(
    ("language", "voice"),
    [
        ("en-IN", "en-us-joe"),
        ("en-IN", "en-female"),
        ("en-IN", "espeak-en-female"),
        ("hi-IN", "espeak-hi"),
        ("hi-IN", "hi-piper"),
        ("hinglish", "en-us-joe"),
        ("hinglish", "espeak-hi"),
    ],
)
def test_a_script_may_name_a_voice_that_speaks_its_language(language: str, voice: str) -> None:
    greeting = "Namaste, main {agent_name}, ek AI assistant hoon." if language != "hi-IN" else "मैं एक एआई सहायक हूँ।"
    assert parse_script(_script(language=language, voice=voice, greeting=greeting)).voice == voice


@pytest.mark.parametrize(
    ("language", "voice", "message"),
    [
        ("en-IN", "priya", "unknown voice 'priya'; configured voices: en-us-joe, en-female"),
        ("en-IN", "espeak-hi", "voice 'espeak-hi' does not speak en-IN; voices for en-IN: en-us-joe"),
        ("hi-IN", "en-us-joe", "voice 'en-us-joe' does not speak hi-IN; voices for hi-IN: hi-piper, espeak-hi"),
    ],
)
def test_an_unknown_voice_or_one_of_another_language_is_refused_on_the_voice_field(
    language: str, voice: str, message: str
) -> None:
    greeting = "Hello, this is {agent_name}, an AI assistant." if language == "en-IN" else "मैं एक एआई सहायक हूँ।"
    errors = _errors(_script(language=language, voice=voice, greeting=greeting))
    assert errors["voice"].startswith(message)


def test_an_unknown_language_is_refused_naming_the_languages() -> None:
    errors = _errors(_script(language="hi"))
    assert "language" in errors and "'en-IN', 'hi-IN' or 'hinglish'" in errors["language"]


def test_the_shipped_hindi_script_greets_in_devanagari_with_the_espeak_voice() -> None:
    from engine.agent.script import load_script_file

    script = load_script_file(SCRIPTS_DIR / "solar_hindi.yaml")
    assert (script.language, script.voice) == ("hi-IN", "espeak-hi")
    greeting = ScriptPolicy(script).fixed_lines(Lead(name="Ravi", phone="+919812345678"))[0]
    assert greeting.startswith("नमस्ते Ravi जी") and "एआई" in greeting
