"""``closerr purge --dry-run|--now`` (the retention purge, as the server's scheduler runs it) and
``closerr audit verify`` (recompute the audit log's keyed hash chain; exit 1 naming the first broken entry)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer


async def _purge(dry_run: bool) -> dict[str, Any]:
    from closerr.database import command_database
    from config.settings import get_settings
    from control_api.audit import AuditContext
    from control_api.privacy.purge import run_retention

    db = command_database()
    try:
        await db.migrate()
        report = await run_retention(
            db, get_settings(), dry_run=dry_run, ctx=AuditContext(actor="cli:purge", tenant_id=None)
        )
        return report.counts()
    finally:
        await db.dispose()


async def _verify() -> dict[str, Any]:
    from closerr.database import command_database
    from control_api.audit import verify

    db = command_database()
    try:
        await db.migrate()
        async with db.sessions() as session:
            return (await verify(session)).to_dict()
    finally:
        await db.dispose()


def register(app: typer.Typer) -> None:
    @app.command("purge")
    def purge(
        dry_run: bool = typer.Option(False, "--dry-run", help="count what is past its retention clock"),
        now: bool = typer.Option(False, "--now", help="purge it now (audited, counts only)"),
    ) -> None:
        """Apply the retention clocks: transcripts/audio after 90 days (or configured), metadata after a year."""
        if dry_run == now:
            typer.echo("error: give exactly one of --dry-run or --now", err=True)
            raise typer.Exit(2)
        typer.echo(json.dumps(asyncio.run(_purge(dry_run)), indent=2, sort_keys=True))

    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

    @audit_app.command("verify")
    def verify_cmd() -> None:
        """Recompute the keyed hash chain (CLOSERR_AUDIT_HMAC_KEY); exit 1 naming the first broken entry."""
        result = asyncio.run(_verify())
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        if not result["ok"]:
            typer.echo(f"audit log broken at entry {result['first_broken_seq']}: {result['reason']}", err=True)
            raise typer.Exit(1)

    app.add_typer(audit_app, name="audit")
