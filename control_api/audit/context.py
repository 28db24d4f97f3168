"""Who/where of an audited request, built once per request and handed to ``record``."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit.log import AppendedEntry, append

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class AuditContext:
    actor: str  # "key:<prefix>", "operator:<prefix>", "system:retention", "cli:<command>": never a person's name
    tenant_id: str | None
    request_id: str | None = None
    client_ip: str | None = None

    async def record(
        self,
        session: AsyncSession,
        action: str,
        *,
        object_type: str | None = None,
        object_id: str | int | None = None,
        outcome: str = "success",
        details: dict[str, Any] | None = None,
        subject_ref: str | None = None,
    ) -> AppendedEntry:
        return await append(
            session,
            actor=self.actor,
            tenant_id=self.tenant_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            request_id=self.request_id,
            client_ip=self.client_ip,
            outcome=outcome,
            details=details,
            subject_ref=subject_ref,
        )


def request_id_of(headers: Any) -> str:
    """The client's ``X-Request-ID`` when it is a sane token, else a fresh one (never echo arbitrary input)."""
    given = headers.get("x-request-id") if headers is not None else None
    if given and _REQUEST_ID_RE.match(given):
        return str(given)
    return uuid.uuid4().hex


def context_from_request(
    request: Any, *, account_id: str | None, key_prefix: str | None, actor: str | None = None
) -> AuditContext:
    """For Litestar routes: actor is the API key prefix (or the ``actor`` given), tenant the account, plus request
    id and client IP."""
    client = getattr(request, "client", None)
    request_id, _ = _request_meta.get()
    return AuditContext(
        actor=actor or (f"key:{key_prefix}" if key_prefix else "anonymous"),
        tenant_id=account_id,
        request_id=request_id or request_id_of(getattr(request, "headers", None)),
        client_ip=client.host if client else None,
    )


SYSTEM_RETENTION = AuditContext(actor="system:retention", tenant_id=None)


# Request id and client IP of the HTTP request being served, so services that only get a principal can still
# write complete audit entries (set by ``AuditRequestMiddleware``; None outside a request).
_request_meta: ContextVar[tuple[str | None, str | None]] = ContextVar("closerr_audit_request", default=(None, None))


class _PrincipalLike(Protocol):
    @property
    def account_id(self) -> str: ...

    @property
    def key_prefix(self) -> str: ...

    @property
    def actor(self) -> str: ...


def current_request_meta() -> tuple[str | None, str | None]:
    return _request_meta.get()


def context_for_principal(principal: _PrincipalLike | None, *, tenant_id: str | None = None) -> AuditContext:
    """For services: the actor is the calling key, request id and client IP come from the current request."""
    request_id, client_ip = _request_meta.get()
    if principal is None:
        return AuditContext(actor="anonymous", tenant_id=tenant_id, request_id=request_id, client_ip=client_ip)
    return AuditContext(
        actor=principal.actor,
        tenant_id=tenant_id or principal.account_id,
        request_id=request_id,
        client_ip=client_ip,
    )


async def audit_event(
    session: AsyncSession,
    principal: _PrincipalLike | None,
    action: str,
    *,
    tenant_id: str | None = None,
    **kwargs: Any,
) -> AppendedEntry:
    """One-line audit hook for other areas' services (same transaction as the action it records)."""
    return await context_for_principal(principal, tenant_id=tenant_id).record(session, action, **kwargs)


class AuditRequestMiddleware:
    """ASGI middleware: remembers the request id (``X-Request-ID`` if sane, else new) and the peer's IP for the
    audit entries written while serving the request, and echoes the id back in ``X-Request-ID``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = request_id_of(headers)
        client = scope.get("client")
        token = _request_meta.set((request_id, client[0] if client else None))

        async def send_with_id(message: Any) -> None:
            if message.get("type") == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_meta.reset(token)
