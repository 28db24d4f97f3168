"""``python -m closerr.engine_server``: the engine alone, without the control API: carrier
media streams, the records of recent calls, ``/health`` and ``/metrics``. ``closerr simulate``, the benchmarks and
the end-to-end tests call it.

It accepts ad-hoc media streams (a simulated lead or a softphone naming no dispatched call), so it must listen
only where no stranger can reach it: loopback by default.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import uvicorn
from loguru import logger

from closerr.build import build_engine
from config.settings import get_settings
from engine.facade import UVICORN_WS_OPTIONS
from engine.logs import configure_logging
from engine.server import create_engine_app
from engine.simulator.run import free_port, wait_healthy


def serve(host: str, port: int) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    engine = build_engine(settings, accept_adhoc_streams=True)
    logger.info("engine alone on {}:{}: accepting ad-hoc media streams (no dispatcher, no control API)", host, port)
    uvicorn.run(create_engine_app(engine), host=host, port=port, log_level="warning", **UVICORN_WS_OPTIONS)


def start_engine_server(port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """This server in a child process on loopback, healthy, so a simulated caller never shares its event loop."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "closerr.engine_server", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process=process)
    return process, base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Closerr engine alone (media streams, health, metrics).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
