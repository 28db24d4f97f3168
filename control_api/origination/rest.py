"""What the REST carriers share: one httpx client with timeouts, so a carrier that stops answering costs one
dial its timeout and nothing else, and HTTP failures mapped to dispositions."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from control_api.origination.base import CarrierError

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def client(base_url: str, auth: tuple[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, auth=auth, timeout=TIMEOUT)


def require(value: str | None, env: str) -> str:
    if not value:
        raise CarrierError(f"{env} is not set", disposition="error")
    return value


async def send(http: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> httpx.Response:
    try:
        response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        # Nothing reached the carrier: sending again cannot place the call twice.
        raise CarrierError(f"carrier unreachable: {type(exc).__name__}", fault="unreachable", retry_safe=True) from exc
    except httpx.TimeoutException as exc:
        # The carrier may have placed the call before it stopped answering: not sent again at once.
        raise CarrierError(f"carrier unreachable: {type(exc).__name__}", fault="timeout") from exc
    except httpx.HTTPError as exc:
        raise CarrierError(f"carrier unreachable: {type(exc).__name__}", fault="unreachable") from exc
    status = response.status_code
    if status == 429 or status >= 500:
        # 429 and 503 are refusals before any work; a 500, 502 or 504 may hide a call that was placed.
        raise CarrierError(
            f"carrier answered HTTP {status}",
            fault="http_429" if status == 429 else "http_5xx",
            retry_safe=status in (429, 503),
            retry_after=retry_after_s(response.headers.get("Retry-After")),
        )
    if status >= 400:
        # Our request or account is wrong: not worth a retry of the same lead, and no sign of an outage.
        raise CarrierError(f"carrier answered HTTP {status}", disposition="error")
    return response


def retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
