"""Agent-script validation: every mistake is reported with the field, and the line for YAML/JSON text."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.agent.script import (
    AgentScript,
    ScriptError,
    demo_script,
    load_script_file,
    load_script_text,
    parse_script,
    render,
)
from engine.records import Lead
from tests.agent.conftest import SCRIPTS_DIR

GOOD = """\
name: Test campaign
company: Acme Homes
agent_name: Priya
category: 2
greeting: "Hello {lead.name}, this is {agent_name}, an AI assistant from {company}. Is this a good time?"
questions:
  - slot: interested
    type: yes_no
    ask: "Are you looking for a flat?"
    stop_if: false
  - slot: budget
    type: amount_inr
    ask: "What is your budget?"
  - slot: size
    type: choice
    ask: "Two or three bedrooms?"
    options: {two: [2 bhk, two bedroom], three: [3 bhk]}
qualify: "interested and budget >= 5000000 and size == 'three'"
closing:
  qualified: "Thanks! Goodbye."
  not_qualified: "Thanks anyway. Goodbye."
  callback_requested: "I will call you {callback_at}. Goodbye."
  opted_out: "Understood. We will not call you again. Goodbye."
  wrong_person: "Sorry. Goodbye."
"""


def _data() -> dict[str, Any]:
    return dict(yaml.safe_load(GOOD))


def _errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ScriptError) as info:
        parse_script(data)
    return info.value.errors


def _text_errors(text: str) -> list[dict[str, Any]]:
    with pytest.raises(ScriptError) as info:
        load_script_text(text)
    return info.value.errors


def test_good_script_loads_from_yaml_and_json() -> None:
    from_yaml = load_script_text(GOOD)
    from_json = load_script_text(json.dumps(_data()))
    assert isinstance(from_yaml, AgentScript)
    assert from_yaml == from_json
    assert from_yaml.category == 2
    assert from_yaml.slot_names == ["interested", "budget", "size"]
    assert from_yaml.replies.identity  # defaults filled in


def test_shipped_scripts_are_valid() -> None:
    demo = demo_script()
    assert demo.company == "SunRoof Solar"
    assert demo.category == 5
    assert "lakh" in demo.hotwords
    car = load_script_file(SCRIPTS_DIR / "car_insurance.yaml")
    assert car.category == 1
    assert car.slot_names != demo.slot_names


def test_demo_script_ships_as_package_data() -> None:
    from importlib import resources

    assert resources.files("engine.agent.scripts").joinpath("demo_solar.yaml").is_file()


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda d: d.pop("company"), "company", "required"),
        (lambda d: d.pop("category"), "category", "required"),
        (lambda d: d.update(category=9), "category", "less than or equal to 8"),
        (lambda d: d.update(category=0), "category", "greater than or equal to 1"),
        (lambda d: d.update(category="five"), "category", "integer"),
        (lambda d: d.update(categroy=5), "categroy", "unknown field"),
        (lambda d: d.update(questions=[]), "questions", "at least 1"),
        (lambda d: d["questions"][1].update(type="money"), "questions[1].type", "yes_no"),
        (lambda d: d["questions"][0].pop("ask"), "questions[0].ask", "required"),
        (lambda d: d["closing"].pop("opted_out"), "closing.opted_out", "required"),
        (lambda d: d.update(hotwords="lakh"), "hotwords", "list"),
    ],
)
def test_shape_errors_name_the_field(mutate: Any, field: str, fragment: str) -> None:
    data = copy.deepcopy(_data())
    mutate(data)
    errors = _errors(data)
    assert any(e["field"] == field and fragment in e["message"] for e in errors), errors


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda d: d.update(greeting="Hello {lead.name}, this is Priya from Acme."), "greeting", "AI assistant"),
        (lambda d: d.update(greeting="Hi {lead.nam}, an AI assistant here."), "greeting", "{lead.nam}"),
        (lambda d: d.update(replies={"identity": "I am Priya."}), "replies.identity", "must say 'AI'"),
        (lambda d: d.update(replies={"idnetity": "x"}), "replies.idnetity", "unknown field"),
        (lambda d: d["closing"].update(qualified="Bye {customer}."), "closing.qualified", "unknown placeholder"),
        (lambda d: d.update(greeting="Hi {lead.name, an AI assistant."), "greeting", "unbalanced"),
        (lambda d: d["questions"][0].update(ask="Call at {callback_at}?"), "questions[0].ask", "{callback_at}"),
        (lambda d: d["closing"].update(qualified="Bye {callback_at}."), "closing.qualified", "{callback_at}"),
        (lambda d: d["questions"][2].pop("options"), "questions[2].options", "needs options"),
        (lambda d: d["questions"][1].update(options={"a": []}), "questions[1].options", "only for choice"),
        (lambda d: d["questions"][1].update(slot="interested"), "questions[1].slot", "duplicate slot"),
        (lambda d: d["questions"][1].update(slot="Monthly Bill"), "questions[1].slot", "lower-case"),
        (lambda d: d["questions"][1].update(slot="and"), "questions[1].slot", "reserved"),
        (lambda d: d["questions"][1].update(yes_words=["ok"]), "questions[1].yes_words", "only for yes_no"),
        (lambda d: d["questions"][0].update(stop_if="no"), "questions[0].stop_if", "true or false"),
        (lambda d: d["questions"][2].update(stop_if="four"), "questions[2].stop_if", "not options"),
        (lambda d: d["questions"][1].update(stop_if="budget <"), "questions[1].stop_if", "position 8"),
        (lambda d: d.update(qualify="interested and budjet >= 5"), "qualify", "unknown slot 'budjet' at position 15"),
        (lambda d: d.update(qualify="interested and"), "qualify", "at position 14"),
        (lambda d: d.update(qualify="size == 'four'"), "qualify", "not an option of size"),
        (lambda d: d.update(qualify="budget >= 'lots'"), "qualify", "compare it with a number"),
        (lambda d: d.update(qualify="interested == 1"), "qualify", "true or false"),
        (lambda d: d.update(qualify="size > 'two'"), "qualify", "only be compared with =="),
    ],
)
def test_semantic_errors_name_the_field(mutate: Any, field: str, fragment: str) -> None:
    data = copy.deepcopy(_data())
    mutate(data)
    errors = _errors(data)
    assert any(e["field"] == field and fragment in e["message"] for e in errors), errors
    assert all(e["line"] is None for e in errors)  # no text, no lines


def test_all_errors_reported_at_once() -> None:
    data = copy.deepcopy(_data())
    data["greeting"] = "Hello from {company}."
    data["qualify"] = "nope >= 1"
    errors = _errors(data)
    assert {e["field"] for e in errors} == {"greeting", "qualify"}


def test_field_errors_carry_the_yaml_line() -> None:
    text = GOOD.replace("    type: amount_inr", "    type: money")
    errors = _text_errors(text)
    assert errors == [
        {"field": "questions[1].type", "line": 12, "message": errors[0]["message"]},
    ]
    assert "yes_no" in errors[0]["message"]


def test_semantic_errors_carry_the_yaml_line() -> None:
    text = GOOD.replace("budget >= 5000000", "budgett >= 5000000")
    [error] = _text_errors(text)
    assert error["field"] == "qualify"
    assert error["line"] == 18
    assert "position 15" in error["message"]


def test_missing_field_points_at_its_parent() -> None:
    text = GOOD.replace('  wrong_person: "Sorry. Goodbye."\n', "")
    [error] = _text_errors(text)
    assert error == {"field": "closing.wrong_person", "line": 19, "message": "required field is missing"}


def test_yaml_syntax_error_has_a_line() -> None:
    text = GOOD.replace("category: 2", "category: [2")
    [error] = _text_errors(text)
    assert error["field"] == ""
    assert error["line"] is not None and error["line"] >= 4
    assert "invalid YAML" in error["message"]


def test_json_errors_have_lines() -> None:
    data = _data()
    data["questions"][2]["type"] = "pick"
    text = json.dumps(data, indent=2)
    [error] = _text_errors(text)
    assert error["field"] == "questions[2].type"
    assert error["line"] == text.splitlines().index('      "type": "pick",') + 1
    [syntax] = _text_errors('{\n  "name": "x",\n  oops\n}')
    assert syntax["line"] == 3 and "invalid JSON" in syntax["message"]


def test_not_a_mapping() -> None:
    [error] = _text_errors("- just\n- a list\n")
    assert "mapping" in error["message"]


def test_error_message_is_readable() -> None:
    with pytest.raises(ScriptError) as info:
        load_script_text(GOOD.replace("category: 2", "category: 12"))
    assert isinstance(info.value, ValueError)
    assert "category (line 4)" in str(info.value)


def test_missing_file_is_a_script_error(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="cannot read"):
        load_script_file(tmp_path / "nope.yaml")


def test_render_placeholders() -> None:
    lead = Lead(name="Ravi Kumar", phone="+919812345678", metadata={"city": "Pune"})
    text = render(
        "Hi {lead.first_name} ({lead.name}) in {lead.metadata.city}{lead.metadata.area}, {agent_name} of "
        "{company}, at {callback_at}. {{literal}}",
        lead=lead,
        agent_name="Priya",
        company="Acme",
        callback_at="tomorrow at 5 PM",
    )
    assert text == "Hi Ravi (Ravi Kumar) in Pune, Priya of Acme, at tomorrow at 5 PM. {literal}"


def test_duplicate_yaml_keys_are_errors() -> None:
    text = GOOD.replace("category: 2\n", "category: 2\ncategory: 3\n")
    [error] = _text_errors(text)
    assert error == {"field": "category", "line": 5, "message": "duplicate key"}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(greeting="An AI assistant. " + "word " * 200), "greeting"),
        (lambda d: d.update(hotwords=["w"] * 51), "hotwords"),
        (lambda d: d.update(company=""), "company"),
    ],
)
def test_size_limits(mutate: Any, field: str) -> None:
    data = copy.deepcopy(_data())
    mutate(data)
    assert any(e["field"] == field for e in _errors(data))
