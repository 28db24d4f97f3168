"""Request and response bodies of /v1/campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from control_api.dispatch.state import DispatchState

HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, 24 h")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
RetryDisposition = Literal["no_answer", "busy", "failed", "voicemail", "no_response", "hung_up", "callback_requested"]
CallerId = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{3,15}$", description="E.164 or a 140/1600 series number")]
WebhookUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+$", max_length=2000)]
CampaignName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PolicyName = Annotated[
    Literal["script", "llm"],
    msgspec.Meta(
        description="who answers the lead: the script, or an LLM guarded by the script (opt-out on every turn, the "
        "script's line when the model errs or is late)"
    ),
]
# An agent script as a JSON object, or its YAML/JSON text.
ScriptInput = dict[str, Any] | Annotated[str, msgspec.Meta(min_length=1, max_length=200_000)]
# "on": both sides of every call are recorded (the greeting must say so), kept and purged with the transcript.
Recording = Literal["off", "on"]

ALL_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_DAYS: list[Day] = ["mon", "tue", "wed", "thu", "fri", "sat"]


class CallingWindow(msgspec.Struct, forbid_unknown_fields=True):
    """Hours in the lead's local time (Asia/Kolkata for +91) when calls may be placed."""

    start: HHMM = "09:00"
    end: HHMM = "21:00"


class RetryPolicy(msgspec.Struct, forbid_unknown_fields=True):
    """Which results are dialed again, how long after, how many dials in all. A requested callback is always
    kept (at the time asked, within ``callback_within_days``), whatever ``dispositions`` lists."""

    dispositions: list[RetryDisposition] = msgspec.field(
        default_factory=lambda: ["no_answer", "busy", "failed", "voicemail"]
    )
    spacing_minutes: list[Annotated[int, msgspec.Meta(ge=1, le=10_080)]] = msgspec.field(
        default_factory=lambda: [30, 60, 120]
    )
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    callback_within_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 7


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: CampaignName
    script: ScriptInput
    calling_window: CallingWindow = msgspec.field(default_factory=CallingWindow)
    days: list[Day] = msgspec.field(default_factory=lambda: list(DEFAULT_DAYS))
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    retry: RetryPolicy = msgspec.field(default_factory=RetryPolicy)
    max_call_seconds: Annotated[int, msgspec.Meta(ge=30, le=3600)] = 300
    retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    caller_id: CallerId | None = None
    webhook_url: WebhookUrl | None = None
    policy: PolicyName = "script"
    recording: Recording = "on"


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields present change; ``script`` cannot change while the campaign is running."""

    name: CampaignName | msgspec.UnsetType = msgspec.UNSET
    script: ScriptInput | msgspec.UnsetType = msgspec.UNSET
    calling_window: CallingWindow | msgspec.UnsetType = msgspec.UNSET
    days: list[Day] | msgspec.UnsetType = msgspec.UNSET
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=100)] | msgspec.UnsetType = msgspec.UNSET
    retry: RetryPolicy | msgspec.UnsetType = msgspec.UNSET
    max_call_seconds: Annotated[int, msgspec.Meta(ge=30, le=3600)] | msgspec.UnsetType = msgspec.UNSET
    retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | msgspec.UnsetType = msgspec.UNSET
    caller_id: CallerId | msgspec.UnsetType | None = msgspec.UNSET
    webhook_url: WebhookUrl | msgspec.UnsetType | None = msgspec.UNSET
    policy: PolicyName | msgspec.UnsetType = msgspec.UNSET
    recording: Recording | msgspec.UnsetType = msgspec.UNSET


class CampaignView(msgspec.Struct):
    id: str
    name: str
    state: str
    category: int
    script: dict[str, Any]
    calling_window: CallingWindow
    days: list[str]
    concurrency: int
    retry: RetryPolicy
    max_call_seconds: int
    retention_days: int
    caller_id: str | None
    webhook_url: str | None
    policy: str
    recording: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    # Why it is or is not dialing now: on every answer about one campaign (not in lists).
    dispatch: DispatchState | None = None


class CampaignPage(msgspec.Struct):
    items: list[CampaignView]
    next_cursor: str | None
