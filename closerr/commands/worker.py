"""``closerr worker``: one engine worker process (dispatcher + engine media endpoint) on the shared database."""

from __future__ import annotations

import typer

from closerr.audit_key import DEV_HELP, require_audit_key


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        host: str = typer.Option("127.0.0.1", help="interface the carrier media endpoint listens on"),
        port: int = typer.Option(0, min=0, max=65535, help="TCP port; 0: CLOSERR_WORKER_PORT (default 8100)"),
        worker_id: str | None = typer.Option(None, "--id", help="lease owner name; default hostname-pid"),
        max_calls: int | None = typer.Option(None, "--max-calls", min=1, help="calls at once"),
        log_level: str = typer.Option("warning", help="uvicorn log level"),
        dev: bool = typer.Option(False, "--dev", help=DEV_HELP),
    ) -> None:
        """Take calls from the shared database (CLOSERR_DATABASE_URL; PostgreSQL for several workers) and run them."""
        from closerr import draining
        from closerr.build import build_engine
        from config.settings import get_settings
        from control_api.dispatch.runtime import create_worker_app
        from engine.facade import UVICORN_WS_OPTIONS

        base = get_settings()
        updates: dict[str, object] = {}
        if worker_id:
            updates["worker_id"] = worker_id
        if max_calls:
            updates["worker_max_calls"] = max_calls
        settings = base.model_copy(update=updates)
        require_audit_key(settings, dev=dev)
        bind_port = port or settings.worker_port
        if settings.database_url is None:
            typer.echo(
                "note: CLOSERR_DATABASE_URL is not set: this worker uses the local SQLite file; "
                "several workers need one shared PostgreSQL",
                err=True,
            )
        app = create_worker_app(settings, build_engine(settings), host, bind_port)
        draining.run(
            app,
            drain=lambda: app.state.worker.stop(),
            host=host,
            port=bind_port,
            log_level=log_level,
            **UVICORN_WS_OPTIONS,
        )
