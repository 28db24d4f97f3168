"""The qualify expression language: precedence, unknown-value semantics, and errors with positions."""

from __future__ import annotations

from typing import Any

import pytest

from engine.agent import qualify as q

SLOTS: dict[str, Any] = {"interested": True, "owns_home": False, "bill": 3000, "roof": "concrete", "gone": None}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("interested", True),
        ("owns_home", False),
        ("interested and owns_home", False),
        ("interested or owns_home", True),
        ("not owns_home", True),
        ("NOT owns_home AND interested", True),
        ("bill >= 2000", True),
        ("bill >= 2,000", True),
        ("bill > 3000", False),
        ("bill <= 3000 and bill != 2999", True),
        ("bill == 3000.0", True),
        ("bill < 2_500", False),
        ("roof == 'concrete'", True),
        ('roof == "CONCRETE"', True),
        ("roof != 'sheet'", True),
        ("'concrete' == roof", True),
        ("interested == true", True),
        ("owns_home == false", True),
        ("interested and (owns_home or bill >= 2000)", True),
        ("interested and owns_home or bill >= 2000", True),  # and binds tighter than or
        ("not (interested and bill > 1000)", False),
        ("not not interested", True),
        ("true", True),
        ("false or 1 < 2", True),
        # an unknown answer never qualifies: falsy, and every comparison with it is false
        ("gone", False),
        ("missing", False),
        ("gone != 'x'", False),
        ("gone == 'x'", False),
        ("not gone", True),
        ("bill == 'concrete'", False),  # number vs string: false, not an error
    ],
)
def test_evaluate(source: str, expected: bool) -> None:
    assert q.evaluate(q.parse_expression(source), SLOTS) is expected


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("interested and", 14, "ends too early"),
        ("interested and and owns_home", 15, "unexpected 'and'"),
        ("bill = 2000", 5, "'=='"),
        ("bill >= 2000)", 12, "unexpected ')'"),
        ("(bill >= 2000", 13, "expected ')'"),
        ("roof == 'concrete", 8, "unterminated string"),
        ("bill >= 2000 && interested", 13, "'and'/'or'"),
        ("1 < bill < 5000", 9, "chained"),
        ("bill >= 2000 ; drop", 13, "unexpected character ';'"),
        ("__import__('os')", 10, "unexpected '('"),
        ("interested owns_home", 11, "unexpected 'owns_home'"),
    ],
)
def test_syntax_errors_name_the_position(source: str, position: int, fragment: str) -> None:
    with pytest.raises(q.QualifyError) as info:
        q.parse_expression(source)
    assert info.value.position == position
    assert fragment in info.value.message
    assert f"position {position}" in str(info.value)


def test_unknown_slot_is_an_error_at_its_position() -> None:
    with pytest.raises(q.QualifyError) as info:
        q.parse_expression("interested and montly_bill >= 2000", {"interested", "monthly_bill"})
    assert info.value.position == 15
    assert "montly_bill" in info.value.message


def test_python_is_not_evaluated() -> None:
    # Attribute access and calls are not in the grammar at all, so nothing reaches Python's evaluator.
    for source in ("bill.__class__", "exec('1')", "[1]", "lambda: 1"):
        with pytest.raises(q.QualifyError):
            q.parse_expression(source)


def test_names_lists_every_slot_read() -> None:
    expr = q.parse_expression("a and (b > 1 or not c) and 'x' == d")
    assert [n.name for n in q.names(expr)] == ["a", "b", "c", "d"]


# "bill" answered unclearly (asked twice): unknown, not "no".
VERDICTS = [
    ("interested and bill >= 2000", None),
    ("interested and owns_home and bill >= 2000", False),  # decided by owns_home whatever the bill
    ("interested or bill >= 2000", True),
    ("owns_home or bill >= 2000", None),
    ("not (bill < 2000)", None),
    ("bill", None),
    ("not bill", None),
    ("roof == 'concrete' and interested", True),
    ("roof != 'concrete' and bill > 1", False),
    ("gone and interested", False),  # never asked (absent or None, not unknown): falsy, as before
]


@pytest.mark.parametrize(("source", "expected"), VERDICTS)
def test_verdict_is_undecided_only_when_the_result_turns_on_an_unknown_slot(source: str, expected: bool | None) -> None:
    slots = {**SLOTS, "bill": None}
    assert q.verdict(q.parse_expression(source), slots, {"bill"}) is expected


@pytest.mark.parametrize(("source", "expected"), [("interested and owns_home", False), ("bill >= 2000", True)])
def test_verdict_without_unknown_slots_is_evaluate(source: str, expected: bool) -> None:
    assert q.verdict(q.parse_expression(source), SLOTS, set()) is expected
