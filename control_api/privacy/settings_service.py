"""Per-account privacy settings: the data region (default ``in``) and the content retention override."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from control_api.audit import AuditContext
from control_api.errors import InvalidField
from control_api.privacy import repository as repo


def served_regions(settings: Settings) -> set[str]:
    return {r.strip() for r in settings.served_regions.split(",") if r.strip()}


def settings_doc(
    account_id: str, region: str, days: int | None, settings: Settings, updated_at: datetime | None
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "region": region,
        "content_retention_days": days,
        "effective_default_content_retention_days": days or settings.content_retention_days,
        "metadata_retention_days": settings.metadata_retention_days,
        "updated_at": updated_at.isoformat() if updated_at else None,
    }


async def get_privacy_settings(session: AsyncSession, account_id: str, settings: Settings) -> dict[str, Any]:
    row = await repo.get_account_privacy(session, account_id)
    if row is None:
        return settings_doc(account_id, settings.default_region, None, settings, None)
    return settings_doc(account_id, row.region, row.content_retention_days, settings, row.updated_at)


async def update_privacy_settings(
    session: AsyncSession, ctx: AuditContext, settings: Settings, changes: dict[str, Any]
) -> dict[str, Any]:
    assert ctx.tenant_id is not None
    if not changes:
        raise InvalidField("body", "give at least one of: region, content_retention_days")
    region = changes.get("region")
    if region is not None and region not in served_regions(settings):
        raise InvalidField(
            "region",
            f"this deployment stores data only in {sorted(served_regions(settings))}; use a deployment in that region",
        )
    current = await repo.get_account_privacy(session, ctx.tenant_id)
    values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
    if current is None:
        values.setdefault("region", settings.default_region)
    values.update(changes)
    row = await repo.upsert_account_privacy(session, ctx.tenant_id, **values)
    await ctx.record(
        session,
        "settings.privacy",
        object_type="account",
        object_id=ctx.tenant_id,
        details={k: v for k, v in changes.items()},
    )
    return settings_doc(ctx.tenant_id, row.region, row.content_retention_days, settings, row.updated_at)
