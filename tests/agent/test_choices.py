"""One-word answers to choice questions that speech recognition bends into a near word: matched by stem, sound or
a small edit distance, confirmed by the agent ("Just to confirm, self employed?") and settled by a yes or no."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.agent.choices import near_choice, phonetic_key, stem
from engine.agent.script import AgentScript, load_script_file
from engine.agent.script_policy import ScriptPolicy
from engine.records import Outcome
from tests.agent.conftest import SCRIPTS_DIR
from tests.agent.conversation import Silence, run_call

EMPLOYMENT = {
    "salaried": ["salaried", "job", "naukri", "service", "private job", "government job"],
    "self_employed": ["self employed", "freelancer", "freelance", "consultant", "professional"],
    "business": ["business", "shop", "dukaan", "trader", "own company"],
    "student": ["student", "studying", "college"],
}
ROOF = {"concrete": ["concrete", "cement", "rcc", "flat", "terrace", "slab"],
        "sheet": ["sheet", "tin", "metal", "asbestos", "tiles", "tile"]}  # fmt: skip

NEAR = [
    ("self employee", EMPLOYMENT, "self_employed"),
    ("Self-employee.", EMPLOYMENT, "self_employed"),
    ("selfemployed", EMPLOYMENT, "self_employed"),
    ("umm, salary ji", EMPLOYMENT, "salaried"),
    ("Salary.", EMPLOYMENT, "salaried"),
    ("businessman", EMPLOYMENT, "business"),
    ("Business man.", EMPLOYMENT, "business"),
    ("freelancing", EMPLOYMENT, "self_employed"),
    ("students", EMPLOYMENT, "student"),
    ("concreet", ROOF, "concrete"),
    ("Konkreet.", ROOF, "concrete"),
    ("sheets", ROOF, "sheet"),
    ("metals", ROOF, "sheet"),
]
NOT_NEAR = [
    ("I do not know", EMPLOYMENT),
    ("retired", EMPLOYMENT),
    ("yes", EMPLOYMENT),
    ("not salary", EMPLOYMENT),
    ("my husband handles all this, ask him later please", EMPLOYMENT),
    ("shit", ROOF),
    ("no", ROOF),
]


@pytest.mark.parametrize(("text", "options", "option"), NEAR)
def test_near_word_finds_its_option(text: str, options: dict[str, list[str]], option: str) -> None:
    assert near_choice(text, options) == option


@pytest.mark.parametrize(("text", "options"), NOT_NEAR)
def test_unrelated_answer_is_not_near_any_option(text: str, options: dict[str, list[str]]) -> None:
    assert near_choice(text, options) is None


def test_stem_and_sound_keys() -> None:
    assert stem("salaried") == stem("salary") == "salari"
    assert stem("employed") == stem("employee") == "employ"
    assert stem("businessman") == "business"
    assert phonetic_key("concreet") == phonetic_key("concrete")


# The noun, person and run-together forms of an option, as the lead says them and as the re-prompt itself words
# them ("is your income from a salary, self employment, or a business?").
WORD_FORMS = {
    "self_employed": ["self employment", "Self-employment.", "self employee", "Self-employee", "selfemployed",
                      "self employ"],
    "salaried": ["salary", "Salary", "salaries"],
    "business": ["businessman", "Business man", "businessmen", "business woman"],
    "student": ["students"],
}  # fmt: skip
AROUND = ["{x}", "{x}.", "umm, {x}", "it's {x}", "{x}, sir", "{x} ji", "I am {x}", "mera {x} hai", "{x} only"]


@pytest.mark.parametrize("option", list(WORD_FORMS))
def test_word_forms_of_an_option_are_near_it(option: str) -> None:
    cases = [(around.format(x=form), option) for form in WORD_FORMS[option] for around in AROUND]
    wrong = [(text, near_choice(text, EMPLOYMENT)) for text, want in cases if near_choice(text, EMPLOYMENT) != want]
    assert not wrong, wrong


def test_stem_takes_the_noun_suffix_off() -> None:
    assert stem("employment") == stem("employed") == "employ"
    assert stem("payment") == "payment"  # too short a stem to take a suffix off


@pytest.fixture(scope="module")
def loan() -> AgentScript:
    return load_script_file(SCRIPTS_DIR / "two_wheeler_loan.yaml")


@pytest.fixture
def loan_policy(loan: AgentScript) -> Callable[[], ScriptPolicy]:
    return lambda: ScriptPolicy(loan)


START = ["Yes, go ahead.", "Yes."]  # greeting, wants_loan; then the employment question is pending


async def test_near_answer_is_confirmed_and_yes_records_the_option(loan_policy: Callable[[], ScriptPolicy]) -> None:
    call = await run_call(loan_policy(), [*START, "Self employee.", "Yes."])
    assert call.said[3] == "Just to confirm, self employed?"
    assert call.slots["employment"] == "self_employed"
    assert call.said[4] == "Roughly what is your monthly income?"


@pytest.mark.parametrize("yes", ["Haan ji.", "हाँ", "Yes, correct.", "Self employed."])
async def test_confirmation_accepts_a_yes_in_any_language_or_the_option_itself(
    loan_policy: Callable[[], ScriptPolicy], yes: str
) -> None:
    call = await run_call(loan_policy(), [*START, "Salary.", yes])
    assert call.said[3] == "Just to confirm, salaried?"
    assert call.slots["employment"] == ("self_employed" if "employed" in yes else "salaried")


async def test_no_to_the_confirmation_takes_the_option_named_with_it(loan_policy: Callable[[], ScriptPolicy]) -> None:
    call = await run_call(loan_policy(), [*START, "Servise.", "No, business."])
    assert call.said[3] == "Just to confirm, salaried?"
    assert call.slots["employment"] == "business"


async def test_a_plain_no_to_the_confirmation_reasks_the_question(loan_policy: Callable[[], ScriptPolicy]) -> None:
    call = await run_call(loan_policy(), [*START, "Salary.", "No.", "Business."])
    assert call.said[4] == "Sorry, is your income from a salary, self employment, or a business?"
    assert call.slots["employment"] == "business"


async def test_exact_answer_is_not_confirmed(loan_policy: Callable[[], ScriptPolicy]) -> None:
    call = await run_call(loan_policy(), [*START, "Self employed."])
    assert call.slots["employment"] == "self_employed"
    assert not any("confirm" in line for line in call.said)


async def test_near_answer_in_the_demo_script(solar_policy: Callable[[], ScriptPolicy]) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Yes.", "Yes.", "3000 rupees.", "Concreet.", "Yes."])
    assert call.said[-2].endswith("Just to confirm, concrete?")
    assert call.slots["roof_type"] == "concrete"
    assert call.outcome is Outcome.QUALIFIED


async def test_unclear_after_the_reprompt_is_unknown_and_the_call_goes_on_to_needs_review(
    loan_policy: Callable[[], ScriptPolicy],
) -> None:
    call = await run_call(
        loan_policy(), [*START, "Business.", "It depends on the season.", "Hard to say, it varies.", "Yes."]
    )
    assert call.slots == {"wants_loan": True, "employment": "business", "monthly_income": None, "has_licence": True}
    assert call.outcome is Outcome.NEEDS_REVIEW
    assert call.last_said() == "Thank you. A loan officer will check your details and call you back. Goodbye."


async def test_unknown_slot_the_rule_does_not_need_still_decides(loan_policy: Callable[[], ScriptPolicy]) -> None:
    # No licence: not qualified whatever the income was.
    call = await run_call(loan_policy(), [*START, "Business.", "Umm.", "Hmm, it depends.", "No."])
    assert call.slots["monthly_income"] is None
    assert call.outcome is Outcome.NOT_QUALIFIED


async def test_a_lead_who_says_nothing_is_still_no_response(loan_policy: Callable[[], ScriptPolicy]) -> None:
    call = await run_call(loan_policy(), [Silence(), Silence()])
    assert call.outcome is Outcome.NO_RESPONSE
