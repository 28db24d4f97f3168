"""How errors look in the console: pages for people, problem JSON for the console's own fetch calls."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from control_api.errors import ApiError, problem_response


def wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _page(request: Request[Any, Any, Any], status: int, title: str, detail: str) -> Template:
    return Template(
        template_name="error.html",
        context={"status": status, "title": title, "detail": detail, "principal": None},
        status_code=status,
    )


def to_sign_in(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if wants_json(request):
        return problem_response(request, 401, "Unauthorized", "sign in to the console", field="session")
    return Redirect(path="/console/login", status_code=303)


def forbidden(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    # CSRF failures land here: an expired page or a cross-site form.
    detail = "The form expired or came from another site. Reload the page and try again."
    if wants_json(request):
        return problem_response(request, 403, "Forbidden", detail, field="csrf")
    return _page(request, 403, "Request refused", detail)  # type: ignore[return-value]


def not_found(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if wants_json(request):
        return problem_response(request, 404, "Not found", str(exc.detail))
    return _page(request, 404, "Not found", "There is nothing here, or it belongs to another account.")  # type: ignore[return-value]


def console_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    if wants_json(request):
        return problem_response(
            request, exc.status, exc.title, exc.detail, field=exc.field, slug=exc.slug, extra=exc.extra
        )
    return _page(request, exc.status, exc.title, exc.detail or exc.title)  # type: ignore[return-value]
