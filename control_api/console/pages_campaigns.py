"""Campaign pages: list with progress, create from an agent script, detail with lead upload and lifecycle actions.

Rules stay in ``control_api.campaigns.service`` and ``control_api.leads.service``; these handlers turn forms into
their inputs and their errors into messages next to the field.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, cast

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Stream, Template
from litestar.types import ControllerRouterHandler

from config.settings import Settings
from control_api.calls import service as calls_service
from control_api.campaigns import lifecycle
from control_api.campaigns import service as campaigns_service
from control_api.campaigns.lifecycle import State
from control_api.campaigns.rules import Rules
from control_api.campaigns.schemas import CampaignCreate
from control_api.console.auth import ConsolePrincipal, require_sign_in
from control_api.console.context import flash, page
from control_api.console.progress import Progress, campaign_progress
from control_api.deps import Db, Session
from control_api.errors import ApiError, InvalidField
from control_api.leads import service as leads_service
from control_api.leads.schemas import UploadReport
from control_api.leads.upload_request import upload_params
from control_api.results import service as results_service

ACTIONS = ("start", "pause", "resume", "cancel")


def example_script() -> str:
    return resources.files("engine.agent.scripts").joinpath("demo_solar.yaml").read_text(encoding="utf-8")


def _form_errors(exc: ApiError) -> dict[str, str]:
    """Field -> message, with the script's line numbers in the message (shown under the script box)."""
    errors: dict[str, str] = {}
    for err in exc.extra.get("errors") or [{"field": exc.field or "form", "message": exc.detail}]:
        field = str(err.get("field") or "form")
        key = "script" if field.startswith("script") else field.split(".")[0]
        where = field.removeprefix("script").lstrip(".")
        line = f"line {err['line']}: " if err.get("line") else ""
        message = f"{line}{where + ': ' if where and key == 'script' else ''}{err.get('message', '')}"
        errors[key] = f"{errors[key]}\n{message}" if key in errors else message
    return errors


def _msgspec_field(message: str) -> str:
    # "Expected `str` of length >= 1 - at `$.name`" -> "name"
    if "at `$." in message:
        return message.split("at `$.", 1)[1].split("`", 1)[0].split(".")[0].split("[")[0]
    return "form"


# The campaign page shows the first leads; the API and the results download have them all.
LEADS_SHOWN = 100


class CampaignPages(Controller):
    path = "/campaigns"
    guards = [require_sign_in]

    @get("/")
    async def list_page(
        self, request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session
    ) -> Template:
        campaigns = (await campaigns_service.list_campaigns(session, principal, 200, None, None)).items
        progress = await campaign_progress(session, principal.account_id, [c.id for c in campaigns])
        return page(
            request,
            "campaigns.html",
            principal=principal,
            section="campaigns",
            campaigns=list(reversed(campaigns)),  # newest first
            progress=progress,
            empty=Progress(),
            actions_for=lambda state: lifecycle.allowed_actions(State(state)),
        )

    @get("/new")
    async def new_form(self, request: Request[Any, Any, Any], principal: ConsolePrincipal) -> Template:
        values = {"name": "", "script": example_script(), "window_start": "09:00", "window_end": "21:00"}
        values.update(concurrency="5", recording="on", policy="script")
        return page(request, "campaign_new.html", principal=principal, section="campaigns", values=values, errors={})

    @post("/new")
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: ConsolePrincipal,
        session: Session,
        campaign_rules: Rules,
    ) -> Template | Redirect:
        form = await request.form()
        fields = ("name", "script", "window_start", "window_end", "concurrency", "recording", "policy")
        values = {k: str(form.get(k) or "") for k in fields}
        try:
            body = msgspec.convert(
                {
                    "name": values["name"].strip(),
                    "script": values["script"] if values["script"].strip() else "",
                    "calling_window": {"start": values["window_start"], "end": values["window_end"]},
                    "concurrency": int(values["concurrency"] or 5),
                    "policy": values["policy"] or "script",
                    "recording": values["recording"] or "on",
                },
                CampaignCreate,
            )
            created = await campaigns_service.create(session, principal, body, campaign_rules)
        except ValueError as exc:  # msgspec.ValidationError and int() both land here
            field = _msgspec_field(str(exc))
            field = {"calling_window": "window_start"}.get(field, field)
            if field == "form" and "invalid literal" in str(exc):
                field = "concurrency"
            messages = {
                "name": "Give the campaign a name.",
                "script": "Paste an agent script (YAML or JSON).",
                "concurrency": "Concurrency is a whole number from 1 to 100.",
                "window_start": "Calling hours are HH:MM, 24-hour.",
                "policy": "Choose who answers the lead: the script or the LLM.",
                "recording": "Recording is on or off.",
            }
            errors = {field: messages.get(field, str(exc))}
            return page(
                request,
                "campaign_new.html",
                principal=principal,
                section="campaigns",
                values=values,
                errors=errors,
                status_code=422,
            )
        except InvalidField as exc:
            await session.rollback()
            errors = _form_errors(exc)
            for api_field, form_field in (
                ("calling_window", "window_start"),
                ("calling_window.start", "window_start"),
                ("calling_window.end", "window_end"),
            ):
                if api_field in errors:
                    errors[form_field] = errors.pop(api_field)
            return page(
                request,
                "campaign_new.html",
                principal=principal,
                section="campaigns",
                values=values,
                errors=errors,
                status_code=422,
            )
        flash(request, f"Campaign “{created.name}” created as a draft. Upload its leads, then start it.")
        return Redirect(path=f"/console/campaigns/{created.id}", status_code=303)

    @get("/{campaign_id:str}")
    async def detail(
        self,
        campaign_id: FromPath[str],
        request: Request[Any, Any, Any],
        principal: ConsolePrincipal,
        session: Session,
        campaign_rules: Rules,
    ) -> Template:
        owned = await campaigns_service.get_owned(session, principal, campaign_id)
        campaign = await campaigns_service.view_with_dispatch(session, owned, campaign_rules.hours)
        progress = (await campaign_progress(session, principal.account_id, [campaign_id]))[campaign_id]
        calls = (await calls_service.list_calls(session, principal, campaign_id, 100, None)).items
        leads = await leads_service.list_leads(session, principal, campaign_id, LEADS_SHOWN, None, None)
        return page(
            request,
            "campaign.html",
            principal=principal,
            section="campaigns",
            campaign=campaign,
            progress=progress,
            calls=list(reversed(calls)),
            leads=leads.items,
            more_leads=leads.next_cursor is not None,
            actions=lifecycle.allowed_actions(State(campaign.state)),
            can_upload=State(campaign.state) not in lifecycle.TERMINAL,
        )

    @get("/{campaign_id:str}/results")
    async def results(
        self, campaign_id: FromPath[str], principal: ConsolePrincipal, session: Session, db: Db
    ) -> Stream:
        """The campaign's results as CSV, the same file as GET /v1/campaigns/{id}/results."""
        return results_service.download(db, await campaigns_service.get_owned(session, principal, campaign_id), "csv")

    @post("/{campaign_id:str}/{action:str}")
    async def act(
        self,
        campaign_id: FromPath[str],
        action: FromPath[str],
        request: Request[Any, Any, Any],
        principal: ConsolePrincipal,
        session: Session,
        campaign_rules: Rules,
    ) -> Redirect:
        back = str((await request.form()).get("next") or f"/console/campaigns/{campaign_id}")
        if not back.startswith("/console/"):
            back = "/console/campaigns"  # never an open redirect
        if action not in ACTIONS:
            flash(request, f"Unknown action “{action}”.", "error")
            return Redirect(path=back, status_code=303)
        try:
            view = await campaigns_service.act(session, principal, campaign_id, action, campaign_rules.hours)
        except ApiError as exc:
            await session.rollback()
            flash(request, exc.detail or exc.title, "error")
        else:
            flash(request, f"Campaign “{view.name}” is now {view.state}.")
        return Redirect(path=back, status_code=303)


class LeadUpload(Controller):
    """The upload itself: the browser sends the file as the raw body (so it can show upload progress) and gets
    the per-row report back as JSON."""

    path = "/campaigns/{campaign_id:str}/leads"
    guards = [require_sign_in]

    @post("/", status_code=200, request_max_body_size=None)
    async def upload(
        self,
        campaign_id: FromPath[str],
        request: Request[Any, Any, Any],
        principal: ConsolePrincipal,
        db: Db,
        no_minors_attested: FromQuery[bool] = False,
        consent_source: FromQuery[str | None] = None,
        consent_purpose: FromQuery[str | None] = None,
    ) -> UploadReport:
        params = upload_params(
            request,
            no_minors_attested=no_minors_attested,
            consent_source=consent_source,
            consent_purpose=consent_purpose,
            consent_at=None,
            default_content_type="text/csv",
        )
        return await leads_service.upload(db, principal, campaign_id, request.stream(), params)

    @get("/uploads/{upload_id:str}/rejections", media_type="text/csv")
    async def rejections(
        self,
        campaign_id: FromPath[str],
        upload_id: FromPath[str],
        request: Request[Any, Any, Any],
        principal: ConsolePrincipal,
        session: Session,
    ) -> File:
        """The upload's rejection report (every refused row), as the API serves it."""
        settings = cast(Settings, request.app.state.settings)
        return await leads_service.rejection_report(session, principal, campaign_id, upload_id, settings.data_dir)


def route_handlers() -> list[ControllerRouterHandler]:
    return [CampaignPages, LeadUpload]
