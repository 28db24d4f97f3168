import subprocess
import sys
from pathlib import Path

import pytest

from engine.simulator.persona import PersonaError, load_persona, parse_persona

GOOD = """\
lead: {name: Ravi Kumar, phone: "+919812345678", metadata: {city: Pune}}
voice: espeak
turns:
  - say: "Yes, speaking."
  - say: "Yes."
    barge_in_after_s: 1.5
  - silence_s: 10
  - hangup: true
"""


def test_a_valid_persona_parses():
    persona = parse_persona(GOOD)
    assert persona.lead.metadata == {"city": "Pune"}
    assert [t.say for t in persona.turns] == ["Yes, speaking.", "Yes.", None, None]
    assert persona.turns[1].barge_in_after_s == 1.5 and persona.turns[3].hangup


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        (GOOD.replace("voice: espeak", "voice: robot"), "voice", 2),
        (GOOD.replace("  - silence_s: 10", "  - silence_s: -3"), "turns[2].silence_s", 7),
        (GOOD.replace("  - hangup: true", "  - sing: true"), "turns[3].sing", 8),
        (
            GOOD.replace(
                'lead: {name: Ravi Kumar, phone: "+919812345678", metadata: {city: Pune}}', "lead: {name: Ravi}"
            ),
            "lead.phone",
            1,
        ),
        (GOOD.replace('  - say: "Yes, speaking."', "  - say: hi\n    silence_s: 3"), "turns[0]", 4),
    ],
)
def test_errors_name_the_field_and_the_line(text, field, line):
    with pytest.raises(PersonaError) as info:
        parse_persona(text, source=Path("p.yaml"))
    errors = info.value.errors
    assert any(e["field"] == field and e["line"] == line for e in errors), errors
    assert f"p.yaml:{line}: {field}" in str(info.value)


def test_broken_yaml_reports_its_line():
    with pytest.raises(PersonaError) as info:
        parse_persona("lead: {name: x\nturns: [", source=Path("p.yaml"))
    assert info.value.errors[0]["line"] is not None


def test_cli_exits_2_with_the_field_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("voice: espeak", "voice: robot"))
    result = subprocess.run(
        [sys.executable, "-m", "closerr.cli", "simulate", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "bad.yaml:2: voice" in result.stderr + result.stdout


def test_shipped_personas_are_valid():
    for path in Path("tests/personas").rglob("*.yaml"):
        assert load_persona(path).turns or load_persona(path).answering_machine


def test_a_turn_may_be_said_in_parts_with_a_gap() -> None:
    persona = parse_persona(GOOD.replace('  - say: "Yes, speaking."', '  - say: ["Yes,", "speaking."]\n    gap_s: 0.5'))
    assert persona.turns[0].parts == ["Yes,", "speaking."] and persona.turns[0].gap_s == 0.5
    assert persona.turns[0].text == "Yes, speaking."
    with pytest.raises(PersonaError, match=r"turns\[0\]"):
        parse_persona(GOOD.replace('  - say: "Yes, speaking."', "  - say: []"))
