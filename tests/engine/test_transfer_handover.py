"""What the engine does when the agent's part ends with a hand-off: the transfer route decides the record."""

from __future__ import annotations

import pytest

from engine.call import _hand_over
from engine.records import CallRecord, CallRequest, Lead, Outcome, Transfer, TransferResult, mask_number
from engine.telephony.leg import MediaLeg

REQUEST = CallRequest(call_id="c-1", lead=Lead(name="Ravi", phone="+919876543210"))
WANTED = Transfer(to="+919812345678", mode="cold", reason="lead_request")


def transferred_record() -> CallRecord:
    record = CallRecord(call_id="c-1", outcome=Outcome.TRANSFERRED, ended_by="bot")
    record.transfer = {"to": mask_number(WANTED.to), "mode": "cold", "reason": "lead_request",
                       "connected": False, "detail": "not attempted"}  # fmt: skip
    return record


async def test_a_connected_transfer_keeps_the_transferred_outcome() -> None:
    seen: list[Transfer] = []

    async def route(leg: MediaLeg, wanted: Transfer) -> TransferResult:
        seen.append(wanted)
        return TransferResult(True, "REFER accepted, NOTIFY sipfrag 200")

    record = transferred_record()
    await _hand_over(REQUEST, object(), record, WANTED, route)  # type: ignore[arg-type]
    assert seen == [WANTED]
    assert record.outcome is Outcome.TRANSFERRED
    assert record.transfer == {"to": "+91********78", "mode": "cold", "reason": "lead_request", "connected": True,
                               "detail": "REFER accepted, NOTIFY sipfrag 200"}  # fmt: skip


async def _refused(leg: MediaLeg, wanted: Transfer) -> TransferResult:
    return TransferResult(False, "transfer target answered 486")


async def _broken(leg: MediaLeg, wanted: Transfer) -> TransferResult:
    raise ConnectionResetError


@pytest.mark.parametrize(
    ("route", "detail"),
    [(_refused, "transfer target answered 486"), (_broken, "transfer error: ConnectionResetError"),
     (None, "no transfer route for this call")],
)  # fmt: skip
async def test_a_failed_transfer_becomes_a_callback_by_a_person(route: object, detail: str) -> None:
    record = transferred_record()
    await _hand_over(REQUEST, object(), record, WANTED, route)  # type: ignore[arg-type]
    assert record.outcome is Outcome.CALLBACK_REQUESTED  # the dispatcher schedules the callback
    assert record.transfer is not None and record.transfer["connected"] is False
    assert record.transfer["detail"] == detail
    assert any("the lead is called back" in note for note in record.notes)


async def test_the_number_is_masked_in_the_record() -> None:
    record = transferred_record()

    async def route(leg: MediaLeg, wanted: Transfer) -> TransferResult:
        return TransferResult(True, "twilio dialing the salesperson")

    await _hand_over(REQUEST, object(), record, WANTED, route)  # type: ignore[arg-type]
    assert "9812345678" not in str(record.to_dict()) and "9812345678" not in repr(WANTED)
    assert mask_number("09812345678") == "09*******78" and mask_number("123") == "***"


async def test_a_lead_hanging_up_during_the_hold_line_is_not_transferred() -> None:
    record = transferred_record()
    record.ended_by = "lead"

    async def route(leg: MediaLeg, wanted: Transfer) -> TransferResult:
        raise AssertionError("nobody to transfer")

    await _hand_over(REQUEST, object(), record, WANTED, route)  # type: ignore[arg-type]
    assert record.outcome is Outcome.HUNG_UP
    assert record.transfer is not None and record.transfer["connected"] is False
    assert record.transfer["detail"] == "the call ended before the transfer"
