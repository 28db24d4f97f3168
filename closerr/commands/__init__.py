"""One module per area; each defines ``register(app: typer.Typer) -> None``."""
