"""The OpenAPI document as clients' tools read it: every error is RFC 9457 problem details, each operation lists
the statuses it can answer, and the streamed uploads declare the bodies they take.

Litestar documents one 400 with its own ``{status_code, detail, extra}`` body, which the API never sends
(``control_api.errors`` answers ``application/problem+json``). A generated client then parses no error at all: it
gets ``parsed=None`` on a 409 or a 422 and raises on a 401. So once the document is built, each operation's error
responses are replaced by the ones it can really answer, all pointing at one ``ProblemDetails`` schema.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA = "ProblemDetails"
METHODS = ("get", "put", "post", "delete", "patch")

_TEXT = {"type": "string"}
PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `field` names the request field at fault, `errors` lists every one. "
    "Some problems add members (a 409's `state` and `allowed_actions`, a 429's `limit` and `window_seconds`).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the kind of problem"},
        "title": _TEXT,
        "status": {"type": "integer"},
        "detail": _TEXT,
        "instance": _TEXT,
        "field": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": _TEXT, "message": _TEXT, "source": _TEXT},
            },
        },
    },
}
DESCRIPTIONS = {
    400: "malformed request: JSON, types, a body nested too deep, an unknown query value",
    401: "missing, malformed or revoked API key",
    403: "the key's role or scope does not allow this, or the account is suspended",
    404: "no such object in the caller's account",
    409: "conflicts with the object's state (the answer says which actions are allowed)",
    413: "the body exceeds its size limit",
    415: "unsupported Content-Type for this upload",
    422: "a field's value breaks a rule (the answer names the field)",
    429: "rate limited: retry after `Retry-After` seconds",
}
UPLOADS = ("/leads", "/dnd/import")
# Routes that read their body as a stream (so Litestar sees no body parameter) and the types they take.
RAW_BODIES = {
    ("/v1/campaigns/{campaign_id}/leads", "post"): ("text/csv", "application/x-ndjson"),
    ("/v1/dnd/import", "post"): ("text/csv",),
}


def statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses one /v1 operation can answer."""
    codes = {400, 422}
    if (path, method) == ("/v1/accounts", "post"):
        codes |= {409, 429}  # the e-mail is taken; sign-ups per address
    else:
        codes |= {401, 403, 429}  # every keyed route: the key, the guard, the failed-authentication limit
    if "{" in path:
        codes.add(404)
    if method in ("post", "patch", "delete"):
        codes |= {409, 413}
    if method == "post" and path.endswith(UPLOADS):
        codes.add(415)
    return sorted(codes)


def document_problems(openapi: dict[str, Any]) -> None:
    """Rewrite the error responses of every /v1 operation of the OpenAPI document (in place, idempotent)."""
    openapi.setdefault("components", {}).setdefault("schemas", {})[PROBLEM_SCHEMA] = PROBLEM
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}}}
    for path, item in openapi.get("paths", {}).items():
        if not path.startswith("/v1"):
            continue
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = {
                code: r for code, r in operation.get("responses", {}).items() if not code.startswith(("4", "5"))
            }
            for code in statuses(path, method, operation):
                responses[str(code)] = {"description": DESCRIPTIONS[code], "content": content}
            operation["responses"] = responses
            if (types := RAW_BODIES.get((path, method))) is not None:
                raw = {"schema": {"type": "string", "format": "binary"}}
                operation["requestBody"] = {"required": True, "content": {t: raw for t in types}}


class ProblemDocumentedJson(JsonRenderPlugin):
    """``/schema/openapi.json`` with the error responses the API really sends."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        document_problems(openapi_schema)  # Litestar keeps the dict: rewritten once, served as is after
        return super().render(request, openapi_schema)
