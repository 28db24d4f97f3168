"""Browser security headers on every HTTP response the control API sends (Litestar ``before_send`` hook, so
404s for unknown paths and error pages carry them too).

The console gets a policy that allows only its own origin: its one script and stylesheet are static files, its
fetches go to the same origin, and its browser test call's media flows over WebRTC, which CSP does not govern.
``style-src-attr 'unsafe-inline'`` lets the templates size progress bars and colour legend keys with a ``style``
attribute (no script can run from one). API responses are data: nothing in them may load or be framed. HSTS is
sent only over TLS, where the browser honours it and the server really is reachable by HTTPS.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The OpenAPI viewer at /schema loads its renderer from a CDN with inline bootstrapping: only framing is refused.
SCHEMA_CSP = "frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def policy_for(path: str) -> str:
    if path == "/console" or path.startswith("/console/"):
        return CONSOLE_CSP
    if path == "/schema" or path.startswith("/schema/"):
        return SCHEMA_CSP
    return API_CSP


async def add_security_headers(message: Any, scope: Any) -> None:
    if message.get("type") != "http.response.start" or scope.get("type") != "http":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in COMMON.items():
        headers[name] = value
    headers["Content-Security-Policy"] = policy_for(str(scope.get("path", "")))
    if scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = HSTS
