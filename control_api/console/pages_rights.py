"""Data rights of the people a client calls: find a number, export what is held, erase it, withdraw consent.

The numbers travel in POST bodies only (never in a URL, where access logs would keep them). The rules, and the
audit entries, are the privacy and DND services' own.
"""

from __future__ import annotations

import json
from typing import Any, cast

from litestar import Controller, Request, get, post
from litestar.response import Response, Template
from litestar.types import ControllerRouterHandler

from config.settings import Settings
from control_api.audit import context_from_request
from control_api.console.auth import ConsolePrincipal, require_sign_in
from control_api.console.context import page
from control_api.deps import Db, Session
from control_api.dnd import service as dnd_service
from control_api.errors import ApiError
from control_api.privacy import subjects
from control_api.privacy.storage_hygiene import flush_deleted_pages


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return cast(Settings, request.app.state.settings)


async def _phone_and_confirm(request: Request[Any, Any, Any]) -> tuple[str, bool]:
    form = await request.form()
    return str(form.get("phone") or "").strip(), form.get("confirm") == "yes"


class RightsPages(Controller):
    path = "/rights"
    guards = [require_sign_in]

    def _render(
        self, request: Request[Any, Any, Any], principal: ConsolePrincipal, status: int = 200, **ctx: Any
    ) -> Template:
        ctx.setdefault("phone", "")
        ctx.setdefault("errors", {})
        ctx.setdefault("doc", None)
        ctx.setdefault("done", None)
        return page(request, "rights.html", principal=principal, section="rights", status_code=status, **ctx)

    @get("/")
    async def form(self, request: Request[Any, Any, Any], principal: ConsolePrincipal) -> Template:
        return self._render(request, principal)

    @post("/search")
    async def search(self, request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session) -> Template:
        phone, _ = await _phone_and_confirm(request)
        ctx = context_from_request(request, account_id=principal.account_id, key_prefix=principal.key_prefix)
        try:
            doc = await subjects.access(session, ctx, phone, _settings(request).data_dir)
        except ApiError as exc:
            return self._render(request, principal, 422, phone=phone, errors={"phone": exc.detail})
        return self._render(request, principal, phone=phone, doc=doc)

    @post("/export")
    async def export(
        self, request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session
    ) -> Response[bytes]:
        phone, _ = await _phone_and_confirm(request)
        ctx = context_from_request(request, account_id=principal.account_id, key_prefix=principal.key_prefix)
        doc = await subjects.access(session, ctx, phone, _settings(request).data_dir)
        # The file is named by the pseudonym, not the number (downloads folders get synced and indexed).
        return Response(
            content=json.dumps(doc, indent=2, default=str).encode(),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="subject-{doc["subject_ref"][:12]}.json"'},
        )

    @post("/erase")
    async def erase(
        self, request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session, db: Db
    ) -> Template:
        phone, confirmed = await _phone_and_confirm(request)
        if not confirmed:
            return self._render(
                request, principal, 422, phone=phone, errors={"erase": "Tick the box to confirm the erasure."}
            )
        ctx = context_from_request(request, account_id=principal.account_id, key_prefix=principal.key_prefix)
        try:
            report = await subjects.erase(session, ctx, phone, _settings(request).data_dir)
        except ApiError as exc:
            return self._render(request, principal, 422, phone=phone, errors={"phone": exc.detail})
        await session.commit()
        await flush_deleted_pages(db)
        counts = report.counts()
        done = (
            f"Erased {counts['leads']} lead record(s), {counts['calls']} call(s) with their transcripts and "
            f"{counts['audio_files']} recording(s). The number stays suppressed so it is never called again."
        )
        return self._render(request, principal, done=done)

    @post("/withdraw")
    async def withdraw(
        self, request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session
    ) -> Template:
        phone, confirmed = await _phone_and_confirm(request)
        if not confirmed:
            return self._render(
                request, principal, 422, phone=phone, errors={"withdraw": "Tick the box to confirm the withdrawal."}
            )
        try:
            result = await dnd_service.withdraw_consent(session, principal, phone)
        except ApiError as exc:
            return self._render(request, principal, 422, phone=phone, errors={"phone": exc.detail})
        done = f"Consent withdrawn for {result.phone}: it is on your suppression list from the next dial."
        return self._render(request, principal, phone=phone, done=done)


def route_handlers() -> list[ControllerRouterHandler]:
    return [RightsPages]
