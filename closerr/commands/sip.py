"""``closerr sip serve``: a standalone SIP endpoint answering calls with the demo script;
``closerr sip call NUMBER``: one outbound call through the configured SIP trunk (CLOSERR_SIP_TRUNK_*)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Any

import typer


async def _serve(host: str, port: int, advertise: str | None) -> None:
    from closerr.build import build_engine
    from config.settings import get_settings

    settings = get_settings()
    engine = build_engine(settings)
    rtp_range = (settings.sip_rtp_port_min, settings.sip_rtp_port_max) if settings.sip_rtp_port_min else None
    server = await engine.start_sip_listener(host, port, advertise_host=advertise, rtp_port_range=rtp_range)
    await engine.ready()  # load the models before the first caller waits for them
    allowed = ", ".join(engine.config.sip_allowed_networks) or "no network (set CLOSERR_SIP_ALLOWED_NETWORKS)"
    if engine.config.sip_inbound_username:
        allowed += " and from callers with the CLOSERR_SIP_INBOUND_* credentials"
    typer.echo(f"SIP endpoint on {host}:{server.port} (udp, tcp); INVITEs answered from {allowed}; Ctrl-C to stop")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


async def _call(number: str, ring_timeout_s: float | None) -> dict[str, Any]:
    from closerr.build import build_engine
    from config.settings import get_settings
    from control_api.origination.sip import trunk_config

    settings = get_settings()
    result = await build_engine(settings).dial_sip(trunk_config(settings), number, ring_timeout_s=ring_timeout_s)
    record = result.value
    return {
        "disposition": result.disposition,
        "status": result.status,
        "reason": result.reason,
        "early_media": result.early_media,
        "record": record.to_dict() if record is not None else None,
    }


def register(app: typer.Typer) -> None:
    sip_app = typer.Typer(help="The SIP trunk endpoint (SIP signalling + RTP media).", no_args_is_help=True)

    @sip_app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (SIP and RTP)"),
        sip_port: int = typer.Option(5080, "--sip-port", min=1, max=65535, help="SIP port, UDP and TCP"),
        advertise: str | None = typer.Option(
            None, "--advertise", help="address to put in Via/Contact/SDP when listening on 0.0.0.0"
        ),
    ) -> None:
        """Answer SIP calls with the demo script (the whole engine, models loaded once)."""
        if host in ("0.0.0.0", "::") and not advertise:
            typer.echo("error: --advertise ADDRESS is required when --host is a wildcard address", err=True)
            raise typer.Exit(2)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from pydantic import ValidationError

        try:
            asyncio.run(_serve(host, sip_port, advertise))
        except ValidationError as exc:
            for error in exc.errors():
                loc = "_".join(str(part) for part in error["loc"]).upper()
                typer.echo(f"error: {'CLOSERR_' + loc if loc else 'settings'}: {error['msg']}", err=True)
            raise typer.Exit(2) from exc
        except ValueError as exc:
            typer.echo(f"error: CLOSERR_SIP_RTP_PORT_MIN/MAX: {exc}", err=True)
            raise typer.Exit(2) from exc
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{sip_port}: {exc.strerror}", err=True)
            raise typer.Exit(1) from exc

    @sip_app.command("call")
    def call(
        number: str = typer.Argument(..., help="number to dial through the trunk, e.g. +919876543210"),
        ring_timeout: float | None = typer.Option(None, "--ring-timeout", min=1.0, help="seconds to let it ring"),
    ) -> None:
        """Place one call through the trunk in CLOSERR_SIP_TRUNK_HOST/PORT/USERNAME/PASSWORD; print the result."""
        from control_api.origination.base import CarrierError

        try:
            result = asyncio.run(_call(number, ring_timeout))
        except (ValueError, CarrierError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(result, indent=2, default=str))

    app.add_typer(sip_app, name="sip")
