"""LLMPolicy against the scripted OpenAI-compatible server, with the real ScriptPolicy as its fallback."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from engine.agent.llm_policy import LLMPolicy
from engine.agent.policy import EndCall, OptOut, RecordSlot, Say, ScheduleCallback
from engine.agent.script import demo_script, load_script_file
from engine.agent.script_policy import ScriptPolicy
from engine.agent.slots import IST
from engine.records import Outcome
from tests.llm.dialogue import greet, lead_says, llm_policy, new_ctx, said
from tests.llm.fake_openai import FakeOpenAI, Reply, Step, chunk, text_reply, tool_call_reply

DEMO = demo_script()
OPTED_OUT_LINE = "Understood. We will not call you again. Goodbye."
INTERESTED_Q = "Would you like to cut your electricity bill with rooftop solar?"
OWNS_HOME_Q = "Do you own the house you live in?"
BILL_Q = "Roughly how much is your monthly electricity bill?"
ERROR_500 = Reply(500, [Step(b'{"error": {"message": "boom"}}')], content_type="application/json")


async def script_answer(turns: list[str]) -> list[object]:
    """What a plain ScriptPolicy answers to the last of ``turns`` (after its greeting)."""
    ctx, twin = new_ctx(), ScriptPolicy(DEMO)
    await greet(twin, ctx)
    actions: list[object] = []
    for text in turns:
        actions = list(await lead_says(twin, ctx, text))
    return actions


async def test_greeting_is_the_scripts_and_needs_no_model(fake_openai: FakeOpenAI) -> None:
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    actions = await greet(policy, ctx)
    assert actions == [Say(DEMO.render(DEMO.greeting, ctx.lead), cacheable=True)]
    assert "AI assistant" in said(actions)[0]
    assert fake_openai.requests == []
    assert policy.fixed_lines(ctx.lead) == ScriptPolicy(DEMO).fixed_lines(ctx.lead)
    assert policy.stt_prompt() == ScriptPolicy(DEMO).stt_prompt()
    await policy.aclose()


async def test_reply_streams_as_say_actions_sentence_by_sentence(fake_openai: FakeOpenAI) -> None:
    reply, gate = text_reply(
        ["Great", " to hear!", " Would you like to cut your electricity bill", " with rooftop solar?", " Tha", "nks."],
        gate_after=2,
    )
    fake_openai.queue(reply)
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    turn = policy.on_lead_turn(ctx, "Yes, go ahead.")
    # The first sentence is out while the server still holds the rest of the reply.
    assert await anext(turn) == Say("Great to hear!")
    gate.set()
    rest = [action async for action in turn]
    assert rest == [Say(INTERESTED_Q), Say("Thanks.")]
    assert policy.stats.model_turns == 1 and policy.stats.fallback_turns == 0
    await policy.aclose()


async def test_request_carries_a_prompt_and_tools_built_from_the_script(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["Okay."])[0])
    policy, ctx = llm_policy(fake_openai.base_url, api_key="sk-secret"), new_ctx()
    await greet(policy, ctx)
    ctx.slots["interested"] = True
    await lead_says(policy, ctx, "Yes, go ahead.")
    body = fake_openai.requests[0]
    system = body["messages"][0]
    assert system["role"] == "system"
    prompt = system["content"]
    for fact in ("Priya", "SunRoof Solar", "AI assistant", "one question at a time", "Be brief"):
        assert fact in prompt
    for question in DEMO.questions:
        assert f"{question.slot} ({question.type}" in prompt and question.ask in prompt
    assert "Options: concrete, sheet" in prompt
    assert DEMO.closing.opted_out in prompt and DEMO.qualify in prompt
    assert "human_requested" not in prompt  # no tool reaches that closing, so the model is not told about it
    assert '"interested": true' in prompt  # what was already learned
    assert "+919876543210" not in str(body)  # the phone number never leaves the engine
    # The history: the greeting as the assistant, this turn once as the user.
    assert body["messages"][1:] == [
        {"role": "assistant", "content": DEMO.render(DEMO.greeting, ctx.lead)},
        {"role": "user", "content": "Yes, go ahead."},
    ]
    tools = {tool["function"]["name"]: tool["function"]["parameters"] for tool in body["tools"]}
    assert set(tools) == {"record_slot", "end_call", "opt_out", "schedule_callback"}
    assert tools["record_slot"]["properties"]["slot"]["enum"] == DEMO.slot_names
    assert set(tools["end_call"]["properties"]["outcome"]["enum"]) == {
        "qualified",
        "not_qualified",
        "wrong_person",
        "callback_requested",
        "voicemail",
    }
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-secret"
    await policy.aclose()


async def test_tool_calls_become_validated_actions(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(
        tool_call_reply(
            [
                ("record_slot", {"slot": "interested", "value": True}),
                ("record_slot", {"slot": "owns_home", "value": "yes, we own it"}),
                ("record_slot", {"slot": "monthly_bill", "value": "about 3.5k rupees"}),
                ("record_slot", {"slot": "roof_type", "value": "RCC"}),
                ("end_call", {"outcome": "qualified"}),
            ],
            text="Perfect, thank you.",
        )
    )
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Yes I own my home, the bill is 3500 and the roof is RCC.")
    assert actions == [
        Say("Perfect, thank you."),
        RecordSlot("interested", True),
        RecordSlot("owns_home", True),
        RecordSlot("monthly_bill", 3500),
        RecordSlot("roof_type", "concrete"),
        Say(DEMO.closing.qualified, cacheable=True),
        EndCall(Outcome.QUALIFIED),
    ]
    await policy.aclose()


async def test_invalid_tool_calls_are_dropped_and_the_reply_still_spoken(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(
        tool_call_reply(
            [
                ("record_slot", {"slot": "favourite_colour", "value": "blue"}),  # not a slot of the script
                ("record_slot", {"slot": "owns_home", "value": "purple"}),  # not a yes/no
                ("record_slot", {"slot": "roof_type", "value": "glass"}),  # not an option
                ("record_slot", {"slot": "monthly_bill"}),  # no value
                ("end_call", {"outcome": "sold"}),  # not an outcome
                ("end_call", {"outcome": "hung_up"}),  # not the model's to choose
                ("transfer_call", {"to": "+91999"}),  # not a tool we offered
            ],
            text="Let me note that.",
        )
    )
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Yes.")
    assert actions == [Say("Let me note that.")]
    assert policy.stats.rejected_tool_calls == 7
    await policy.aclose()


async def test_broken_tool_arguments_are_ignored(fake_openai: FakeOpenAI) -> None:
    broken = Reply(
        steps=[
            Step(chunk({"content": "One moment."})),
            Step(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "end_call", "arguments": "{"}}]})),
            Step(chunk({}, "tool_calls")),
        ]
    )
    fake_openai.queue(broken)
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    assert await lead_says(policy, ctx, "Yes.") == [Say("One moment.")]
    assert policy.stats.rejected_tool_calls == 1
    await policy.aclose()


async def test_schedule_callback_resolves_the_time_and_closes(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(tool_call_reply([("schedule_callback", {"when": "tomorrow at 5 pm"})]))
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "I'm driving, call me tomorrow at five.")
    at = datetime(2026, 11, 28, 17, 0, tzinfo=IST)
    assert actions[0] == ScheduleCallback(at, note="lead asked to be called back")
    assert actions[1] == RecordSlot("callback_at", at.isoformat())
    assert actions[2] == Say("Sure, I will call you back tomorrow at 5 PM. Goodbye.", cacheable=False)
    assert actions[3] == EndCall(Outcome.CALLBACK_REQUESTED)
    await policy.aclose()


async def test_iso_callback_time_from_the_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(tool_call_reply([("schedule_callback", {"when": "2026-11-30T18:30:00"})]))
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Monday evening please.")
    assert actions[0] == ScheduleCallback(
        datetime(2026, 11, 30, 18, 30, tzinfo=IST), note="lead asked to be called back"
    )
    assert "on Monday at 6:30 PM" in said(actions)[0]
    await policy.aclose()


async def test_opt_out_tool(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(tool_call_reply([("opt_out", {}), ("end_call", {"outcome": "qualified"})]))
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Hmm, I would rather you leave me alone.")
    # Only the first ending counts: opt-out, never "qualified" after it.
    assert actions == [OptOut(), Say(OPTED_OUT_LINE, cacheable=True), EndCall(Outcome.OPTED_OUT)]
    await policy.aclose()


async def test_opt_out_guard_answers_without_asking_the_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["Sure! Would you like a quote?"])[0])
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Please don't call me again.")
    assert actions == [OptOut(), Say(OPTED_OUT_LINE, cacheable=True), EndCall(Outcome.OPTED_OUT)]
    assert fake_openai.requests == []
    assert policy.stats.opt_out_guard == 1


async def test_opt_out_guard_still_works_after_the_shadow_run_has_ended(fake_openai: FakeOpenAI) -> None:
    """The script would have closed at "not interested"; the model carried on; the lead then opts out."""
    reply, _ = text_reply(["I understand. May I ask why?"])
    fake_openai.queue(reply)
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    await lead_says(policy, ctx, "Yes, go ahead.")
    await lead_says(policy, ctx, "No, not interested.")  # the script's shadow run closes here
    assert len(fake_openai.requests) == 2
    actions = await lead_says(policy, ctx, "Just stop calling me.")
    assert actions == [OptOut(), Say(OPTED_OUT_LINE, cacheable=True), EndCall(Outcome.OPTED_OUT)]
    assert len(fake_openai.requests) == 2


async def test_slow_first_token_means_the_script_answers(fake_openai: FakeOpenAI) -> None:
    reply, _ = text_reply(["Too late."], delay=3.0)
    fake_openai.queue(reply)
    policy, ctx = llm_policy(fake_openai.base_url, first_token_timeout_s=0.3), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Yes, go ahead.")
    assert actions == await script_answer(["Yes, go ahead."])
    assert said(actions) == [INTERESTED_Q]
    assert policy.stats.fallback_reasons == ["timeout"]
    await policy.aclose()


async def test_http_500_means_the_script_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(ERROR_500)
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Yes, go ahead.")
    assert said(actions) == [INTERESTED_Q]
    assert policy.stats.fallback_reasons == ["http_error"]
    await policy.aclose()


async def test_malformed_stream_means_the_script_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(steps=[Step(b"data: {oops\n\n")]))
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    assert said(await lead_says(policy, ctx, "Yes, go ahead.")) == [INTERESTED_Q]
    assert policy.stats.fallback_reasons == ["malformed_stream"]
    await policy.aclose()


async def test_unreachable_server_means_the_script_answers() -> None:
    policy, ctx = llm_policy("http://127.0.0.1:9/v1", first_token_timeout_s=1.0), new_ctx()
    await greet(policy, ctx)
    assert said(await lead_says(policy, ctx, "Yes, go ahead.")) == [INTERESTED_Q]
    assert policy.stats.fallback_reasons == ["error"]
    await policy.aclose()


async def test_an_empty_reply_means_the_script_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["", "  "])[0])
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    assert said(await lead_says(policy, ctx, "Yes, go ahead.")) == [INTERESTED_Q]
    assert policy.stats.fallback_reasons == ["empty_reply"]
    await policy.aclose()


async def test_failure_mid_reply_keeps_what_was_said_and_the_script_goes_on(fake_openai: FakeOpenAI) -> None:
    cut = Reply(steps=[Step(chunk({"content": "Wonderful. Now let me"}))])  # connection closes mid-reply
    fake_openai.queue(cut)
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    assert said(await lead_says(policy, ctx, "Yes, go ahead.")) == ["Wonderful.", INTERESTED_Q]
    await policy.aclose()


async def test_fallback_answers_from_its_shadow_position_after_model_turns(fake_openai: FakeOpenAI) -> None:
    """Two turns led by the model (following the script's order), then the model fails: the script policy,
    which heard every turn, takes the third answer for the question the model asked and asks the next one."""
    fake_openai.queue(
        text_reply([f"Great. {INTERESTED_Q}"])[0],
        tool_call_reply([("record_slot", {"slot": "interested", "value": True})], text=f"Lovely. {OWNS_HOME_Q}"),
        ERROR_500,
    )
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    assert said(await lead_says(policy, ctx, "Yes, go ahead.")) == ["Great.", INTERESTED_Q]
    second = await lead_says(policy, ctx, "Yes, I would like that.")
    assert second == [Say("Lovely."), Say(OWNS_HOME_Q), RecordSlot("interested", True)]
    third = await lead_says(policy, ctx, "Yes, it is our own house.")
    assert third == [RecordSlot("owns_home", True), Say(BILL_Q, cacheable=True)]
    assert ctx.slots == {"interested": True, "owns_home": True}
    assert policy.stats.model_turns == 2 and policy.stats.fallback_reasons == ["http_error"]
    assert policy.stats.summary() == (
        "llm: 2 model turns, 1 script fallbacks (http_error), 0 opt-out guard, 0 rejected tool calls"
    )
    await policy.aclose()


async def test_after_the_shadow_run_closed_a_failure_replays_its_closing(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["I see. Could I ask what worries you?"])[0])
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    await lead_says(policy, ctx, "Yes, go ahead.")
    await lead_says(policy, ctx, "No, not interested.")  # the script would have closed: not_qualified
    fake_openai.replies[:] = [ERROR_500]
    actions = await lead_says(policy, ctx, "It's just too expensive.")
    assert actions == [Say(DEMO.closing.not_qualified, cacheable=True), EndCall(Outcome.NOT_QUALIFIED)]
    await policy.aclose()


async def test_silence_and_dtmf_stay_with_the_script(fake_openai: FakeOpenAI) -> None:
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    first = [a async for a in policy.on_silence(ctx, 1)]
    assert said(first) and "still there" in said(first)[0]
    second = [a async for a in policy.on_silence(ctx, 2)]
    assert second[-1] == EndCall(Outcome.NO_RESPONSE)
    assert fake_openai.requests == []


async def test_opt_out_key_works_after_the_shadow_run_has_ended(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["Why not?"])[0])
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    await lead_says(policy, ctx, "No, not interested.")
    digits = [a async for a in policy.on_dtmf(ctx, "9")]
    assert digits == [OptOut(), Say(OPTED_OUT_LINE, cacheable=True), EndCall(Outcome.OPTED_OUT)]
    silence = [a async for a in policy.on_silence(ctx, 2)]
    assert silence[-1] == EndCall(Outcome.NO_RESPONSE)


async def test_barge_in_cancels_the_reply_and_closes_the_connection(fake_openai: FakeOpenAI) -> None:
    reply, gate = text_reply(["First sentence.", " Second", " sentence."], gate_after=2)
    fake_openai.queue(reply)
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    spoken: list[object] = []

    async def reply_task() -> None:
        async for action in policy.on_lead_turn(ctx, "Yes."):
            spoken.append(action)

    task = asyncio.create_task(reply_task())
    while not spoken:
        await asyncio.sleep(0.01)
    task.cancel()  # what the turn manager does when the lead barges in
    await asyncio.gather(task, return_exceptions=True)
    gate.set()
    for _ in range(100):
        if fake_openai.disconnects:
            break
        await asyncio.sleep(0.02)
    assert spoken == [Say("First sentence.")]
    assert fake_openai.disconnects == 1
    await policy.aclose()


async def test_any_script_works_car_insurance(fake_openai: FakeOpenAI) -> None:
    from pathlib import Path

    import engine.agent.scripts as scripts_pkg

    car = load_script_file(Path(scripts_pkg.__file__).parent / "car_insurance.yaml")
    fake_openai.queue(
        tool_call_reply(
            [
                ("record_slot", {"slot": "premium", "value": 12500}),
                ("record_slot", {"slot": "expiry", "value": "next month"}),
            ],
            text="Thanks.",
        )
    )
    policy = LLMPolicy(car, ScriptPolicy(car), base_url=fake_openai.base_url, model="m")
    ctx = new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "It expires next month, premium was 12,500.")
    assert actions == [Say("Thanks."), RecordSlot("premium", 12500), RecordSlot("expiry", "next_month")]
    prompt = fake_openai.requests[0]["messages"][0]["content"]
    assert "Arjun" in prompt and "SafeDrive Insurance" in prompt and "premium (amount_inr" in prompt
    await policy.aclose()


async def test_a_bug_on_the_model_path_still_gets_the_turn_answered(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> list[dict[str, str]]:
        raise RuntimeError("prompt builder bug")

    monkeypatch.setattr("engine.agent.llm_policy.build_messages", broken)
    policy, ctx = llm_policy(fake_openai.base_url), new_ctx()
    await greet(policy, ctx)
    assert said(await lead_says(policy, ctx, "Yes, go ahead.")) == [INTERESTED_Q]
    assert policy.stats.fallback_reasons == ["internal_error"]
    await policy.aclose()


async def test_an_answering_machine_gets_the_scripts_voicemail_without_asking_the_model(
    fake_openai: FakeOpenAI,
) -> None:
    script = demo_script()
    policy = LLMPolicy(script, ScriptPolicy(script), base_url=fake_openai.base_url, model="m")
    ctx = new_ctx()
    actions = [a async for a in policy.on_answering_machine(ctx)]
    assert actions == [Say(script.render(script.voicemail_message or "", ctx.lead), True), EndCall(Outcome.VOICEMAIL)]
    assert fake_openai.requests == []
    await policy.aclose()
