"""``closerr operator create --name NAME --email EMAIL``: an operator (the platform's own staff) account and its
first API key, printed once to stdout. The API's sign-up never makes operators; this command is the only way."""

from __future__ import annotations

import asyncio

import typer


async def _create(name: str, email: str) -> tuple[str, str]:
    from closerr.database import command_database
    from control_api.dispatch.runtime import migrate
    from control_api.operator.service import create_operator
    from control_api.storage.db import session_scope

    db = command_database()
    try:
        await migrate(db)
        async with session_scope(db) as s:
            created = await create_operator(s, name, email)
        return created.account_id, created.api_key
    finally:
        await db.dispose()


def register(app: typer.Typer) -> None:
    operator_app = typer.Typer(help="Operator (platform staff) accounts.", no_args_is_help=True)
    app.add_typer(operator_app, name="operator")

    @operator_app.command("create")
    def create(
        name: str = typer.Option(..., "--name", help="who this operator is (shown in account views)"),
        email: str = typer.Option(..., "--email", help="the operator's e-mail address (unique among accounts)"),
    ) -> None:
        """Create an operator account; prints its id and its API key (shown this once only)."""
        from control_api.errors import ApiError

        try:
            account_id, api_key = asyncio.run(_create(name, email))
        except ApiError as exc:
            typer.echo(f"error: --{exc.field or 'name'}: {exc.detail}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"operator account {account_id}", err=True)
        typer.echo(api_key)
