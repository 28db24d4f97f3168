"""What every console page's template receives: who is signed in, the section, and a one-shot flash message."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from control_api.accounts.service import Principal


def flash(request: Request[Any, Any, Any], message: str, kind: str = "ok") -> None:
    """A message for the next page (after a redirect); kept in the session cookie until shown."""
    data = dict(request.session) if isinstance(request.session, dict) else {}
    data["flash"] = {"message": message, "kind": kind}
    request.set_session(data)


def _take_flash(request: Request[Any, Any, Any]) -> dict[str, str] | None:
    data = dict(request.session) if "session" in request.scope and isinstance(request.session, dict) else {}
    message = data.pop("flash", None)
    if message is not None:
        request.set_session(data)
    return message if isinstance(message, dict) else None


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    principal: Principal | None,
    section: str,
    status_code: int = 200,
    **context: Any,
) -> Template:
    return Template(
        template_name=template,
        context={
            "principal": principal,
            "section": section,
            "flash": _take_flash(request),
            **context,
        },
        status_code=status_code,
    )
