"""Who may do what: roles, key scopes, suspension. Every /v1 request is judged here, by ``authorize`` (a Litestar
guard on the /v1 router), from what the route declares in its ``opt`` (``access(...)``); no handler checks a role.

Roles: a *client* is a tenant (campaigns, leads, calls, its own suppression list); an *operator* is the platform's
own staff (the national DND registry, platform-wide audit verification, credits, suspension). Operator keys are
not tenants: tenant routes refuse them, so an operator cannot act inside a client's data by mistake.

Scopes narrow a key: ``read_only`` reads (GET/HEAD) only; ``leads_upload`` reads and uploads leads (for a CRM);
``full`` does everything its role may. A key never creates a key wider than itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from control_api.accounts.tables import ROLES, SCOPES
from control_api.errors import Forbidden

CLIENT, OPERATOR = ROLES
FULL, READ_ONLY, LEADS_UPLOAD = SCOPES
# Wider scopes allow everything the narrower ones do.
_SCOPE_RANK = {READ_ONLY: 0, LEADS_UPLOAD: 1, FULL: 2}
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_OPT_ACCESS = "access"
_OPT_LEADS_UPLOAD = "leads_upload"
_OPT_OPERATOR_QUERY = "operator_only_query"


class Access(StrEnum):
    CLIENT = "client"  # a tenant's own data: client keys only
    OPERATOR = "operator"  # platform administration: operator keys only
    ANY = "any"  # the caller's own account and keys, and routes that judge the role themselves via ``opt``


def access(
    kind: Access, *, leads_upload: bool = False, operator_only_query: dict[str, str] | None = None
) -> dict[str, Any]:
    """The ``opt`` a route (or controller) declares. ``leads_upload``: a ``leads_upload`` key may call it.
    ``operator_only_query``: these query values (e.g. ``{"scope": "registry"}``) need the operator role."""
    return {
        _OPT_ACCESS: kind,
        _OPT_LEADS_UPLOAD: leads_upload,
        _OPT_OPERATOR_QUERY: dict(operator_only_query or {}),
    }


class Judged(Protocol):
    """What the policy needs to know of a caller (``accounts.service.Principal`` has these)."""

    @property
    def role(self) -> str: ...

    @property
    def scope(self) -> str: ...

    @property
    def suspended(self) -> bool: ...


def _suspended() -> Forbidden:
    return Forbidden(
        "this account is suspended; its keys are refused until the platform operator lifts the suspension",
        slug="account-suspended",
        title="Account suspended",
    )


def _needs_role(role: str, what: str) -> Forbidden:
    return Forbidden(f"{what} needs the {role} role", slug="role-required", required_role=role)


def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The guard of every /v1 route behind API-key authentication."""
    who: Judged = connection.user
    if who.suspended:
        raise _suspended()
    opt = handler.opt
    kind = Access(opt.get(_OPT_ACCESS, Access.CLIENT))
    if kind is Access.CLIENT and who.role != CLIENT:
        raise Forbidden(
            "operator keys are not tenants: this endpoint works on a client's own data and needs a client key",
            slug="role-required",
            required_role=CLIENT,
        )
    if kind is Access.OPERATOR and who.role != OPERATOR:
        raise _needs_role(OPERATOR, "this endpoint is for the platform operator and")
    for name, value in (opt.get(_OPT_OPERATOR_QUERY) or {}).items():
        if connection.query_params.get(name) == value and who.role != OPERATOR:
            raise Forbidden(
                f"{name}={value} needs the operator role; clients import into their own suppression list "
                f"(leave {name} out, or {name}=account)",
                slug="role-required",
                required_role=OPERATOR,
                field=name,
            )
    method = str(connection.scope.get("method", "GET")).upper()
    if method in _READ_METHODS or who.scope == FULL:
        return
    if who.scope == LEADS_UPLOAD and opt.get(_OPT_LEADS_UPLOAD):
        return
    raise Forbidden(
        f"this key's scope is {who.scope}, which does not allow {method} here; use a key with scope {FULL}",
        slug="scope-required",
        key_scope=who.scope,
        required_scope=FULL,
    )


def check_grant(who: Judged, scope: str) -> None:
    """A key may create keys no wider than itself."""
    if _SCOPE_RANK[scope] > _SCOPE_RANK[who.scope]:
        raise Forbidden(
            f"a key with scope {who.scope} cannot create a key with the wider scope {scope}",
            slug="scope-required",
            key_scope=who.scope,
            required_scope=scope,
            field="scope",
        )


def default_import_scope(who: Judged) -> str:
    """Where a DND import goes when the request does not say: the registry for operators, else the caller's own
    suppression list."""
    return "registry" if who.role == OPERATOR else "account"


def platform_wide(who: Judged) -> bool:
    """Records that span every tenant (the whole audit chain) are the operator's to see."""
    return who.role == OPERATOR


def recordings_account(who: Judged, own_account_id: str) -> str | None:
    """Whose call recordings this caller may hear: a client only its own account's (another tenant's calls answer
    404, as if they did not exist); the platform operator any account's (None), each hearing audited."""
    return None if who.role == OPERATOR else own_account_id


def console_refusal(who: Judged) -> str | None:
    """Why this caller may not sign in to the console (a client's own pages, which act with a full key), if so."""
    if who.suspended:
        return "This account is suspended."
    if who.role != CLIENT:
        return "Operator keys cannot sign in to the client console."
    if who.scope != FULL:
        return f"This key's scope is {who.scope}; the console needs a key with scope {FULL}."
    return None
