"""``closerr config``: every setting, its environment variable, default and meaning (secrets masked)."""

from __future__ import annotations

import typer


def settings_rows() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, in declaration order."""
    from config.settings import Settings

    rows = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if default is None:
            shown = "(unset)"
        elif "SecretStr" in repr(field.annotation):
            shown = "(secret)"
        else:
            shown = str(default)
        rows.append((f"CLOSERR_{name.upper()}", shown, field.description or ""))
    return rows


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config(markdown: bool = typer.Option(False, "--markdown", help="Print a Markdown table.")) -> None:
        """List every setting with its environment variable and default."""
        rows = settings_rows()
        if markdown:
            typer.echo("| variable | default | meaning |\n|---|---|---|")
            for var, default, desc in rows:
                typer.echo(f"| `{var}` | `{default}` | {desc} |")
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("variable", "default", "meaning")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
