"""``closerr serve``: the control API (and, when present, the engine's carrier media routes) under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from litestar import Litestar

from closerr.audit_key import DEV_HELP, require_audit_key


async def _stop_worker(app: Litestar) -> None:
    """The drain: the in-process worker stops leasing and lets its calls finish (``--no-worker``: nothing to do)."""
    worker = getattr(app.state, "worker", None)
    if worker is not None:
        await worker.stop()


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="interface to listen on"),
        port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
        data_dir: Path = typer.Option(Path("data"), "--data-dir", help="where the SQLite database lives"),
        log_level: str = typer.Option("info", help="uvicorn log level"),
        ssl_certfile: Path | None = typer.Option(
            None, "--ssl-certfile", help="PEM certificate: terminate TLS here (env CLOSERR_TLS_CERT)"
        ),
        ssl_keyfile: Path | None = typer.Option(
            None, "--ssl-keyfile", help="PEM private key of the certificate (env CLOSERR_TLS_KEY)"
        ),
        sip_port: int | None = typer.Option(
            None, "--sip-port", min=0, max=65535, help="SIP listener (UDP and TCP) on this port; 0 disables"
        ),
        worker: bool = typer.Option(
            True, "--worker/--no-worker", help="run a dispatcher worker in this process (embedded default)"
        ),
        dev: bool = typer.Option(False, "--dev", help=DEV_HELP),
    ) -> None:
        """Serve the control API; CLOSERR_DATABASE_URL selects PostgreSQL instead of SQLite."""
        from closerr import draining
        from closerr.build import build_engine
        from config.settings import Settings
        from control_api.app import create_app
        from engine.facade import UVICORN_WS_OPTIONS

        if data_dir.exists() and not data_dir.is_dir():
            typer.echo(f"error: --data-dir {data_dir} is not a directory", err=True)
            raise typer.Exit(2)
        data_dir.mkdir(parents=True, exist_ok=True)
        overrides: dict[str, object] = {"data_dir": data_dir, "host": host, "port": port}
        if sip_port is not None:
            overrides["sip_port"] = sip_port
        settings = Settings(**overrides)  # type: ignore[arg-type]
        require_audit_key(settings, dev=dev)
        if settings.warm_phone_cache:
            import threading

            from control_api.phones import warm_cache

            threading.Thread(target=warm_cache, name="phone-prefix-cache", daemon=True).start()
        certfile, keyfile = ssl_certfile or settings.tls_cert, ssl_keyfile or settings.tls_key
        if (certfile is None) != (keyfile is None):
            typer.echo("error: TLS needs both --ssl-certfile and --ssl-keyfile", err=True)
            raise typer.Exit(2)
        for flag, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
            if path is not None and not path.is_file():
                typer.echo(f"error: {flag} {path} is not a readable file", err=True)
                raise typer.Exit(2)
        if certfile is not None:
            # The app learns it is behind TLS: Secure console cookies.
            settings = settings.model_copy(update={"tls_cert": certfile, "tls_key": keyfile})
        # The API plus an in-process worker (dispatcher + engine media) sharing one database engine. The media
        # endpoint serves only the calls this process's dispatcher announced.
        from control_api.dispatch.runtime import attach_worker
        from control_api.storage.db import create_database

        engine = build_engine(settings)
        db = create_database(settings.effective_database_url, echo=settings.sql_echo) if worker else None
        app = create_app(settings, engine, database=db)
        if db is not None:
            attach_worker(app, settings, engine, db, host, port)
        draining.run(
            app,
            drain=lambda: _stop_worker(app),
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
            host=host,
            port=port,
            log_level=log_level,
            proxy_headers=False,  # the registration IP is the peer's, not a header anyone can set
            **UVICORN_WS_OPTIONS,
        )
