"""``closerr models check``: where every bundled model is, how big, how long it takes to load."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="Inspect the bundled speech models.", no_args_is_help=True)

    @models_app.command("check")
    def check() -> None:
        """Locate and load every model once; fail naming the missing package."""
        from closerr.build import model_config
        from config.settings import get_settings
        from models import ModelMissingError, shared_registry

        console = Console()
        try:
            with console.status("loading models"):
                infos = shared_registry(model_config(get_settings())).describe(load=True)
        except ModelMissingError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        table = Table("model", "role", "package", "size", "load", "path")
        for info in infos:
            table.add_row(
                info.name,
                info.role,
                info.package,
                f"{info.size_bytes / 1e6:.1f} MB",
                f"{info.load_seconds:.2f} s" if info.load_seconds is not None else "-",
                str(info.path),
            )
        console.print(table)

    app.add_typer(models_app, name="models")
