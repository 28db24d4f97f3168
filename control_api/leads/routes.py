"""/v1/campaigns/{id}/leads: streamed upload and the lead list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import File

from config.settings import Settings
from control_api.accounts.auth import Caller
from control_api.accounts.policy import Access, access
from control_api.deps import Db, Session
from control_api.leads import service
from control_api.leads.schemas import LeadPage, UploadReport
from control_api.leads.upload_request import upload_params
from control_api.limits.hooks import EXPENSIVE, OPT
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]


class LeadController(Controller):
    path = "/campaigns/{campaign_id:str}/leads"
    tags = ["leads"]

    @post(
        "/",
        status_code=200,
        # what a leads_upload key (e.g. a CRM's) is for; rate-limited per key like every expensive route
        opt={**access(Access.CLIENT, leads_upload=True), OPT: EXPENSIVE},
        request_max_body_size=None,  # the service enforces CLOSERR_UPLOAD_MAX_BYTES while streaming
        description=(
            "Body: text/csv (header row; phone required) or application/x-ndjson. Answers a per-row report; "
            "nothing is written unless the whole upload succeeds."
        ),
    )
    async def upload_leads(
        self,
        campaign_id: FromPath[str],
        request: Request[Any, Any, Any],
        db: Db,
        principal: Caller,
        no_minors_attested: FromQuery[bool] = False,
        consent_source: Annotated[str | None, QueryParameter(max_length=200)] = None,
        consent_purpose: Annotated[str | None, QueryParameter(max_length=500)] = None,
        consent_at: FromQuery[datetime | None] = None,
    ) -> UploadReport:
        params = upload_params(
            request,
            no_minors_attested=no_minors_attested,
            consent_source=consent_source,
            consent_purpose=consent_purpose,
            consent_at=consent_at,
            default_content_type="",
        )
        return await service.upload(db, principal, campaign_id, request.stream(), params)

    @get("/")
    async def list_leads(
        self,
        campaign_id: FromPath[str],
        principal: Caller,
        session: Session,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        status: Annotated[str | None, QueryParameter(max_length=24)] = None,
    ) -> LeadPage:
        return await service.list_leads(session, principal, campaign_id, limit, cursor, status)

    @get("/uploads/{upload_id:str}/rejections", media_type="text/csv")
    async def upload_rejections(
        self,
        campaign_id: FromPath[str],
        upload_id: FromPath[str],
        request: Request[Any, Any, Any],
        principal: Caller,
        session: Session,
    ) -> File:
        """Every row an upload refused, as CSV (``line,reason,detail``), streamed from the server's copy."""
        settings = cast(Settings, request.app.state.settings)
        return await service.rejection_report(session, principal, campaign_id, upload_id, settings.data_dir)
