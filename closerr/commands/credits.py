"""``closerr credits add ACCOUNT_ID AMOUNT`` (operators; payment integration is out of scope) and
``closerr credits show ACCOUNT_ID``."""

from __future__ import annotations

import asyncio

import typer


async def _add(account_id: str, amount: int, note: str | None) -> int:
    from closerr.database import command_database
    from control_api.credits import ledger
    from control_api.dispatch.runtime import migrate
    from control_api.storage.db import session_scope

    db = command_database()
    try:
        await migrate(db)
        async with session_scope(db) as s:
            return await ledger.top_up(s, account_id, amount, note=note or "operator top-up")
    finally:
        await db.dispose()


async def _show(account_id: str) -> tuple[int, int]:
    from closerr.database import command_database
    from control_api.credits import ledger

    db = command_database()
    try:
        async with db.sessions() as s:
            return await ledger.balance(s, account_id), await ledger.held(s, account_id)
    finally:
        await db.dispose()


def register(app: typer.Typer) -> None:
    credits_app = typer.Typer(help="Credit balances (the ledger is append-only).", no_args_is_help=True)
    app.add_typer(credits_app, name="credits")

    @credits_app.command("add")
    def add(
        account_id: str = typer.Argument(..., help="the account's id"),
        amount: int = typer.Argument(..., help="credits to add (a positive whole number)"),
        note: str | None = typer.Option(None, help="why (kept in the ledger)"),
    ) -> None:
        """Top up an account's credits."""
        from control_api.credits.ledger import UnknownAccount

        if amount <= 0:
            typer.echo("error: AMOUNT must be a positive whole number of credits", err=True)
            raise typer.Exit(2)
        try:
            balance = asyncio.run(_add(account_id, amount, note))
        except UnknownAccount:
            typer.echo(f"error: ACCOUNT_ID {account_id!r}: no such account", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"added {amount} credits; balance {balance}")

    @credits_app.command("show")
    def show(account_id: str = typer.Argument(..., help="the account's id")) -> None:
        """Print an account's balance and the credits held for calls in progress."""
        balance, held = asyncio.run(_show(account_id))
        typer.echo(f"balance {balance} (held for calls in progress: {held})")
