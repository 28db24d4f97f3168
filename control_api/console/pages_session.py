"""Sign in, sign out, and the console's front door."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from control_api.console.auth import principal_of, sign_in, sign_out
from control_api.console.context import page
from control_api.deps import Session
from control_api.limits.hooks import count_failed_auth
from control_api.limits.limiter import RateLimited


@get("/")
async def home() -> Redirect:
    return Redirect(path="/console/campaigns", status_code=303)


@get("/login")
async def login_form(request: Request[Any, Any, Any]) -> Template | Redirect:
    if await principal_of(request) is not None:
        return Redirect(path="/console/campaigns", status_code=303)
    return page(request, "login.html", principal=None, section="login", errors={})


@post("/login")
async def login(request: Request[Any, Any, Any], session: Session) -> Template | Redirect:
    form = await request.form()
    api_key = str(form.get("api_key") or "")
    if not api_key.strip():
        errors = {"api_key": "Paste an API key (it starts with clr_)."}
    elif await sign_in(session, request, api_key) is None:
        # A wrong key here is a failed authentication like one on the API: counted per address, and past the
        # limit the form answers 429 until the window ends (key guessing through the console is no cheaper).
        try:
            await count_failed_auth(request)
        except RateLimited as exc:
            refused = page(
                request,
                "login.html",
                principal=None,
                section="login",
                errors={"api_key": f"Too many invalid keys from your address; try again in {exc.retry_after} s."},
                status_code=429,
            )
            refused.headers["Retry-After"] = str(exc.retry_after)
            return refused
        errors = {"api_key": "This key is unknown, revoked or mistyped."}
    else:
        return Redirect(path="/console/campaigns", status_code=303)
    return page(request, "login.html", principal=None, section="login", errors=errors, status_code=401)


@post("/logout")
async def logout(request: Request[Any, Any, Any], session: Session) -> Redirect:
    await sign_out(session, request)
    return Redirect(path="/console/login", status_code=303)


def route_handlers() -> list[ControllerRouterHandler]:
    return [home, login_form, login, logout]
