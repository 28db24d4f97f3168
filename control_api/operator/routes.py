"""/v1/operator: the platform operator's endpoints (operator keys only; the guard in ``accounts.policy`` refuses
every other caller)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.types import ControllerRouterHandler

from control_api.accounts.auth import Caller
from control_api.accounts.policy import Access, access
from control_api.deps import Session
from control_api.operator import service
from control_api.operator.schemas import AccountLlm, AccountStatus, CreditTopUp, LlmAssignment, TopUpResult


class OperatorAccountController(Controller):
    path = "/operator/accounts"
    tags = ["operator"]
    opt = access(Access.OPERATOR)

    @post("/{account_id:str}/credits", status_code=200)
    async def top_up(
        self,
        account_id: FromPath[str],
        data: JSONBody[CreditTopUp],
        principal: Caller,
        session: Session,
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name=service.IDEMPOTENCY_HEADER,
                description="retrying with the same key and body answers the first result and adds nothing",
            ),
        ] = None,
    ) -> TopUpResult:
        """Add credits to a client account (audited)."""
        return await service.top_up(session, principal, account_id, data, idempotency_key)

    @post("/{account_id:str}/suspend", status_code=200)
    async def suspend(self, account_id: FromPath[str], principal: Caller, session: Session) -> AccountStatus:
        """Suspend a client account: its keys get 403, its console sign-in is refused, no call of it is dialed."""
        return await service.set_suspended(session, principal, account_id, True)

    @post("/{account_id:str}/unsuspend", status_code=200)
    async def unsuspend(self, account_id: FromPath[str], principal: Caller, session: Session) -> AccountStatus:
        """Lift a suspension."""
        return await service.set_suspended(session, principal, account_id, False)

    @put("/{account_id:str}/llm", status_code=200)
    async def assign_llm(
        self,
        account_id: FromPath[str],
        data: JSONBody[LlmAssignment],
        principal: Caller,
        session: Session,
        llm_profiles: NamedDependency[tuple[str, ...]],
    ) -> AccountLlm:
        """Choose the named LLM endpoint (``CLOSERR_LLM_PROFILES``) the account's ``llm`` campaigns use (audited)."""
        return await service.assign_llm_profile(session, principal, account_id, data, llm_profiles)


def route_handlers() -> list[ControllerRouterHandler]:
    return [OperatorAccountController]
