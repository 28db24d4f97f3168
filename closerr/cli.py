"""The ``closerr`` command. Each area registers its commands from a module in ``closerr/commands/``."""

from __future__ import annotations

import importlib
import os
import pkgutil

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

app = typer.Typer(
    name="closerr",
    help="Closerr: outbound lead-qualification calls with a local real-time voice agent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    from closerr import commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"closerr.commands.{mod.name}")
        module.register(app)


_register_commands()


def main() -> None:
    from config.settings import get_settings
    from control_api.privacy.log_redaction import install_log_redaction
    from engine.logs import configure_logging

    configure_logging(get_settings().log_level)
    install_log_redaction()  # every command's logs, the worker's too: no phone number in any record
    app()


if __name__ == "__main__":
    main()
