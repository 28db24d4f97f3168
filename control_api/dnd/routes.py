"""/v1/dnd and /v1/consent."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from config.settings import Settings
from control_api.accounts.auth import Caller
from control_api.accounts.policy import Access, access, default_import_scope
from control_api.deps import Db, Session
from control_api.dnd import service
from control_api.dnd.schemas import DndLookup, ImportReport, WithdrawRequest, WithdrawResult
from control_api.limits.hooks import EXPENSIVE, OPT
from control_api.streaming import check_content_length


class DndController(Controller):
    path = "/dnd"
    tags = ["dnd"]

    @post(
        "/import",
        status_code=200,
        request_max_body_size=None,  # enforced while streaming (CLOSERR_REGISTRY_IMPORT_MAX_BYTES)
        # The national registry is every tenant's: only the operator writes it.
        opt={**access(Access.ANY, operator_only_query={"scope": "registry"}), OPT: EXPENSIVE},
        description="Body: text/csv lines phone,preference[,time_bands]; preference 0 = fully blocked, "
        "else accepted categories like 1|5|7; time bands like 10:00-13:00|17:00-20:00. scope=registry (the "
        "default for operator keys) needs the operator role; clients import into their own suppression list.",
    )
    async def import_registry(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        principal: Caller,
        target: Annotated[
            Literal["registry", "account"] | None,
            QueryParameter(
                name="scope",
                description="registry: the national registry (operators); account: your suppression list. "
                "Default: registry for operator keys, account for client keys.",
            ),
        ] = None,
    ) -> ImportReport:
        settings = cast(Settings, request.app.state.settings)
        check_content_length(request.headers.get("content-length"), settings.registry_import_max_bytes)
        return await service.import_registry(
            db,
            principal,
            request.stream(),
            scope=target or default_import_scope(principal),
            max_bytes=settings.registry_import_max_bytes,
        )

    @get("/{phone:str}", opt=access(Access.ANY))
    async def lookup(
        self,
        phone: Annotated[str, PathParameter(max_length=40)],
        principal: Caller,
        session: Session,
        category: Annotated[int | None, QueryParameter(ge=1, le=8, description="judge a call of this category")] = None,
    ) -> DndLookup:
        return await service.lookup(session, principal, phone, category)


class ConsentController(Controller):
    path = "/consent"
    tags = ["consent"]

    @post("/withdraw", status_code=200)
    async def withdraw(self, data: JSONBody[WithdrawRequest], principal: Caller, session: Session) -> WithdrawResult:
        """Withdraw a lead's consent: the number goes on your suppression list, effective on the next dial."""
        return await service.withdraw_consent(session, principal, data.phone)
