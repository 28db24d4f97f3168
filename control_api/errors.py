"""RFC 9457 problem details for every error the API answers, each naming the field at fault when there is one.

Handlers raise ``ApiError`` (or its subclasses); Litestar's own exceptions (validation, 404 routes, 405, 413)
and anything unexpected are converted here too, so no error leaves the API in another shape.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://closerr.dev/problems/"


class ApiError(Exception):
    """An error the client can act on. ``field`` is the request field at fault (body key or query parameter)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        field: str | None = None,
        slug: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.slug = slug
        self.extra = extra or {}
        self.headers = headers or {}


class NotFound(ApiError):
    def __init__(self, what: str) -> None:
        # The same answer whether the object does not exist or belongs to another tenant.
        super().__init__(404, "Not found", f"{what} not found", slug="not-found")


class Conflict(ApiError):
    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(409, "Conflict", detail, field=field, slug="conflict", extra=extra)


class InvalidField(ApiError):
    def __init__(self, field: str, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        extra = {"errors": errors} if errors else {"errors": [{"field": field, "message": detail}]}
        super().__init__(422, "Invalid request", detail, field=field, slug="invalid-field", extra=extra)


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "error"


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str = "",
    *,
    field: str | None = None,
    slug: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (slug or _slugify(title)),
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": request.url.path,
    }
    if field is not None:
        body["field"] = field
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _api_error_handler(request: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return problem_response(
        request,
        exc.status,
        exc.title,
        exc.detail,
        field=exc.field,
        slug=exc.slug,
        extra=exc.extra,
        headers=exc.headers,
    )


def _field_of(key: str | None, message: str) -> str | None:
    if key:
        return key
    # msgspec messages end in "- at `$.calling_window.start`"
    match = re.search(r"at `\$\.?([^`]*)`", message)
    return match.group(1) if match and match.group(1) else None


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    raw = exc.extra if isinstance(exc.extra, list) else []
    for item in raw:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            errors.append(
                {
                    "field": _field_of(item.get("key"), message) or "body",
                    "message": message,
                    "source": item.get("source", "body"),
                }
            )
    if not errors:
        errors.append({"field": _field_of(None, str(exc.detail)) or "body", "message": str(exc.detail)})
    first = errors[0]
    return problem_response(
        request,
        400,
        "Invalid request",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        slug="invalid-request",
        extra={"errors": errors},
    )


def _http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    title = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        413: "Request body too large",
        415: "Unsupported media type",
    }.get(status, str(exc.detail) or "Error")
    field = {401: "Authorization", 413: "body", 415: "Content-Type"}.get(status)
    return problem_response(
        request, status, title, str(exc.detail), field=field, headers=dict(exc.headers or {})
    )


def _unexpected_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "the server failed to handle the request; it has been logged",
    )


exception_handlers: dict[type[Exception], Any] = {
    ApiError: _api_error_handler,
    ValidationException: _validation_handler,
    HTTPException: _http_exception_handler,
    Exception: _unexpected_handler,
}
