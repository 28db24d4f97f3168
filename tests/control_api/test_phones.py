"""E.164 normalisation: the +91 fast path must agree with phonenumbers on every number."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control_api.phones import PhoneRejection, _slow_path, normalise, parse_any, to_e164


@pytest.mark.parametrize(
    "raw",
    [
        "9876543210",
        "09876543210",
        "919876543210",
        "0091 98765 43210",
        "+91 98765 43210",
        "+91-98765-43210",
        " (+91) 98765.43210 ",
    ],
)
def test_common_indian_forms_normalise_to_one_number(raw: str) -> None:
    assert normalise(raw) == 919876543210
    assert to_e164(919876543210) == "+919876543210"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("987654321", PhoneRejection.INVALID_NUMBER),  # 9 digits: possible but invalid
        ("abc", PhoneRejection.INVALID_NUMBER),
        ("", PhoneRejection.INVALID_NUMBER),
        ("+91 98765 4321x", PhoneRejection.INVALID_NUMBER),
        ("1800 123 4567", PhoneRejection.NOT_A_MOBILE),  # toll free
        ("+91 11 2345 6789", PhoneRejection.NOT_A_MOBILE),  # Delhi landline
    ],
)
def test_rejections_name_the_reason(raw: str, reason: PhoneRejection) -> None:
    assert normalise(raw) == reason


def test_other_countries_go_through_phonenumbers() -> None:
    assert normalise("+1 415 555 2671") == 14155552671
    assert parse_any("+91 11 2345 6789") == 911123456789  # registry lookups accept landlines
    assert parse_any("nonsense") is None


def _reference(raw: str) -> int | PhoneRejection:
    try:
        n = phonenumbers.parse(raw, "IN")
    except phonenumbers.NumberParseException:
        return PhoneRejection.INVALID_NUMBER
    if not phonenumbers.is_valid_number(n):
        return PhoneRejection.INVALID_NUMBER
    if phonenumbers.number_type(n) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return PhoneRejection.NOT_A_MOBILE
    return int(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)[1:])


national = st.integers(min_value=6_000_000_000, max_value=9_999_999_999).map(str)
forms = st.sampled_from(["{n}", "0{n}", "91{n}", "+91{n}", "0091{n}", "+91 {a} {b}"])


@settings(max_examples=3000, deadline=None)
@given(national, forms)
def test_fast_path_agrees_with_phonenumbers(n: str, form: str) -> None:
    raw = form.format(n=n, a=n[:5], b=n[5:])
    assert normalise(raw) == _reference(raw) == _slow_path(raw)
