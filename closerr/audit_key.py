"""The start-up check of ``CLOSERR_AUDIT_HMAC_KEY`` shared by the long-running commands (serve, worker).

A server on the development key writes an audit chain anyone can re-hash and pseudonyms anyone can link back to
their numbers, so it refuses to start unless ``--dev`` says this is a development machine.
"""

from __future__ import annotations

import typer

from config.settings import Settings
from control_api.audit.keys import key_problem

DEV_HELP = "development machine: allow the built-in (or a short) CLOSERR_AUDIT_HMAC_KEY"


def require_audit_key(settings: Settings, *, dev: bool) -> None:
    """Exit 2 naming CLOSERR_AUDIT_HMAC_KEY when the key is the development one or too short, unless ``dev``."""
    problem = key_problem(settings.audit_hmac_key.get_secret_value())
    if problem is None or dev:
        return
    typer.echo(
        f"error: {problem}; set CLOSERR_AUDIT_HMAC_KEY to a secret of 32+ random characters "
        "(e.g. `openssl rand -hex 32`), or pass --dev on a development machine",
        err=True,
    )
    raise typer.Exit(2)
