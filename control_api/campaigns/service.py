"""Campaign rules: validation of the script and window, edits, lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal
from control_api.audit import audit_event
from control_api.campaigns import lifecycle
from control_api.campaigns import repository as repo
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.lifecycle import State
from control_api.campaigns.rules import CampaignRules
from control_api.campaigns.schemas import (
    ALL_DAYS,
    CallingWindow,
    CampaignCreate,
    CampaignPage,
    CampaignUpdate,
    CampaignView,
    RetryPolicy,
)
from control_api.campaigns.scripts import check_recording_disclosure, check_script
from control_api.campaigns.tables import Campaign
from control_api.credits import ledger
from control_api.dispatch.state import dispatch_state
from control_api.errors import Conflict, InvalidField, NotFound
from control_api.pagination import decode_cursor, encode_cursor
from control_api.storage.types import utcnow
from control_api.webhooks.destination import Network, UnsafeDestination, resolve


def _check_days(days: list[str]) -> list[str]:
    if not days:
        raise InvalidField("days", "days must name at least one day of the week")
    if len(set(days)) != len(days):
        raise InvalidField("days", "days must not repeat a day")
    return sorted(days, key=ALL_DAYS.index)  # type: ignore[arg-type]


def _check_retry(retry: RetryPolicy) -> None:
    if retry.max_attempts > 1 and not retry.spacing_minutes:
        raise InvalidField("retry.spacing_minutes", "retries need at least one spacing")


def view(c: Campaign) -> CampaignView:
    return CampaignView(
        id=c.id,
        name=c.name,
        state=c.state,
        category=c.category,
        script=c.script,
        calling_window=CallingWindow(start=c.window_start, end=c.window_end),
        days=list(c.days),
        concurrency=c.concurrency,
        retry=msgspec.convert(c.retry, RetryPolicy),
        max_call_seconds=c.max_call_seconds,
        retention_days=c.retention_days,
        caller_id=c.caller_id,
        webhook_url=c.webhook_url,
        policy=c.policy,
        recording=c.recording,
        created_at=c.created_at,
        updated_at=c.updated_at,
        started_at=c.started_at,
        ended_at=c.ended_at,
    )


async def _check_webhook_url(url: str | None, allowed_networks: Sequence[Network]) -> None:
    if url is None:
        return
    try:
        await resolve(url, allowed_networks)
    except UnsafeDestination as exc:
        raise InvalidField("webhook_url", str(exc)) from None


async def create(
    session: AsyncSession, principal: Principal, body: CampaignCreate, rules: CampaignRules
) -> CampaignView:
    script = await check_script(body.script, rules.speech_check)
    check_recording_disclosure(script.data, body.recording)
    rules.hours.check(body.calling_window.start, body.calling_window.end)
    days = _check_days(list(body.days))
    _check_retry(body.retry)
    await _check_webhook_url(body.webhook_url, rules.webhook_networks)
    now = utcnow()
    campaign = Campaign(
        id=str(uuid.uuid4()),
        account_id=principal.account_id,
        name=body.name.strip() or body.name,
        state=State.DRAFT.value,
        script=script.data,
        category=script.category,
        window_start=body.calling_window.start,
        window_end=body.calling_window.end,
        days=days,
        concurrency=body.concurrency,
        retry=msgspec.to_builtins(body.retry),
        max_call_seconds=body.max_call_seconds,
        retention_days=body.retention_days,
        caller_id=body.caller_id,
        webhook_url=body.webhook_url,
        policy=body.policy,
        recording=body.recording,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    await session.flush()
    await audit_event(session, principal, "campaign.create", object_type="campaign", object_id=campaign.id)
    return await view_with_dispatch(session, campaign, rules.hours)


async def get_owned(
    session: AsyncSession, principal: Principal, campaign_id: str, *, for_update: bool = False
) -> Campaign:
    campaign = await repo.get(session, principal.account_id, campaign_id, for_update=for_update)
    if campaign is None:
        raise NotFound("campaign")
    return campaign


async def list_campaigns(
    session: AsyncSession, principal: Principal, limit: int, cursor: str | None, state: str | None
) -> CampaignPage:
    if state is not None and state not in {s.value for s in State}:
        raise InvalidField("state", "state must be one of " + ", ".join(s.value for s in State))
    offset = decode_cursor(cursor)
    rows = await repo.list_for_account(session, principal.account_id, offset, limit + 1, state)
    return CampaignPage(
        items=[view(c) for c in rows[:limit]],
        next_cursor=encode_cursor(offset + limit) if len(rows) > limit else None,
    )


def _not_while_running(state: State, field: str) -> None:
    """Who answers the leads does not change under calls in progress."""
    if state is State.RUNNING:
        raise Conflict(
            f"the {field} of a running campaign cannot be edited; pause the campaign first",
            field=field,
            state=str(state),
            allowed_actions=lifecycle.allowed_actions(state),
        )


async def update(
    session: AsyncSession, principal: Principal, campaign_id: str, body: CampaignUpdate, rules: CampaignRules
) -> CampaignView:
    campaign = await get_owned(session, principal, campaign_id, for_update=True)
    state = State(campaign.state)
    if state in lifecycle.TERMINAL:
        raise Conflict(f"a {state} campaign cannot be edited", state=str(state))
    changes: dict[str, Any] = {}
    if body.script is not msgspec.UNSET:
        _not_while_running(state, "script")
        script = await check_script(body.script, rules.speech_check)
        changes.update(script=script.data, category=script.category)
    if body.policy is not msgspec.UNSET and body.policy != campaign.policy:
        _not_while_running(state, "policy")
        changes["policy"] = body.policy
    if body.script is not msgspec.UNSET or body.recording is not msgspec.UNSET:
        check_recording_disclosure(
            changes.get("script", campaign.script),
            campaign.recording if body.recording is msgspec.UNSET else body.recording,
        )
    if body.calling_window is not msgspec.UNSET:
        rules.hours.check(body.calling_window.start, body.calling_window.end)
        changes.update(window_start=body.calling_window.start, window_end=body.calling_window.end)
    if body.days is not msgspec.UNSET:
        changes["days"] = _check_days(list(body.days))
    if body.retry is not msgspec.UNSET:
        _check_retry(body.retry)
        changes["retry"] = msgspec.to_builtins(body.retry)
    if body.webhook_url is not msgspec.UNSET:
        await _check_webhook_url(body.webhook_url, rules.webhook_networks)
    for name in ("name", "concurrency", "max_call_seconds", "retention_days", "caller_id", "webhook_url", "recording"):
        value = getattr(body, name)
        if value is not msgspec.UNSET:
            changes[name] = value
    for key, value in changes.items():
        setattr(campaign, key, value)
    campaign.updated_at = utcnow()
    await session.flush()
    await audit_event(  # settings changes are audited (field names, not values)
        session,
        principal,
        "campaign.update",
        object_type="campaign",
        object_id=campaign.id,
        details={"fields": sorted(changes)},
    )
    return await view_with_dispatch(session, campaign, rules.hours)


# The actions after which the dispatcher would dial: refused outright while the account has nothing to spend.
DIALING_ACTIONS = frozenset({"start", "resume"})


def _conflict(state: State, attempted: str) -> Conflict:
    return Conflict(
        f"cannot {attempted} a campaign that is {state}",
        state=str(state),
        allowed_actions=lifecycle.allowed_actions(state),
        allowed_transitions=lifecycle.allowed_transitions(state),
    )


def _apply(campaign: Campaign, target: State) -> None:
    now = utcnow()
    campaign.state = target.value
    campaign.updated_at = now
    if target is State.RUNNING and campaign.started_at is None:
        campaign.started_at = now
    if target in lifecycle.TERMINAL:
        campaign.ended_at = now


async def act(
    session: AsyncSession, principal: Principal, campaign_id: str, action: str, hours: CallingHours
) -> CampaignView:
    """A client action (start, pause, resume, cancel); 409 with the allowed ones when illegal now."""
    campaign = await get_owned(session, principal, campaign_id, for_update=True)
    state = State(campaign.state)
    if state not in lifecycle.ACTION_FROM[action]:
        raise _conflict(state, action)
    if action in DIALING_ACTIONS:
        balance = await ledger.balance(session, campaign.account_id)
        if balance <= 0:
            # Accepted, it would sit paused without a word: say so now.
            raise Conflict(
                f"the account's credit balance is {balance}: top up before you {action} a campaign",
                field="balance",
                balance=balance,
                state=str(state),
            )
    _apply(campaign, lifecycle.ACTIONS[action])
    await session.flush()
    await audit_event(
        session,
        principal,
        "campaign.state",
        object_type="campaign",
        object_id=campaign.id,
        details={"action": action, "from": str(state), "to": campaign.state},
    )
    return await view_with_dispatch(session, campaign, hours)


async def view_with_dispatch(session: AsyncSession, campaign: Campaign, hours: CallingHours) -> CampaignView:
    return msgspec.structs.replace(view(campaign), dispatch=await dispatch_state(session, campaign, hours))


async def transition(session: AsyncSession, campaign: Campaign, target: State) -> None:
    """For the dispatcher: scheduled -> running, running -> completed, ...; raises Conflict when illegal."""
    state = State(campaign.state)
    if not lifecycle.can(state, target):
        raise _conflict(state, f"move to {target}")
    _apply(campaign, target)
    await session.flush()
    await audit_event(
        session,
        None,
        "campaign.state",
        tenant_id=campaign.account_id,
        object_type="campaign",
        object_id=campaign.id,
        details={"from": str(state), "to": campaign.state},
    )
