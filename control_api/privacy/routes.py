"""Routes of the privacy area (thin: parse, call the service, answer). ``route_handlers()`` is picked up by
``control_api.app.v1_router``, so every path here is under /v1 and behind API-key authentication."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromQuery, Parameter
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from control_api.accounts.policy import Access, access, platform_wide
from control_api.accounts.service import Principal
from control_api.audit import AuditContext, context_from_request, verify, verify_tenant
from control_api.errors import ApiError
from control_api.limits.hooks import EXPENSIVE, OPT
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from control_api.privacy import grievances as grievance_service
from control_api.privacy import repository as repo
from control_api.privacy import settings_service, subjects
from control_api.privacy.purge import purge_campaign
from control_api.privacy.scheduler import JOB_NAME
from control_api.privacy.schemas import GrievanceCreate, GrievanceUpdate, PrivacySettingsUpdate, SubjectCorrection
from control_api.privacy.storage_hygiene import flush_deleted_pages
from control_api.storage.db import Database, session_scope

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="page size")]


def _page(items: list[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    """The one list shape (``control_api.pagination``): ``items`` and an opaque ``next_cursor``."""
    return {"items": items[:limit], "next_cursor": encode_cursor(offset + limit) if len(items) > limit else None}


def _ctx(request: Request[Any, Any, Any], principal: Principal) -> AuditContext:
    return context_from_request(
        request, account_id=principal.account_id, key_prefix=principal.key_prefix, actor=principal.actor
    )


@asynccontextmanager
async def _rights_request(
    request: Request[Any, Any, Any], principal: Principal, db: Database, action: str
) -> AsyncIterator[AuditContext]:
    """The audit context of a data-rights request. A refused request (``ApiError``) is audited too, before the
    refusal is answered; the request's own transaction is rolled back, so this entry gets its own."""
    ctx = _ctx(request, principal)
    try:
        yield ctx
    except ApiError as exc:
        async with session_scope(db) as session:
            await ctx.record(
                session,
                action,
                object_type="subject",
                outcome="denied" if exc.status in (401, 403) else "failure",
                details={"status": exc.status, "field": exc.field},
            )
        raise


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return cast(Settings, request.app.state.settings)


def _set_fields(body: msgspec.Struct) -> dict[str, Any]:
    return {f: getattr(body, f) for f in body.__struct_fields__ if getattr(body, f) is not msgspec.UNSET}


class SubjectController(Controller):
    path = "/subjects"
    tags = ["privacy"]

    @get("/{phone:str}", opt={OPT: EXPENSIVE})
    async def access(
        self,
        phone: str,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        db: Database,
    ) -> dict[str, Any]:
        """Everything held about this phone number in your account (right of access)."""
        async with _rights_request(request, principal, db, "subject.access") as ctx:
            return await subjects.access(session, ctx, phone, _settings(request).data_dir)

    @patch("/{phone:str}")
    async def correct(
        self,
        phone: str,
        data: SubjectCorrection,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        db: Database,
    ) -> dict[str, Any]:
        """Correct the name and/or metadata of this number's leads (right of correction)."""
        fields = _set_fields(data)
        fix = subjects.Correction(name=fields.get("name"), metadata=fields.get("metadata"), fields_set=set(fields))
        async with _rights_request(request, principal, db, "subject.correct") as ctx:
            return await subjects.correct(session, ctx, phone, fix)

    @delete("/{phone:str}", status_code=200)
    async def erase(
        self,
        phone: str,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        db: Database,
    ) -> dict[str, Any]:
        """Erase this number from your account: leads, calls, transcripts, audio, slots, payload copies."""
        async with _rights_request(request, principal, db, "subject.erase") as ctx:
            report = await subjects.erase(session, ctx, phone, _settings(request).data_dir)
        await session.commit()
        await flush_deleted_pages(db)
        return {"subject_ref": report.subject_ref, "erased": report.counts()}


@post("/campaigns/{campaign_id:str}/purge", status_code=200, tags=["privacy"])
async def purge_campaign_route(
    campaign_id: str,
    request: Request[Any, Any, Any],
    principal: Principal,
    session: AsyncSession,
    db: Database,
) -> dict[str, Any]:
    """Delete every lead, call log, transcript and recording of one campaign (the campaign itself stays)."""
    counts = await purge_campaign(session, _ctx(request, principal), campaign_id, _settings(request).data_dir)
    await session.commit()
    await flush_deleted_pages(db)
    return {"campaign_id": campaign_id, "purged": counts}


@get("/audit/verify", tags=["privacy"], opt=access(Access.ANY))
async def verify_audit(principal: Principal, session: AsyncSession) -> dict[str, Any]:
    """A client: recompute each of its own entries' hashes and links. The operator: the whole chain, every
    link. ``first_broken_seq`` names the first entry that fails; ``scope`` says which check ran."""
    if platform_wide(principal):
        return {**(await verify(session)).to_dict(), "scope": "platform"}
    return {**(await verify_tenant(session, principal.account_id)).to_dict(), "scope": "account"}


class GrievanceController(Controller):
    path = "/grievances"
    tags = ["privacy"]

    @post("/", status_code=201)
    async def file(
        self,
        data: GrievanceCreate,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
    ) -> dict[str, Any]:
        """Record a grievance for the Grievance Officer; due in 90 days."""
        intake = grievance_service.GrievanceIntake(
            complainant_name=data.complainant_name, contact=data.contact, text=data.text, phone=data.phone
        )
        return await grievance_service.file_grievance(
            session, _ctx(request, principal), intake, due_days=_settings(request).grievance_due_days
        )

    @get("/")
    async def list_all(
        self,
        principal: Principal,
        session: AsyncSession,
        status: str | None = None,
        overdue: bool = False,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        offset = decode_cursor(cursor)
        items = await grievance_service.list_grievances(
            session, principal.account_id, status=status, overdue=overdue, offset=offset, limit=limit + 1
        )
        return _page(items, offset, limit)

    @get("/overdue")
    async def overdue(
        self,
        principal: Principal,
        session: AsyncSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Grievances not resolved by their due date."""
        offset = decode_cursor(cursor)
        items = await grievance_service.list_grievances(
            session, principal.account_id, status=None, overdue=True, offset=offset, limit=limit + 1
        )
        return _page(items, offset, limit)

    @patch("/{grievance_id:str}")
    async def update(
        self,
        grievance_id: str,
        data: GrievanceUpdate,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
    ) -> dict[str, Any]:
        return await grievance_service.update_grievance(
            session, _ctx(request, principal), grievance_id, status=data.status, resolution=data.resolution
        )


class PrivacySettingsController(Controller):
    path = "/privacy"
    tags = ["privacy"]

    @get("/settings")
    async def get_settings(
        self, request: Request[Any, Any, Any], principal: Principal, session: AsyncSession
    ) -> dict[str, Any]:
        """The account's data region and content retention."""
        return await settings_service.get_privacy_settings(session, principal.account_id, _settings(request))

    @patch("/settings")
    async def update_settings(
        self,
        data: PrivacySettingsUpdate,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
    ) -> dict[str, Any]:
        return await settings_service.update_privacy_settings(
            session, _ctx(request, principal), _settings(request), _set_fields(data)
        )

    @get("/retention")
    async def retention_state(self, session: AsyncSession) -> dict[str, Any]:
        """When the retention purge last ran, what it removed (counts), and when it runs next."""
        job = await repo.get_job(session, JOB_NAME)
        if job is None:
            return {"next_run_at": None, "last_finished_at": None, "last_result": None, "runs": 0}
        return {
            "next_run_at": job.next_run_at.isoformat(),
            "last_finished_at": job.last_finished_at.isoformat() if job.last_finished_at else None,
            "last_result": msgspec.json.decode(job.last_result) if job.last_result else None,
            "runs": job.runs,
        }


def route_handlers() -> list[ControllerRouterHandler]:
    return [SubjectController, purge_campaign_route, verify_audit, GrievanceController, PrivacySettingsController]
