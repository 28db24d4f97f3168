"""API key ids never read as phone numbers, and the audit guard knows a key actor from a number."""

from __future__ import annotations

import pytest

from control_api.accounts import keys
from control_api.audit.personal_data import PersonalDataInAuditError, check_no_personal_data


@pytest.mark.parametrize("first", "0123456789abcdef")
def test_a_new_prefix_always_begins_with_a_letter(first: str) -> None:
    # Every leading digit, with the rest all decimal on purpose: the shape that once read as a phone number.
    prefix = keys.new_prefix(first + "79839109369")
    assert len(prefix) == 12 and prefix[0] in "abcdef" and prefix[1:] == "79839109369"
    assert keys.split_key(f"clr_{prefix}_secret") == prefix
    check_no_personal_data({"started_by": f"key:{prefix}", "prefix": prefix})


def test_generated_keys_are_well_formed_and_distinct() -> None:
    made = [keys.generate_key() for _ in range(200)]
    assert len({k.prefix for k in made}) == 200
    for k in made:
        assert k.prefix[0] in "abcdef" and keys.split_key(k.plaintext) == k.prefix
        assert keys.matches(k.plaintext, k.digest)


@pytest.mark.parametrize("legacy", ["079839109369", "919876543210", "a1b2c3d4e5f6"])
def test_the_guard_accepts_a_key_actor_of_any_prefix(legacy: str) -> None:
    check_no_personal_data({"started_by": f"key:{legacy}"})


@pytest.mark.parametrize(
    "value",
    ["919876543210", "+91 98765 43210", "key:+919876543210", "key:9876543210", "key:919876543210 and 9876543210"],
)
def test_the_guard_still_refuses_phone_numbers(value: str) -> None:
    with pytest.raises(PersonalDataInAuditError):
        check_no_personal_data({"started_by": value})
