"""Every outcome the engine can record has a human label in the console (not a capitalised enum value)."""

from __future__ import annotations

from control_api.console.formatting import OUTCOME_LABELS, outcome_label
from engine.records import Outcome


def test_every_outcome_has_a_console_label() -> None:
    assert set(OUTCOME_LABELS) == {str(o) for o in Outcome}
    assert outcome_label("needs_review") == "Needs review"
