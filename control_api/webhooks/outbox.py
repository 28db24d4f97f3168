"""Queue webhook events in the caller's transaction, and deliver them: signed POST, retried with exponential
backoff, claimed row by row with ``FOR UPDATE SKIP LOCKED`` so several workers never send one event twice at once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from loguru import logger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.campaigns.tables import Campaign
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
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


@dataclass
class Deliverer:
    db: Database
    secret: str | None
    max_attempts: int = 8
    backoff_s: float = 2.0
    batch: int = 20
    _warned: bool = False

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
            due = [(r.id, r.url, r.event, r.payload, r.attempts) for r in rows]
            for r in rows:
                r.next_attempt_at = now + SENDING_HOLD
        delivered = 0
        for delivery_id, url, event, payload, attempts in due:
            status, error = await self._post(http, delivery_id, url, event, payload)
            async with session_scope(self.db) as s:
                row = await s.get(WebhookDelivery, delivery_id)
                if row is None:
                    continue
                row.attempts = attempts + 1
                row.last_status = status
                row.last_error = error
                when = utcnow()
                if status is not None and 200 <= status < 300:
                    row.delivered_at = when
                    delivered += 1
                elif row.attempts >= self.max_attempts:
                    row.failed_at = when
                else:
                    row.next_attempt_at = when + backoff(self.backoff_s, row.attempts)
        return delivered

    async def _post(
        self, http: httpx.AsyncClient, delivery_id: int, url: str, event: str, payload: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "X-Closerr-Event": event, "X-Closerr-Delivery": str(delivery_id)}
        if self.secret:
            headers[HEADER] = sign(self.secret, body)
        elif not self._warned:
            self._warned = True
            logger.warning("CLOSERR_WEBHOOK_SECRET is not set: webhooks are sent unsigned")
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            logger.info("webhook delivery {} failed: {}", delivery_id, type(exc).__name__)
            return None, type(exc).__name__
        return response.status_code, None if response.is_success else f"HTTP {response.status_code}"
