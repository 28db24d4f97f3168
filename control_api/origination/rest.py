"""What the REST carriers share: one httpx client with timeouts, so a carrier that stops answering costs one
dial its timeout and nothing else, and HTTP failures mapped to dispositions."""

from __future__ import annotations

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
    except httpx.HTTPError as exc:
        raise CarrierError(f"carrier unreachable: {type(exc).__name__}", disposition="failed") from exc
    if response.status_code >= 400:
        # 4xx: our request or account is wrong (not worth a retry of the same lead); 5xx: the carrier's fault.
        disposition = "error" if 400 <= response.status_code < 500 else "failed"
        raise CarrierError(f"carrier answered HTTP {response.status_code}", disposition=disposition)
    return response
