"""The hash chain, the pseudonyms and the personal-data guard, with no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from control_api.audit.chain import GENESIS_HASH, ChainFields, StoredEntry, entry_hash, verify_entries
from control_api.audit.personal_data import PersonalDataInAuditError, check_no_personal_data
from control_api.audit.pseudonym import is_pseudonym, pseudonymize_phone


def _chain(n: int) -> list[StoredEntry]:
    out: list[StoredEntry] = []
    prev = GENESIS_HASH
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        f = ChainFields(
            seq=i,
            occurred_at=t0 + timedelta(seconds=i),
            actor="key:abc",
            tenant_id="t1",
            action="campaign.state",
            object_type="campaign",
            object_id=f"c{i}",
            request_id=f"r{i}",
            client_ip="127.0.0.1",
            outcome="success",
            details_json='{"to":"running"}',
            prev_hash=prev,
        )
        prev = entry_hash(f)
        out.append(StoredEntry(f, prev))
    return out


def test_intact_chain_verifies() -> None:
    result = verify_entries(_chain(5))
    assert result.ok and result.checked == 5 and result.first_broken_seq is None


def test_edited_field_breaks_at_that_entry() -> None:
    entries = _chain(5)
    entries[2] = StoredEntry(replace(entries[2].fields, outcome="failure"), entries[2].stored_hash)
    result = verify_entries(entries)
    assert not result.ok and result.first_broken_seq == 3 and result.checked == 2


def test_rehashed_edit_breaks_at_the_next_entry() -> None:
    # An attacker who recomputes the edited row's own hash still breaks the next link.
    entries = _chain(5)
    edited = replace(entries[1].fields, actor="someone-else")
    entries[1] = StoredEntry(edited, entry_hash(edited))
    result = verify_entries(entries)
    assert not result.ok and result.first_broken_seq == 3


def test_removed_entry_is_reported() -> None:
    entries = _chain(5)
    del entries[3]
    result = verify_entries(entries)
    assert not result.ok and result.first_broken_seq == 5 and "missing" in (result.reason or "")


def test_naive_and_aware_utc_hash_the_same() -> None:
    f = _chain(1)[0].fields
    naive = replace(f, occurred_at=f.occurred_at.replace(tzinfo=None))
    assert entry_hash(f) == entry_hash(naive)


def test_pseudonym_is_keyed_stable_across_spellings_and_hides_the_number() -> None:
    spellings = ["9876543210", "09876543210", "+91 98765 43210", "919876543210", "0091 98765 43210"]
    refs = {pseudonymize_phone(s, key="k1") for s in spellings}
    assert len(refs) == 1
    ref = refs.pop()
    assert is_pseudonym(ref) and "9876543210" not in ref
    assert pseudonymize_phone("9876543210", key="k2") != ref
    assert pseudonymize_phone("9876543211", key="k1") != ref


@pytest.mark.parametrize(
    "details",
    [
        {"phone": "ph_x"},
        {"note": "called +91 98765 43210"},
        {"nested": {"list": ["9876543210"]}},
        {"msisdn_int": 919876543210},
        {"who": "asha@example.com"},
        {"name": "Asha"},
        {"lead": {"first_name": "Asha"}},
    ],
)
def test_guard_refuses_personal_data(details: dict[str, object]) -> None:
    with pytest.raises(PersonalDataInAuditError):
        check_no_personal_data(details)


def test_guard_allows_ids_counts_pseudonyms_and_times() -> None:
    check_no_personal_data(
        {
            "subject": pseudonymize_phone("9876543210", key="k"),
            "call_id": "12345678-1234-4234-8234-123456789012",
            "at": "2026-11-28T16:30:00+00:00",
            "counts": {"leads": 3, "calls": 12},
            "request": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "dnd": True,
        }
    )
