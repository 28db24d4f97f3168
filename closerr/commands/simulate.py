"""``closerr simulate PERSONA.yaml``: a simulated lead calls the engine through the real WebSocket path."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_command(
        persona_file: Path = typer.Argument(..., help="Persona YAML (see README: The call simulator)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
        url: str | None = typer.Option(
            None, "--url", help="Engine base URL (http://HOST:PORT); default: start an engine for this call."
        ),
    ) -> None:
        """Place one simulated call against the engine and report outcome, transcript and latency."""
        from closerr.engine_server import start_engine_server
        from engine.simulator.persona import PersonaError, load_persona
        from engine.simulator.run import simulate

        console = Console(stderr=True)
        try:
            persona = load_persona(persona_file)
        except PersonaError as exc:
            typer.echo(f"invalid persona\n{exc}", err=True)
            raise typer.Exit(2) from exc
        process = None
        try:
            if url is None:
                with console.status("starting the engine (loading models)"):
                    process, url = start_engine_server()
            with console.status("calling"):
                result = asyncio.run(simulate(persona, url.rstrip("/")))
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
        if as_json:
            typer.echo(json.dumps(result))
        else:
            _print_report(Console(), result)
        if result.get("error") and result.get("outcome") == "error":
            raise typer.Exit(1)


def _print_report(console: Console, result: dict) -> None:  # type: ignore[type-arg]
    table = Table("t", "who", "text", title=f"outcome: {result['outcome']} (ended by {result['ended_by']})")
    for turn in result["transcript"]:
        text = turn["text"] + (" [interrupted]" if turn["interrupted"] else "")
        table.add_row(f"{turn['start_s']:.1f}", turn["role"], text)
    console.print(table)
    console.print(f"slots: {result['slots']}")
    latency = result["latency"]
    if latency["v2v_p50_s"] is not None:
        console.print(
            f"voice-to-voice (caller side): p50 {latency['v2v_p50_s']:.3f} s, p95 {latency['v2v_p95_s']:.3f} s"
        )
