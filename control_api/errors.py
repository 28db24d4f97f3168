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
from sqlalchemy.exc import DBAPIError

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


class Forbidden(ApiError):
    """The caller is known but may not do this; ``detail`` says why and ``extra`` what would be needed."""

    def __init__(
        self, detail: str, *, slug: str = "forbidden", title: str = "Forbidden", field: str | None = None, **extra: Any
    ) -> None:
        super().__init__(403, title, detail, field=field, slug=slug, extra=extra)


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
    """The field a validation message is about: msgspec says "... - at `$.calling_window.start`",
    "Object missing required field `phone`" and "Object contains unknown field `role`"; Litestar's key is the
    parameter name ("data" for a body)."""
    at = re.search(r"at `\$\.?([^`]*)`", message)
    missing = re.search(r"(?:missing required|contains unknown) field `([^`]+)`", message)
    parts = [p for p in ((at.group(1) if at else ""), (missing.group(1) if missing else "")) if p]
    if parts:
        return ".".join(parts).replace(".[", "[")
    if key and key != "data":
        return key
    return None


def _wire_name(request: Request[Any, Any, Any], key: str | None) -> str | None:
    """Litestar reports a parameter by its Python name (``fmt``); the client knows it by the name it sends
    (``?format=``)."""
    if key is None:
        return None
    try:
        definition = request.route_handler.parsed_fn_signature.parameters[key].kwarg_definition
    except (AttributeError, KeyError):
        return key
    alias = getattr(definition, "name", None) or getattr(definition, "query", None)
    return alias if isinstance(alias, str) and alias else key


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    raw = exc.extra if isinstance(exc.extra, list) else []
    for item in raw:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            errors.append(
                {
                    "field": _field_of(_wire_name(request, item.get("key")), message) or "body",
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
    return problem_response(request, status, title, str(exc.detail), field=field, headers=dict(exc.headers or {}))


def _database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    # Values PostgreSQL refuses that validation let through are the client's input, not a server fault.
    text = str(exc.orig) if exc.orig is not None else str(exc)
    # NUL in a text column ("0x00"), or as \u0000 in a JSONB one (SQLSTATE 22P05, untranslatable_character).
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if "0x00" in text or sqlstate in ("22021", "22P05") or "CharacterNotInRepertoire" in type(exc.orig).__name__:
        return problem_response(
            request,
            422,
            "Invalid request",
            "text must not contain NUL (U+0000) characters",
            field="body",
            slug="invalid-field",
        )
    if "database is locked" in text:
        # SQLite allows one writer; a long bulk import can hold it past the busy timeout.
        return problem_response(
            request,
            503,
            "Database busy",
            "the database is busy with a bulk write (e.g. a registry import); retry shortly",
            slug="database-busy",
            headers={"Retry-After": "5"},
        )
    if "out of int64 range" in text or "NumericValueOutOfRange" in type(exc.orig).__name__:
        return problem_response(
            request, 422, "Invalid request", "a number is out of range", field="body", slug="invalid-field"
        )
    return _unexpected_handler(request, exc)


def _unexpected_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The route's template, not the path: a path may hold a phone number (/v1/subjects/{phone}).
    route = request.scope.get("path_template") or "(no route)"
    log.exception("unhandled error on %s %s", request.method, route, exc_info=exc)
    return problem_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "the server failed to handle the request; it has been logged",
    )


exception_handlers: dict[int | type[Exception], Any] = {
    ApiError: _api_error_handler,
    ValidationException: _validation_handler,
    HTTPException: _http_exception_handler,
    DBAPIError: _database_error_handler,
    Exception: _unexpected_handler,
}
