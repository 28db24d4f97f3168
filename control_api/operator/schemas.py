"""Request and response bodies of /v1/operator and of ``closerr operator create``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from control_api.accounts.schemas import Email, ShortText

# A top-up larger than this is a typo, not a purchase.
MAX_TOPUP = 1_000_000_000


class OperatorCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: ShortText
    email: Email


class OperatorCreated(msgspec.Struct):
    account_id: str
    api_key: str  # shown once
    api_key_id: str
    api_key_prefix: str


class CreditTopUp(msgspec.Struct, forbid_unknown_fields=True):
    amount: Annotated[int, msgspec.Meta(gt=0, le=MAX_TOPUP)]
    note: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TopUpResult(msgspec.Struct):
    account_id: str
    entry_id: int
    amount: int
    note: str | None
    balance: int  # the account's balance right after this entry (the same on every replay)
    created_at: datetime


class AccountStatus(msgspec.Struct):
    account_id: str
    suspended: bool
    suspended_at: datetime | None


class LlmAssignment(msgspec.Struct, forbid_unknown_fields=True):
    """The named LLM endpoint (``CLOSERR_LLM_PROFILES``) the account's ``llm`` campaigns use; null: the
    deployment's own endpoint."""

    profile: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None


class AccountLlm(msgspec.Struct):
    account_id: str
    profile: str | None
