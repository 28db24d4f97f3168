"""Wiring of the console into the control API's Litestar app (template engine, static files, router)."""

from __future__ import annotations

import secrets
from pathlib import Path

from litestar.config.app import AppConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.plugins import InitPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp

from config.settings import Settings
from control_api.console import browser_call, pages_calls, pages_campaigns, pages_rights, pages_session
from control_api.console.auth import SignInRequired, provide_console_principal
from control_api.console.errors import console_error, forbidden, not_found, to_sign_in
from control_api.console.formatting import register_filters
from control_api.console.live import LiveCalls
from control_api.errors import ApiError
from engine.facade import Engine

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
CSRF_COOKIE = "closerr_csrf"
CSRF_HEADER = "x-csrftoken"


def _secret(settings: Settings) -> bytes:
    configured = settings.console_session_secret
    if configured is not None and configured.get_secret_value():
        raw = configured.get_secret_value().encode()
        # The cookie backend wants exactly 16/24/32 key bytes: derive 32 from whatever length was configured.
        import hashlib

        return hashlib.sha256(raw).digest()
    return secrets.token_bytes(32)


class ConsoleSessionMiddleware(SessionMiddleware[ClientSideSessionBackend]):
    """Session middleware built from its config: Litestar deep-copies routers, and a ready backend holds an AES
    key object that cannot be copied."""

    def __init__(self, app: ASGIApp, config: CookieBackendConfig) -> None:
        super().__init__(app, backend=ClientSideSessionBackend(config=config))


def secure_cookies(settings: Settings) -> bool:
    # Served over TLS, a cookie without Secure would also be sent over plain HTTP to the same host.
    return settings.console_secure_cookies or settings.tls_cert is not None


def console_router(settings: Settings, engine: Engine | None) -> Router:
    key = _secret(settings)
    secure = secure_cookies(settings)
    live_calls = LiveCalls(engine)
    session_config = CookieBackendConfig(
        secret=key,
        key="closerr_console",
        path="/console",
        httponly=True,
        secure=secure,
        samesite="strict",
        max_age=12 * 3600,
    )
    csrf_config = CSRFConfig(
        secret=key.hex(),
        cookie_name=CSRF_COOKIE,
        cookie_path="/console",
        header_name=CSRF_HEADER,
        cookie_secure=secure,
        cookie_samesite="strict",
    )
    return Router(
        path="/console",
        route_handlers=[
            *pages_session.route_handlers(),
            *pages_campaigns.route_handlers(),
            *pages_calls.route_handlers(),
            *pages_rights.route_handlers(),
            *(browser_call.route_handlers() if engine is not None else []),
        ],
        middleware=[
            DefineMiddleware(ConsoleSessionMiddleware, config=session_config),
            DefineMiddleware(CSRFMiddleware, config=csrf_config),
        ],
        dependencies={
            "principal": Provide(provide_console_principal, sync_to_thread=False),
            "live_calls": Provide(lambda: live_calls, sync_to_thread=False, use_cache=True),
            "engine": Provide(lambda: engine, sync_to_thread=False, use_cache=True),
        },
        exception_handlers={
            SignInRequired: to_sign_in,
            PermissionDeniedException: forbidden,
            NotFoundException: not_found,
            ApiError: console_error,
        },
        include_in_schema=False,
    )


class ConsolePlugin(InitPlugin):
    """``Litestar(plugins=[ConsolePlugin(settings, engine)])``: serves the console at /console; browser test calls
    need the engine."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.template_config = TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=register_filters
        )
        app_config.route_handlers.append(console_router(self.settings, self.engine))
        app_config.route_handlers.append(
            create_static_files_router(path="/console/static", directories=[STATIC], include_in_schema=False)
        )
        return app_config
