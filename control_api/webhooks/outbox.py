"""Queue webhook events in the caller's transaction, and deliver them: a POST signed with the owning account's
secret to an address checked right before sending, retried with exponential backoff, claimed row by row with
``FOR UPDATE SKIP LOCKED`` so several workers never send one event twice at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from loguru import logger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.tables import Account
from control_api.campaigns.tables import Campaign
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
from control_api.webhooks.destination import Destination, Network, Resolver, UnsafeDestination, resolve, system_resolver
from control_api.webhooks.signing import HEADER, sign
from control_api.webhooks.tables import WebhookDelivery

MAX_BACKOFF = timedelta(hours=1)
# While one worker sends a delivery, others skip it: its next attempt is pushed this far ahead first.
SENDING_HOLD = timedelta(seconds=60)


async def enqueue(s: AsyncSession, campaign: Campaign, event: str, data: dict[str, Any], now: datetime) -> None:
    if not campaign.webhook_url:
        return
    payload = {"event": event, "campaign_id": campaign.id, "account_id": campaign.account_id, **data}
    s.add(
        WebhookDelivery(
            account_id=campaign.account_id,
            campaign_id=campaign.id,
            event=event,
            url=campaign.webhook_url,
            payload=payload,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    await s.flush()


def backoff(base_s: float, attempts: int) -> timedelta:
    return min(timedelta(seconds=base_s * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True)
class Attempt:
    status: int | None
    error: str | None
    final: bool = False  # no retry can succeed (refused destination, no secret): fail the delivery now


@dataclass
class Deliverer:
    """Signs each delivery with the owning account's own secret, so one client's secret verifies only its own
    webhooks."""

    db: Database
    max_attempts: int = 8
    backoff_s: float = 2.0
    batch: int = 20
    allowed_networks: Sequence[Network] = ()
    resolver: Resolver = system_resolver

    async def run_once(self, http: httpx.AsyncClient, now: datetime | None = None) -> int:
        """Send the due deliveries once; answers how many were delivered."""
        now = now or utcnow()
        async with session_scope(self.db) as s:
            rows = (
                (
                    await s.execute(
                        select(WebhookDelivery)
                        .where(
                            WebhookDelivery.delivered_at.is_(None),
                            WebhookDelivery.failed_at.is_(None),
                            WebhookDelivery.next_attempt_at <= now,
                        )
                        .order_by(WebhookDelivery.id)
                        .limit(self.batch)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            owners = {r.account_id for r in rows}
            found = await s.execute(select(Account.id, Account.webhook_secret).where(Account.id.in_(owners)))
            secrets = {account_id: secret for account_id, secret in found.tuples()}
            due = [(r.id, r.url, r.event, r.payload, r.attempts, secrets.get(r.account_id)) for r in rows]
            for r in rows:
                r.next_attempt_at = now + SENDING_HOLD
        delivered = 0
        for delivery_id, url, event, payload, attempts, secret in due:
            attempt = await self._post(http, delivery_id, url, event, payload, secret)
            async with session_scope(self.db) as s:
                row = await s.get(WebhookDelivery, delivery_id)
                if row is None:
                    continue
                row.attempts = attempts + 1
                row.last_status = attempt.status
                row.last_error = attempt.error
                when = utcnow()
                if attempt.status is not None and 200 <= attempt.status < 300:
                    row.delivered_at = when
                    delivered += 1
                elif attempt.final or row.attempts >= self.max_attempts:
                    row.failed_at = when
                else:
                    row.next_attempt_at = when + backoff(self.backoff_s, row.attempts)
        return delivered

    async def _post(
        self,
        http: httpx.AsyncClient,
        delivery_id: int,
        url: str,
        event: str,
        payload: dict[str, Any],
        secret: str | None,
    ) -> Attempt:
        if not secret:
            return Attempt(None, "the account has no webhook secret (POST /v1/accounts/me/webhook-secret)", final=True)
        try:
            # Checked again now: the name may resolve elsewhere than when the campaign was saved.
            target = await resolve(url, self.allowed_networks, self.resolver)
        except UnsafeDestination as exc:
            logger.warning("webhook delivery {} refused: {}", delivery_id, exc)
            return Attempt(None, str(exc), final=True)
        if target is None:  # DNS may be down for a moment: retried like a network error
            return Attempt(None, "the host does not resolve")
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Closerr-Event": event,
            "X-Closerr-Delivery": str(delivery_id),
            HEADER: sign(secret, body),
            # Connections are pooled by address: one kept open for another host name on the same address would
            # carry this request under that name's TLS check.
            "Connection": "close",
        }
        try:
            response = await http.post(
                pinned_url(url, target),
                content=body,
                headers={**headers, **host_header(target)},
                extensions=tls_name(target),
            )
        except httpx.HTTPError as exc:
            logger.info("webhook delivery {} failed: {}", delivery_id, type(exc).__name__)
            return Attempt(None, type(exc).__name__)
        return Attempt(response.status_code, None if response.is_success else f"HTTP {response.status_code}")


def pinned_url(url: str, target: Destination) -> httpx.URL:
    """``url`` with its host replaced by the checked address, so no second lookup can pick another one."""
    return httpx.URL(url).copy_with(host=str(target.address))


def host_header(target: Destination) -> dict[str, str]:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return {"Host": host if target.port == default else f"{host}:{target.port}"}


def tls_name(target: Destination) -> dict[str, Any]:
    """The certificate is checked against the URL's host name, not the address connected to."""
    return {"sni_hostname": target.host} if target.scheme == "https" else {}
