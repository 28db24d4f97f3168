"""The Litestar application: ``create_app(settings, engine) -> Litestar``.

The command layer builds both arguments. On startup the app opens the database (SQLite under the data directory
unless ``database_url`` says otherwise) and runs every Alembic branch up to its head, so a fresh data directory is
usable at once. With an ``Engine`` the app also carries its media streams, the SIP listener and the console's
browser test calls; without one it is the API alone.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from config.settings import Settings
from control_api.accounts.auth import ApiKeyAuthMiddleware, provide_principal
from control_api.accounts.policy import authorize
from control_api.accounts.routes import AccountController, ApiKeyController, register_account
from control_api.audit import AuditRequestMiddleware, pseudonym
from control_api.calls.live_feed import live_feed_lifespan
from control_api.calls.routes import CallController
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.routes import CampaignController
from control_api.campaigns.rules import CampaignRules
from control_api.console import ConsolePlugin
from control_api.credits import routes as credits_routes
from control_api.deps import provide_db, provide_session
from control_api.dispatch import routes as dispatch_routes
from control_api.dnd.routes import ConsentController, DndController
from control_api.errors import exception_handlers
from control_api.health import health
from control_api.json_bodies import BoundedRequest
from control_api.leads.routes import LeadController
from control_api.limits.hooks import rate_limit_guard
from control_api.openapi import ProblemDocumentedJson
from control_api.operator import routes as operator_routes
from control_api.privacy import routes as privacy_routes
from control_api.privacy.lifespan import privacy_lifespan
from control_api.results import routes as results_routes
from control_api.security_headers import add_security_headers
from control_api.sip_inbound import sip_lifespan
from control_api.storage.db import Database, create_database
from engine.facade import Engine
from metrics.litestar import loop_lag_lifespan, metrics_endpoint

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"


def v1_router(extra: Sequence[ControllerRouterHandler] = ()) -> Router:
    handlers: list[ControllerRouterHandler] = [
        AccountController,
        ApiKeyController,
        CampaignController,
        LeadController,
        CallController,
        DndController,
        ConsentController,
    ]
    handlers += [*privacy_routes.route_handlers(), *dispatch_routes.route_handlers(), *credits_routes.route_handlers()]
    handlers += results_routes.route_handlers()
    handlers += operator_routes.route_handlers()
    handlers.extend(extra)
    return Router(
        path="/v1",
        route_handlers=handlers,
        middleware=[DefineMiddleware(ApiKeyAuthMiddleware)],
        guards=[authorize],  # roles, key scopes and suspension: judged here only, from each route's ``opt``
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
        security=[{"bearer": []}],
    )


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    database: Database | None = None,
    extra_v1_handlers: Sequence[ControllerRouterHandler] = (),
) -> Litestar:
    """The API. ``database`` lets tests share one database engine; otherwise one is built from ``settings``."""
    cfg = settings
    campaign_rules = CampaignRules(
        hours=CallingHours(settings.calling_hours_start, settings.calling_hours_end),
        webhook_allowed_networks=settings.webhook_allowed_networks,
        speech_check=engine.speech_problem if engine is not None else None,
    )
    llm_profiles = tuple(settings.llm_profiles)  # the names an operator may assign to an account
    pseudonym.use_key(settings.audit_hmac_key.get_secret_value())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = database or create_database(cfg.effective_database_url, echo=cfg.sql_echo)
        await db.migrate()
        app.state.db = db
        app.state.settings = cfg
        app.state.engine = engine
        log.info("control API ready on %s", db.dialect)
        try:
            yield
        finally:
            if database is None:
                await db.dispose()

    # Registration is the one /v1 route without a key: its own router, outside the auth middleware.
    public_v1 = Router(path="/v1", route_handlers=[register_account])
    handlers: list[ControllerRouterHandler] = [health, public_v1, v1_router(extra_v1_handlers)]
    handlers.append(metrics_endpoint)  # GET /metrics for Prometheus, outside the API-key router
    if engine is not None:
        handlers.extend(engine.route_handlers())

    return Litestar(
        route_handlers=handlers,
        # privacy: the retention scheduler; SIP: the listener when sip_port is set (and there is an engine)
        # live feed: wakes the console's Live page when a worker publishes call progress (PostgreSQL)
        lifespan=[lifespan, privacy_lifespan, loop_lag_lifespan, sip_lifespan(cfg, engine), live_feed_lifespan],
        middleware=[AuditRequestMiddleware],  # request id + client IP for audit entries
        before_send=[add_security_headers],  # CSP, framing, nosniff, referrer; HSTS over TLS
        dependencies={
            "session": Provide(provide_session),
            "db": Provide(provide_db, sync_to_thread=False),
            "campaign_rules": Provide(lambda: campaign_rules, sync_to_thread=False),
            "llm_profiles": Provide(lambda: llm_profiles, sync_to_thread=False),
        },
        exception_handlers=exception_handlers,
        guards=[rate_limit_guard],  # acts only on the routes whose opt names a rate limit
        plugins=[ConsolePlugin(cfg, engine)],  # the web console at /console
        request_max_body_size=settings.api_max_body_bytes,
        request_class=BoundedRequest,  # JSON bodies nested too deeply: a 400, not a RecursionError
        openapi_config=OpenAPIConfig(
            title="Closerr control API",
            version=API_VERSION,
            path="/schema",
            # /schema/openapi.json with the problem-details errors the API sends; /schema itself: Swagger UI.
            render_plugins=[ProblemDocumentedJson(), SwaggerRenderPlugin(path="/")],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", description="an API key: clr_...")
                }
            ),
        ),
        debug=False,
    )
