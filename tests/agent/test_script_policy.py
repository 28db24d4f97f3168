"""The script policy driven as text conversations over both shipped scripts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from engine.agent.intents import Intent, detect_intents
from engine.agent.policy import DialoguePolicy, EndCall, OptOut, PolicyContext, RecordSlot, Say, ScheduleCallback
from engine.agent.script import AgentScript, parse_script
from engine.agent.script_policy import ScriptPolicy, format_inr, spoken_time
from engine.agent.slots import IST
from engine.records import Lead, Outcome
from tests.agent.conversation import CALL_TIME, RAVI, Dtmf, Silence, Turn, run_call

PolicyMaker = Callable[[], ScriptPolicy]


def test_implements_the_dialogue_policy_protocol(solar: AgentScript) -> None:
    assert isinstance(ScriptPolicy(solar), DialoguePolicy)


async def test_greeting_renders_lead_and_discloses_ai(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), [])
    [greeting] = call.replies[0]
    assert isinstance(greeting, Say) and greeting.cacheable
    assert greeting.text.startswith("Hello Ravi Kumar, this is Priya, an AI assistant calling from SunRoof Solar")


# -- demo (solar) script ---------------------------------------------------------------------------------
async def test_solar_qualified(solar_policy: PolicyMaker) -> None:
    call = await run_call(
        solar_policy(),
        ["Yes, speaking.", "Yes, I am interested.", "Yes, I own it.", "About 3,000 rupees.", "Concrete."],
    )
    assert call.outcome is Outcome.QUALIFIED
    assert call.slots == {"interested": True, "owns_home": True, "monthly_bill": 3000, "roof_type": "concrete"}
    assert call.said[1] == "Would you like to cut your electricity bill with rooftop solar?"
    # the number is confirmed together with the next question, in one line
    assert "Got it, about 3,000 rupees a month. Is your roof concrete or a metal sheet?" in call.said
    assert call.last_said().startswith("Thank you! Our solar expert")
    assert not call.opted_out


async def test_solar_not_qualified_by_the_qualify_rule(solar_policy: PolicyMaker) -> None:
    call = await run_call(
        solar_policy(), ["Yes.", "Yes.", "No, it is rented.", "Around one thousand rupees.", "Metal sheet."]
    )
    assert call.outcome is Outcome.NOT_QUALIFIED
    assert call.slots == {"interested": True, "owns_home": False, "monthly_bill": 1000, "roof_type": "sheet"}
    assert call.last_said() == "Thank you for your time. Have a nice day. Goodbye."


async def test_solar_small_bill_does_not_qualify(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Yes.", "Haan.", "1500 rupees", "RCC"])
    assert call.outcome is Outcome.NOT_QUALIFIED
    assert call.slots["monthly_bill"] == 1500


async def test_stop_if_ends_the_questions(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes, go ahead.", "No, not really.", "should never be asked"])
    assert call.outcome is Outcome.NOT_QUALIFIED
    assert call.slots == {"interested": False}
    assert len(call.replies) == 3  # greeting, first question, close


async def test_opt_out_mid_call_in_the_same_turn(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes, tell me.", "Yes.", "Please do not call me again."])
    last = call.replies[-1]
    assert isinstance(last[0], OptOut)
    assert last[1] == Say("Understood. We will not call you again. Goodbye.", cacheable=True)
    assert last[2] == EndCall(Outcome.OPTED_OUT)
    assert call.outcome is Outcome.OPTED_OUT
    assert call.slots == {"interested": True}


@pytest.mark.parametrize(
    "utterance",
    ["Stop calling me.", "Remove my number.", "Put me on DND.", "Not interested, don't call.", "Never call again."],
)
async def test_opt_out_phrasings_at_any_point(solar_policy: PolicyMaker, utterance: str) -> None:
    for turns in ([utterance], ["Yes.", utterance], ["Yes.", "Yes.", "Yes.", utterance]):
        call = await run_call(solar_policy(), turns)
        assert call.outcome is Outcome.OPTED_OUT, (turns, call.said)
        assert call.opted_out


async def test_callback_with_time_at_greeting(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["I'm busy now, call me tomorrow at 5 pm."])
    at = datetime(2026, 11, 28, 17, 0, tzinfo=IST)
    [schedule] = call.callbacks
    assert schedule.at == at and schedule.at.tzinfo is not None
    assert call.slots == {"callback_at": at.isoformat()}
    assert call.outcome is Outcome.CALLBACK_REQUESTED
    assert call.last_said() == "Sure, I will call you back tomorrow at 5 PM. Goodbye."
    assert isinstance(call.actions[-2], Say) and not call.actions[-2].cacheable


async def test_callback_asks_for_a_time_once(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["I am driving.", "Monday evening."])
    assert call.said[1] == "Sure. When should I call you back?"
    assert call.callbacks[0].at == datetime(2026, 11, 30, 18, 0, tzinfo=IST)
    assert call.last_said() == "Sure, I will call you back on Monday at 6 PM. Goodbye."


async def test_callback_without_any_time(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Not now.", "I don't know, just later."])
    assert call.outcome is Outcome.CALLBACK_REQUESTED
    assert call.callbacks[0].at is None
    assert call.slots == {"callback_at": None}
    assert call.last_said() == "Sure, I will call you back later. Goodbye."


async def test_callback_mid_questions(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Yes.", "Call me back after two hours, I'm busy."])
    assert call.outcome is Outcome.CALLBACK_REQUESTED
    assert call.callbacks[0].at == CALL_TIME + timedelta(hours=2)
    assert call.slots["interested"] is True


async def test_no_at_the_greeting_means_not_now(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["No.", "Tomorrow evening."])
    assert call.outcome is Outcome.CALLBACK_REQUESTED
    assert call.callbacks[0].at == datetime(2026, 11, 28, 18, 0, tzinfo=IST)


@pytest.mark.parametrize("utterance", ["Wrong number.", "There is no Ravi here.", "I am not Ravi."])
async def test_wrong_person(solar_policy: PolicyMaker, utterance: str) -> None:
    call = await run_call(solar_policy(), [utterance])
    assert call.outcome is Outcome.WRONG_PERSON
    assert call.last_said() == "Sorry for the trouble. Have a nice day. Goodbye."
    assert call.slots == {}


async def test_voicemail_leaves_the_message(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Hi, I am not available. Please leave a message after the beep."])
    assert call.outcome is Outcome.VOICEMAIL
    assert call.replies[-1][0] == Say(
        "Hello, this is Priya, an AI assistant from SunRoof Solar, about rooftop solar. We will call you again. "
        "Thank you.",
        cacheable=True,
    )


async def test_voicemail_without_a_message_hangs_up(solar: AgentScript) -> None:
    data = solar.model_dump()
    data["voicemail_message"] = None
    call = await run_call(ScriptPolicy(parse_script(data)), ["You have reached the voicemail of Ravi."])
    assert call.replies[-1] == [EndCall(Outcome.VOICEMAIL)]


async def test_an_answering_machine_found_by_its_audio_gets_the_voicemail_message(solar: AgentScript) -> None:
    ctx = PolicyContext(lead=RAVI, call_started_at=CALL_TIME)
    actions = [a async for a in ScriptPolicy(solar).on_answering_machine(ctx)]
    message = solar.render(solar.voicemail_message or "", RAVI)
    assert actions == [Say(message, cacheable=True), EndCall(Outcome.VOICEMAIL)]
    data = solar.model_dump()
    data["voicemail_message"] = None
    silent = [a async for a in ScriptPolicy(parse_script(data)).on_answering_machine(ctx)]
    assert silent == [EndCall(Outcome.VOICEMAIL)]


async def test_voicemail_phrases_later_in_the_call_are_not_voicemail(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Yes.", "Yes.", "Not available now, call me tomorrow."])
    assert call.outcome is Outcome.CALLBACK_REQUESTED


async def test_silence_twice_at_greeting(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), [Silence(), Silence()])
    assert call.said[1:3] == ["Are you still there?", "Is this a good time to talk?"]
    assert call.outcome is Outcome.NO_RESPONSE
    assert call.last_said() == "Sorry, I cannot hear you. We will try another time. Goodbye."


async def test_silence_reprompts_the_pending_question_then_resumes(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Yes.", Silence(), "Yes, I own it.", Silence(), Silence()])
    assert call.replies[3] == [
        Say("Are you still there?", cacheable=True),
        Say("Do you own the house you live in?", cacheable=True),
    ]
    assert call.slots == {"interested": True, "owns_home": True}
    assert call.outcome is Outcome.NO_RESPONSE


async def test_early_answer_is_recorded_and_its_question_skipped(solar_policy: PolicyMaker) -> None:
    call = await run_call(
        solar_policy(), ["Yes, speaking.", "Yes, and my bill is about 3000.", "Yes, I own it.", "Concrete."]
    )
    assert call.outcome is Outcome.QUALIFIED
    assert call.slots == {"interested": True, "monthly_bill": 3000, "owns_home": True, "roof_type": "concrete"}
    assert call.said[2] == "Got it, about 3,000 rupees a month. Do you own the house you live in?"
    assert "Roughly how much is your monthly electricity bill?" not in call.said


async def test_early_choice_answer(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Yes.", "Yes, my own house with a concrete roof.", "5 lakh"])
    assert call.slots["roof_type"] == "concrete"
    assert call.slots["monthly_bill"] == 500_000
    assert call.outcome is Outcome.QUALIFIED
    assert call.said[-2] == "Got it, about 5 lakh rupees a month."


async def test_robot_question_gets_the_truth_and_the_question_again(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Are you a robot?", "Yes.", "Is this a recording?"])
    assert call.replies[2] == [
        Say("I am Priya, an AI assistant calling from SunRoof Solar.", cacheable=True),
        Say("Would you like to cut your electricity bill with rooftop solar?", cacheable=True),
    ]
    assert call.replies[4][0].text.startswith("I am Priya, an AI assistant")  # type: ignore[union-attr]
    assert call.outcome is None  # the call goes on


async def test_robot_question_at_greeting(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Who is this?", "Okay, go ahead."])
    assert call.said[1:3] == ["I am Priya, an AI assistant calling from SunRoof Solar.", "Is this a good time to talk?"]
    assert call.said[3] == "Would you like to cut your electricity bill with rooftop solar?"


async def test_repeat_request(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Sorry? Can you repeat?", "Pardon?", "Yes."])
    ask = "Would you like to cut your electricity bill with rooftop solar?"
    assert call.said[1:4] == [ask, ask, ask]
    assert call.slots == {"interested": True}  # repeats are not counted as failed answers


async def test_repeat_at_greeting_repeats_the_greeting(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Sorry, what?"])
    assert call.said[1] == call.said[0]


async def test_unclear_answer_is_reasked_once_then_recorded_as_none(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Yes.", "Yes.", "Hmm, it depends.", "No idea.", "Tin."])
    assert call.said[4] == "Sorry, about how many rupees is your electricity bill each month?"
    assert call.slots["monthly_bill"] is None
    assert call.slots["roof_type"] == "sheet"
    # an unknown bill never qualifies; the lead answered, so a person reviews it instead of "not qualified"
    assert call.outcome is Outcome.NEEDS_REVIEW


async def test_human_request(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", "Let me talk to a person."])
    [schedule] = call.callbacks
    assert schedule.at is None and "person" in schedule.note
    assert call.outcome is Outcome.CALLBACK_REQUESTED
    assert call.last_said() == "Sure, a person from SunRoof Solar will call you back. Goodbye."


async def test_dtmf_1_asks_for_a_person(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["Yes.", Dtmf("1")])
    assert call.outcome is Outcome.CALLBACK_REQUESTED
    assert "pressed 1" in call.callbacks[0].note


async def test_dtmf_9_opts_out(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), [Dtmf("9")])
    assert [type(a) for a in call.replies[-1]] == [OptOut, Say, EndCall]
    assert call.outcome is Outcome.OPTED_OUT


async def test_other_dtmf_digits_are_ignored(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), [Dtmf("5"), Dtmf("#"), "Yes."])
    assert call.replies[1] == [] and call.replies[2] == []
    assert call.said[-1] == "Would you like to cut your electricity bill with rooftop solar?"


@pytest.mark.parametrize("utterance", ["I'm not interested.", "No, not interested."])
async def test_not_interested_at_greeting(solar_policy: PolicyMaker, utterance: str) -> None:
    call = await run_call(solar_policy(), [utterance])
    assert call.outcome is Outcome.NOT_QUALIFIED
    assert not call.opted_out  # declining is not withdrawing consent; "don't call me" is


async def test_nothing_after_the_call_ended(solar_policy: PolicyMaker) -> None:
    policy = solar_policy()
    call = await run_call(policy, ["Wrong number."])
    assert call.ctx is not None
    assert [a async for a in policy.on_lead_turn(call.ctx, "Yes.")] == []
    assert [a async for a in policy.on_silence(call.ctx, 1)] == []
    assert [a async for a in policy.on_dtmf(call.ctx, "9")] == []


async def test_hinglish_answers(solar_policy: PolicyMaker) -> None:
    call = await run_call(
        solar_policy(), ["Haan ji, boliye.", "Haan.", "Theek hai, haan.", "Pachas hazaar. 50,000.", "Tin sheet."]
    )
    assert call.slots == {"interested": True, "owns_home": True, "monthly_bill": 50_000, "roof_type": "sheet"}


async def test_every_cacheable_line_is_a_fixed_line(solar: AgentScript, car: AgentScript) -> None:
    conversations: list[list[Turn]] = [
        ["Yes.", "Yes.", "Yes.", "3000", "Concrete."],
        ["Who is this?", "Hello?", "Sorry?", "Yes.", "hmm", "hmm", Silence(), "No."],
        ["Busy.", "later"],
        [Silence(), Silence()],
        ["Please leave a message."],
        ["Yes.", Dtmf("9")],
        ["Yes.", Dtmf("1")],
        ["Wrong number."],
        ["Yes.", "No."],
    ]
    for script in (solar, car):
        for lead in (RAVI, Lead(name="Asha", phone="+919800000000")):
            fixed = set(ScriptPolicy(script).fixed_lines(lead))
            for turns in conversations:
                call = await run_call(ScriptPolicy(script), turns, lead=lead)
                for action in call.actions:
                    if isinstance(action, Say) and action.cacheable:
                        assert action.text in fixed, (script.name, action.text)


def test_fixed_lines_are_rendered_and_exclude_callback_times(solar: AgentScript) -> None:
    lines = ScriptPolicy(solar).fixed_lines(RAVI)
    assert lines[0].startswith("Hello Ravi Kumar, this is Priya")
    assert "Would you like to cut your electricity bill with rooftop solar?" in lines
    assert "Understood. We will not call you again. Goodbye." in lines
    assert not any("{" in line for line in lines)
    assert not any("call you back" in line and "{callback_at}" in line for line in lines)
    assert len(lines) == len(set(lines))


def test_stt_prompt_biases_towards_company_agent_and_hotwords(solar: AgentScript) -> None:
    prompt = ScriptPolicy(solar).stt_prompt()
    assert prompt is not None and len(prompt) <= 240
    for word in ("SunRoof Solar", "Priya", "lakh", "crore", "rupees", "concrete"):
        assert word in prompt
    # never an opt-out phrase: an echoed prompt must not opt anybody out
    assert detect_intents(prompt) & {Intent.OPT_OUT, Intent.WRONG_PERSON, Intent.CALLBACK} == set()


def test_stt_prompt_leaves_out_words_that_would_end_a_call(car: AgentScript) -> None:
    prompt = ScriptPolicy(car).stt_prompt()
    assert prompt is not None and "SafeDrive" in prompt and "next month" in prompt
    assert "later" not in prompt  # an echoed "later" would read as a callback request
    assert Intent.CALLBACK not in detect_intents(prompt)


async def test_prompt_echo_is_treated_as_an_unclear_turn(solar_policy: PolicyMaker) -> None:
    echo = "SunRoof, solar, lakh, kilowatt, kilowatt, kilowatt."
    call = await run_call(solar_policy(), ["Yes.", echo, echo])
    assert call.said[2] == "Sorry, would you be interested in rooftop solar, yes or no?"
    assert call.slots == {"interested": None}


def test_spoken_helpers() -> None:
    assert format_inr(3000) == "3,000 rupees"
    assert format_inr(250_000) == "2.5 lakh rupees"
    assert format_inr(12_000_000) == "1.2 crore rupees"
    assert spoken_time(None, CALL_TIME) == "later"
    assert spoken_time(CALL_TIME.replace(hour=17, minute=30), CALL_TIME) == "today at 5:30 PM"
    assert spoken_time(CALL_TIME + timedelta(days=3), CALL_TIME) == "on Monday at 11 AM"
    assert spoken_time(CALL_TIME + timedelta(days=10), CALL_TIME) == "on 7 December at 11 AM"


# -- car-insurance script --------------------------------------------------------------------------------
async def test_car_qualified_with_robot_and_repeat(car_policy: PolicyMaker) -> None:
    call = await run_call(
        car_policy(),
        [
            "Are you a robot?",
            "Okay, go ahead.",
            "Yes, I do.",
            "Sorry, can you repeat?",
            "This month.",
            "Five years.",
            "Twelve thousand rupees.",
            "Yes, please.",
        ],
    )
    assert call.said[1] == "I am Arjun, an AI assistant from SafeDrive Insurance."
    assert call.outcome is Outcome.QUALIFIED
    assert call.slots == {
        "owns_car": True,
        "expiry": "this_month",
        "car_age": 5,
        "premium": 12_000,
        "wants_quote": True,
    }
    assert "Okay, 5 years. How much was your last insurance premium?" in call.said
    assert "Got it, about 12,000 rupees. Shall I send you a cheaper quote on WhatsApp?" in call.said


async def test_car_stop_if_choice(car_policy: PolicyMaker) -> None:
    call = await run_call(car_policy(), ["Yes.", "Yes.", "Next year."])
    assert call.outcome is Outcome.NOT_QUALIFIED
    assert call.slots == {"owns_car": True, "expiry": "later"}
    assert call.last_said() == "Thank you for your time, Ravi. Goodbye."


async def test_car_too_old_does_not_qualify(car_policy: PolicyMaker) -> None:
    call = await run_call(car_policy(), ["Yes.", "Yes.", "Next month.", "Twenty years.", "Rs 8,000", "Yes."])
    assert call.slots["car_age"] == 20
    assert call.outcome is Outcome.NOT_QUALIFIED


async def test_car_early_number_answer(car_policy: PolicyMaker) -> None:
    call = await run_call(
        car_policy(), ["Yes.", "Yes, I paid 15,000 rupees last year.", "Expired already.", "3", "Sure."]
    )
    assert call.slots["premium"] == 15_000
    assert call.outcome is Outcome.QUALIFIED
    assert "How much was your last insurance premium?" not in call.said


async def test_car_wrong_person_and_human(car_policy: PolicyMaker) -> None:
    wrong = await run_call(car_policy(), ["Sorry, wrong number."])
    assert wrong.outcome is Outcome.WRONG_PERSON
    human = await run_call(car_policy(), ["Yes.", "I want to talk to a real person."])
    assert human.outcome is Outcome.CALLBACK_REQUESTED
    assert human.last_said() == "Sure, an insurance advisor will call you back soon. Goodbye."


async def test_stop_if_expression(solar: AgentScript) -> None:
    data = solar.model_dump()
    data["questions"][2]["stop_if"] = "monthly_bill < 1000"
    policy = ScriptPolicy(parse_script(data))
    call = await run_call(policy, ["Yes.", "Yes.", "Yes.", "500 rupees", "Concrete."])
    assert call.outcome is Outcome.NOT_QUALIFIED
    assert call.slots == {"interested": True, "owns_home": True, "monthly_bill": 500}


async def test_record_slot_values_are_json_friendly(solar: AgentScript) -> None:
    data = solar.model_dump()
    data["questions"].append({"slot": "best_time", "type": "when", "ask": "When can our expert visit?"})
    data["questions"].append({"slot": "remarks", "type": "text", "ask": "Anything else?"})
    call = await run_call(
        ScriptPolicy(parse_script(data)),
        ["Yes.", "Yes.", "Yes.", "3000", "Concrete.", "Saturday morning.", "Please bring a brochure."],
    )
    assert call.slots["best_time"] == datetime(2026, 11, 28, 10, 0, tzinfo=IST).isoformat()
    assert call.slots["remarks"] == "Please bring a brochure."
    assert call.outcome is Outcome.QUALIFIED
    assert all(not isinstance(a.value, datetime) for a in call.actions if isinstance(a, RecordSlot))
    assert any(isinstance(a, ScheduleCallback) for a in call.actions) is False


async def test_lead_changes_mind_after_asking_for_a_callback(solar_policy: PolicyMaker) -> None:
    call = await run_call(solar_policy(), ["I'm busy.", "Actually it's fine now, go ahead.", "Yes."])
    assert call.said[2] == "Would you like to cut your electricity bill with rooftop solar?"
    assert call.slots == {"interested": True}
    assert call.outcome is None


async def test_early_answer_split_into_its_own_turn(solar_policy: PolicyMaker) -> None:
    # end-of-turn detection may cut "Yes, ... and my bill is about 5000 rupees" in two
    call = await run_call(
        solar_policy(), ["Yes.", "Yes.", "And my bill is about 5000 rupees.", "Yes, I own it.", "Concrete."]
    )
    assert call.said[3] == "Got it, about 5,000 rupees a month. Do you own the house you live in?"
    assert call.slots == {"interested": True, "monthly_bill": 5000, "owns_home": True, "roof_type": "concrete"}
    assert call.outcome is Outcome.QUALIFIED


# -- which answers end the lead's turn at once ------------------------------------------------------------
async def test_an_answer_to_the_pending_question_settles_the_turn(car_policy: PolicyMaker) -> None:
    async def asked(after: list[str]) -> ScriptPolicy:
        policy = car_policy()
        await run_call(policy, after)
        return policy

    assert not (await asked([])).settles_turn("Okay, go ahead")  # the greeting asks for no slot
    owns_car = await asked(["Okay, go ahead."])  # "Do you own a car?" (yes/no)
    assert owns_car.settles_turn("Yes I do")
    assert owns_car.settles_turn("nahi")
    assert not owns_car.settles_turn("Well let me think")
    expiry = await asked(["Okay, go ahead.", "Yes, I do."])  # "expire this month, next month, or later?" (choice)
    assert expiry.settles_turn("This month")
    assert not expiry.settles_turn("Hmm I have to check")
    age = await asked(["Okay, go ahead.", "Yes, I do.", "This month."])  # "How many years old is your car?"
    assert not age.settles_turn("Five years")  # a number may still grow: "five... and a half"


async def test_words_that_only_open_a_reply_expect_more(car_policy: PolicyMaker, solar_policy: PolicyMaker) -> None:
    async def asked(make: PolicyMaker, after: list[str]) -> ScriptPolicy:
        policy = make()
        await run_call(policy, after)
        return policy

    greeting = await asked(car_policy, [])  # "Is this a good time?"
    for opening in ("Then.", "Well.", "Hmm,", "Let me see."):
        assert greeting.expects_more(opening), opening
    for reply in ("Okay, go ahead.", "Yes.", "No, not now.", "Who is this?", "Stop calling me.", "Are you a robot?"):
        assert not greeting.expects_more(reply), reply
    expiry = await asked(car_policy, ["Okay, go ahead.", "Yes, I do."])  # choice: this month, next month, later
    for opening in ("Let me check.", "Yes.", "Umm.", "The policy."):
        assert expiry.expects_more(opening), opening
    for reply in ("This month.", "Next month, I think.", "Later.", "Call me tomorrow."):
        assert not expiry.expects_more(reply), reply
    age = await asked(car_policy, ["Okay, go ahead.", "Yes, I do.", "This month."])  # number
    assert age.expects_more("Well.") and not age.expects_more("Five years.")
    bill = await asked(solar_policy, ["Yes.", "Yes.", "Yes, I own it."])  # amount in rupees
    for opening in ("Roughly.", "About.", "Forty", "About four", "Umm, around"):
        assert bill.expects_more(opening), opening
    for reply in ("About four thousand.", "5000", "Two and a half thousand rupees.", "Rs 800", "I don't know."):
        assert not bill.expects_more(reply), reply


async def test_no_pending_question_after_the_call_ends(solar_policy: PolicyMaker) -> None:
    policy = solar_policy()
    await run_call(policy, ["Yes.", "Yes.", "Yes, I own it.", "About 3,000 rupees.", "Concrete."])
    assert not policy.settles_turn("Yes")
