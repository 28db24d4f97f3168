"""Request and response bodies of /v1/accounts and /v1/api-keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Billing(msgspec.Struct, forbid_unknown_fields=True):
    legal_name: ShortText
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] = "IN"
    gstin: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{15}$")] | None = None
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | None = None


class AccountCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: ShortText
    email: Email
    billing: Billing


class AccountCreated(msgspec.Struct):
    account_id: str
    api_key: str  # shown once
    api_key_id: str
    api_key_prefix: str
    webhook_secret: str  # signs this account's webhooks; shown here and on rotation only


class AccountView(msgspec.Struct):
    account_id: str
    name: str
    email: str
    billing: Billing | None  # None for an operator (the platform's own staff are not billed)
    created_at: datetime
    role: str  # client | operator
    has_webhook_secret: bool


class WebhookSecret(msgspec.Struct):
    webhook_secret: str  # shown once; the previous secret stops signing at once


KeyScope = Literal["full", "read_only", "leads_upload"]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    label: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    # full: everything the account may do; read_only: GET/HEAD only; leads_upload: reads plus lead uploads.
    scope: KeyScope = "full"


class ApiKeyView(msgspec.Struct):
    id: str
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool
    scope: str


class ApiKeyCreated(msgspec.Struct):
    id: str
    prefix: str
    label: str | None
    api_key: str  # shown once, never again
    created_at: datetime
    scope: str


class ApiKeyPage(msgspec.Struct):
    items: list[ApiKeyView]
    next_cursor: str | None
